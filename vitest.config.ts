import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/global-setup.ts'],
    testTimeout: 20_000,
    hookTimeout: 30_000,
    // isolated-vm on Node 20+ crashes at random without --no-node-snapshot (its README);
    // --expose-gc as in formatter processes, so the runtime measures tenants the same way.
    pool: 'forks',
    poolOptions: { forks: { execArgv: ['--no-node-snapshot', '--expose-gc'] } },
  },
});
