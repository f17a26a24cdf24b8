// Mutation testing (`npm run test:mutation`, scripts/test-mutation.mjs): Stryker changes the code one
// small edit (a mutant) at a time and runs the tests that cover it; a mutant no test notices is a rule
// no test pins down. Not part of `npm test` or .ci/run: a full run takes hours on two cores.
//
// One run per folder, or per part of one (MUTATION_RUN), each with the suites that test that code:
// a surviving mutant runs every test that covers it, and in these folders nearly every plugin suite
// covers nearly every line, so the whole suite per survivor would take days. The suites are chosen by
// what they test, not by what they happen to execute.
//
// sandbox/ is two runs: its process side (the pool that supervises formatter processes) is tested by
// starting processes, seconds per mutant, while the code those processes run is tested in-process.
// formatter-process.ts is in neither: it is only a child process's wiring (fd 3, stdin, the orphan
// guard), where no mutant is ever active; what it serves is formatter-service.ts.
const SANDBOX_PROCESS_SIDE = '{formatter-pool,supervised-process,process-usage,fair-queue,circuit-breaker}';
const RUNS = {
  formatters: {
    mutate: ['formatters/**/*.ts'],
    tests: ['test/sandbox/*.test.ts', 'test/plugin/codec-examples.test.ts', 'test/plugin/normalized-measurements.test.ts', 'test/plugin/formatter-test-tool.test.ts'],
  },
  sandbox: {
    mutate: ['sandbox/**/*.ts', `!sandbox/${SANDBOX_PROCESS_SIDE}.ts`, '!sandbox/formatter-process.ts'],
    tests: [
      'test/sandbox/{attacks,bridge,cayennelpp,codec-examples,none,normalize-uplink,runtime,thinger,tts,formatter-service}.test.ts',
      'test/sandbox/{pinned-codec-examples,pinned-formatters,pinned-rules,pinned-sandbox,pinned-sandbox-limits}.test.ts',
    ],
  },
  'sandbox-processes': {
    mutate: [`sandbox/${SANDBOX_PROCESS_SIDE}.ts`],
    tests: ['test/sandbox/{formatter-pool,pinned-pool,pinned-pool-parts}.test.ts', 'test/plugin/{formatter-isolation,formatter-types}.test.ts'],
  },
  'plugin/http': {
    mutate: ['plugin/http/**/*.ts'],
    tests: [
      'test/plugin/{admin-auth,api-errors,json-depth,pinned-bearer-token,refused-webhooks,secrets,tenant-boundary}.test.ts',
      'test/plugin/{event-stream-limit,thingpark-auth,webhook-auth,webhook-intake,webhook-setup,webhook-validation}.test.ts',
      'test/ui/{security-headers,static-ui}.test.ts',
    ],
  },
  'plugin/pipeline': {
    mutate: ['plugin/pipeline/**/*.ts'],
    tests: [
      'test/plugin/{uplink-flow,uplink-dedupe,uplink-device-state,provisioning,normalized-measurements,dead-letters}.test.ts',
      'test/plugin/{downlink-lifecycle,downlink-endpoint,downlink-header-cost,iotda-messages,messages-notifications}.test.ts',
      'test/plugin/{pinned-status-notifier,formatter-test-tool,formatter-workflow,codec-examples,refused-webhooks}.test.ts',
      'test/plugin/{thingpark-downlinks,thingpark-reports,instances-downlinks}.test.ts',
    ],
  },
  'plugin/networks': {
    mutate: ['plugin/networks/**/*.ts'],
    tests: [
      'test/plugin/{thingpark-auth,thingpark-downlinks,thingpark-hostile,thingpark-mqtt,thingpark-profile,thingpark-reports}.test.ts',
      'test/plugin/{thingpark-review,thingpark-tenants,tts-mqtt,webhook-message-types,webhook-setup,webhook-validation}.test.ts',
      'test/plugin/{downlink-url-policy,downlink-tts-answer-size,downlink-lifecycle,tenant-boundary}.test.ts',
    ],
  },
  'plugin/store': {
    mutate: ['plugin/store/**/*.ts'],
    tests: [
      'test/store/*.test.ts',
      'test/plugin/{recent-uplinks,pinned-recent-uplinks,group-commit,event-size,store-migration,release-db,restart}.test.ts',
      'test/plugin/{buckets,bucket-ownership,devices,events,dead-letters,instances,uplink-dedupe}.test.ts',
    ],
  },
};

const run = process.env.MUTATION_RUN ?? 'formatters';
if (!RUNS[run]) throw new Error(`MUTATION_RUN=${run}: one of ${Object.keys(RUNS).join(', ')}`);
const name = run.replace('/', '-');

/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  testRunner: 'vitest',
  plugins: ['@stryker-mutator/vitest-runner', './scripts/stryker-mutant-log.mjs'],
  vitest: { configFile: 'vitest.mutation.config.ts', related: false },
  mutate: RUNS[run].mutate,
  testFiles: RUNS[run].tests,
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
