import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 20_000,
    hookTimeout: 30_000,
    // isolated-vm on Node 20+ crashes at random without --no-node-snapshot (its README).
    pool: 'forks',
    poolOptions: { forks: { execArgv: ['--no-node-snapshot'] } },
  },
});
