import { defineConfig, mergeConfig } from 'vitest/config';
import base from './vitest.config.js';

/**
 * The vitest settings of a mutation run (stryker.config.mjs picks the suites per folder). Never
 * included: the browser end-to-end suites (they test the UI, not these folders,
 * and take a browser per run), the suites that start whole plugin processes (their code runs in
 * other processes, where no mutant is active) and the fuzzers (their random inputs would make a
 * mutant's verdict change from run to run).
 */
export default mergeConfig(
  base,
  defineConfig({
    test: {
      // One PostgreSQL server for the whole run (postgresForFile in test/helpers/postgres.ts).
      globalSetup: ['test/mutation-setup.ts'],
      include: ['test/**/*.test.ts'],
      exclude: [
        'test/ui/*.e2e.test.ts',
        'test/plugin/cluster.test.ts',
        'test/plugin/process.test.ts',
        'test/plugin/crash-recovery.test.ts',
        'test/plugin/fuzz-*.test.ts',
      ],
    },
  }),
);
