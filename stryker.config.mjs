// Mutation testing (`npm run test:mutation`, scripts/test-mutation.mjs): Stryker changes the code one
// small edit (a mutant) at a time and runs the tests that cover it; a mutant no test notices is a rule
// no test pins down. Not part of `npm test` or .ci/run: a full run takes hours on two cores.
//
// One run per folder (MUTATION_FOLDER), each with the suites that test that folder: a surviving
// mutant runs every test that covers it, and in these folders nearly every plugin suite covers
// nearly every line, so the whole suite per survivor would take days. The suites are chosen by
// what they test, not by what they happen to execute.
const MUTATION_TESTS = {
  formatters: ['test/sandbox/*.test.ts', 'test/plugin/codec-examples.test.ts', 'test/plugin/normalized-measurements.test.ts', 'test/plugin/formatter-test-tool.test.ts'],
  sandbox: ['test/sandbox/*.test.ts', 'test/plugin/formatter-isolation.test.ts', 'test/plugin/formatter-types.test.ts'],
  'plugin/http': [
    'test/plugin/{admin-auth,api-errors,json-depth,pinned-bearer-token,refused-webhooks,secrets,tenant-boundary}.test.ts',
    'test/plugin/{event-stream-limit,thingpark-auth,webhook-auth,webhook-intake,webhook-setup,webhook-validation}.test.ts',
    'test/ui/{security-headers,static-ui}.test.ts',
  ],
  'plugin/pipeline': [
    'test/plugin/{uplink-flow,uplink-dedupe,uplink-device-state,provisioning,normalized-measurements,dead-letters}.test.ts',
    'test/plugin/{downlink-lifecycle,downlink-endpoint,downlink-header-cost,iotda-messages,messages-notifications}.test.ts',
    'test/plugin/{pinned-status-notifier,formatter-test-tool,formatter-workflow,codec-examples,refused-webhooks}.test.ts',
    'test/plugin/{thingpark-downlinks,thingpark-reports,instances-downlinks}.test.ts',
  ],
  'plugin/networks': [
    'test/plugin/{thingpark-auth,thingpark-downlinks,thingpark-hostile,thingpark-mqtt,thingpark-profile,thingpark-reports}.test.ts',
    'test/plugin/{thingpark-review,thingpark-tenants,tts-mqtt,webhook-message-types,webhook-setup,webhook-validation}.test.ts',
    'test/plugin/{downlink-url-policy,downlink-tts-answer-size,downlink-lifecycle,tenant-boundary}.test.ts',
  ],
  'plugin/store': [
    'test/store/*.test.ts',
    'test/plugin/{recent-uplinks,pinned-recent-uplinks,group-commit,event-size,store-migration,release-db,restart}.test.ts',
    'test/plugin/{buckets,bucket-ownership,devices,events,dead-letters,instances,uplink-dedupe}.test.ts',
  ],
};

const folder = process.env.MUTATION_FOLDER ?? 'formatters';
const tests = MUTATION_TESTS[folder];
if (!tests) throw new Error(`MUTATION_FOLDER=${folder}: one of ${Object.keys(MUTATION_TESTS).join(', ')}`);
const name = folder.replace('/', '-');

/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  testRunner: 'vitest',
  plugins: ['@stryker-mutator/vitest-runner', './scripts/stryker-mutant-log.mjs'],
  vitest: { configFile: 'vitest.mutation.config.ts', related: false },
  // formatter-process.ts is only the child process's wiring (fd 3, stdin, the orphan guard): it never
  // runs where a mutant is active; what it serves is formatter-service.ts, tested in-process.
  mutate: [`${folder}/**/*.ts`, '!sandbox/formatter-process.ts'],
  testFiles: tests,
  // Only the tests that cover a mutant run for it.
  coverageAnalysis: 'perTest',
  // A static mutant (module-level code) needs every test of the folder in a fresh process: left out.
  ignoreStatic: true,
  // A rerun tests only the mutants whose code or covering tests changed since the recorded run.
  incremental: true,
  incrementalFile: `reports/mutation/${name}.incremental.json`,
  // The runner runs vitest in worker threads: isolated-vm needs this flag for the whole process.
  testRunnerNodeArgs: ['--no-node-snapshot', '--expose-gc'],
  concurrency: 2,
  dryRunTimeoutMinutes: 30,
  timeoutMS: 10_000,
  tempDirName: '.stryker-tmp',
  // Only the TypeScript sources: the prelude's .js files keep their own // @ts-check (a test checks it).
  disableTypeChecks: '{formatters,sandbox,plugin}/**/*.ts',
  // The incremental file is the full JSON report too (scripts/test-mutation.mjs reads the scores from it).
  reporters: ['progress-append-only', 'html', 'mutant-log'],
  htmlReporter: { fileName: `reports/mutation/${name}.html` },
  thresholds: { high: 90, low: 80, break: null },
};
