import {
  exampleDifferences,
  parseCodecExamples,
  type CodecExample,
  type CodecOutput,
  type CodecYamlProblem,
  type ExampleOutput,
} from '../../formatters/codec-examples.js';
import type { FormatterError, FormatterSpec, RunReport } from '../../formatters/contract.js';
import type { FormatterPool } from '../../sandbox/formatter-pool.js';
import { DomainError } from '../domain-error.js';
import type { Profiles } from '../profiles.js';
import type { CodecExampleResult, CodecExamplesAnswer, CodecExamplesRequest } from '../schemas/codec-examples.js';
import { MAX_JSON_DEPTH, nestsDeeperThan } from '../schemas/json-depth.js';
import { DEFAULT_PROFILE } from '../schemas/profile.js';

/**
 * Wall time for all of one request's examples: each call is bounded by its time limit, but 200
 * examples of a codec that hangs would hold the request for 200 times that. Examples not started
 * within it fail unrun.
 */
export const EXAMPLES_BUDGET_MS = 10_000;

type Deps = { formatters: FormatterPool; profiles: Profiles };

/**
 * A Device Repository codec run against the examples of its YAML, one after the other, in the
 * production sandbox in test mode (the scratch process; no suspension counts). Nothing is stored.
 * A script that does not compile fails every example with that error, unrun: a 200 answer, as the
 * formatter test tool answers a broken inline formatter.
 */
export async function runCodecExamples(deps: Deps, req: CodecExamplesRequest, budgetMs = EXAMPLES_BUDGET_MS): Promise<CodecExamplesAnswer> {
  const parsed = parseCodecExamples(req.yaml);
  if (!parsed.ok) throw invalidCodec(parsed.problem);
  for (const example of parsed.examples) {
    // The plugin's JSON depth limit: these go to the sandbox and through the comparison.
    if (nestsDeeperThan(example.input, MAX_JSON_DEPTH) || nestsDeeperThan(example.expected, MAX_JSON_DEPTH)) {
      const path = `${example.section}.examples[${example.index}]`;
      throw invalidCodec({ message: `${path} nests deeper than ${MAX_JSON_DEPTH} levels`, path });
    }
  }
  const appId = req.app_id ?? DEFAULT_PROFILE;
  const profile = await deps.profiles.resolve(appId);
  const spec: FormatterSpec = { type: 'javascript', script: req.script, timeoutMs: req.timeout_ms ?? profile.settings.formatter.timeout_ms };

  const broken = await deps.formatters.check(appId, spec);
  const started = performance.now();
  const examples: CodecExampleResult[] = [];
  for (const example of parsed.examples) {
    if (broken) examples.push(unrun(example, broken));
    else if (performance.now() - started > budgetMs) {
      examples.push(unrun(example, { kind: 'limit', message: `not run: the examples took more than ${budgetMs / 1000} s in all` }));
    } else examples.push(await runExample(deps.formatters, appId, spec, example));
  }
  const passed = examples.filter((e) => e.ok).length;
  return { ok: passed === examples.length, counts: { passed, failed: examples.length - passed }, examples };
}

function invalidCodec(problem: CodecYamlProblem): DomainError {
  const { message, ...where } = problem;
  return new DomainError('invalid', 'invalid_codec', message, where);
}

function unrun(example: CodecExample, error: FormatterError): CodecExampleResult {
  return { ...described(example), ok: false, actual: null, differences: [], error, logs: [], warnings: [] };
}

function described(example: CodecExample) {
  const { section, index, description, input, expected } = example;
  return { section, index, description, input, expected };
}

async function runExample(formatters: FormatterPool, appId: string, spec: FormatterSpec, example: CodecExample): Promise<CodecExampleResult> {
  const { report, actual, error } = await callFor(formatters, appId, spec, example);
  const differences = exampleDifferences(example.expected, actual);
  return {
    ...described(example),
    ok: differences.length === 0,
    actual,
    differences,
    ...(error ? { error } : {}),
    logs: report.logs,
    warnings: report.warnings,
  };
}

/** The example's routine run, its output in the Device Repository's terms and the error to show. */
async function callFor(
  formatters: FormatterPool,
  appId: string,
  spec: FormatterSpec,
  example: CodecExample,
): Promise<{ report: RunReport<unknown>; actual: ExampleOutput; error?: FormatterError }> {
  if (example.section === 'downlinkEncoder') {
    const { data, fPort } = example.input;
    const report = await formatters.runDownlink(appId, spec, { payload: data, ...(fPort !== undefined ? { fPort } : {}) }, 'test');
    const actual = outputOf(report, (o) => ({
      ...(o.frmPayload !== undefined ? { bytes: [...Buffer.from(o.frmPayload, 'base64')] } : {}),
      ...(o.fPort !== undefined ? { fPort: o.fPort } : {}),
    }));
    return { report, actual, error: report.error };
  }
  const bytes = Uint8Array.from(example.input.bytes);
  const { fPort } = example.input;
  if (example.section === 'downlinkDecoder') {
    const report = await formatters.runDecodeDownlink(appId, spec, { bytes, fPort }, 'test');
    return { report, actual: outputOf(report, (data) => ({ data })), error: report.error };
  }
  const { recvTime } = example.input;
  const call = { bytes, fPort, message: {}, ...(recvTime ? { receivedAt: new Date(recvTime).toISOString() } : {}) };
  const report = await formatters.runUplink(appId, spec, call, 'test');
  const actual: ExampleOutput = outputOf(report, (data) => ({ data }));
  // Judged only when the example has it, as TTS's runner runs normalizeUplink only then.
  if (!example.expected.normalizedOutput) return { report, actual, error: report.error };
  const normalized = report.normalized;
  if (normalized) actual.normalizedOutput = normalized.error ? failed(normalized.error, normalized.warnings) : { data: normalized.measurements, warnings: normalized.warnings };
  return { report, actual, error: report.error ?? normalized?.error };
}

/** A run's output in the Device Repository's terms. */
function outputOf<T>(report: RunReport<T>, payload: (output: T) => CodecOutput): CodecOutput {
  if (report.ok && report.output !== undefined) return { ...payload(report.output), warnings: report.warnings };
  return failed(report.error, report.warnings);
}

/**
 * A failure in the Device Repository's terms. A `contract` failure is the codec's `errors` (joined
 * by ", "), or an output the contract refuses, told the same way; any other failure (a throw, a
 * timeout) has neither output nor errors, and shows as the example's error.
 */
function failed(error: FormatterError | undefined, warnings: string[]): CodecOutput {
  return error?.kind === 'contract' ? { errors: [error.message], warnings } : { warnings };
}
