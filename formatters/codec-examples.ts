/**
 * The examples of a The Things Stack Device Repository codec (its `*-codec.yaml`, beside the
 * script): the YAML read safely, checked for shape and turned into cases, and an outcome judged
 * against an example the way the repository's runner does (bin/validate.js: lodash `isEqual` of
 * the routine's whole output), as far as a sandbox report shows that output.
 *
 * Judging, and where it cannot be the runner's:
 * - `data` (and normalized `data`), `bytes`: deep equality, members in any order, arrays in order,
 *   numbers exactly (23.1 is not 23.09999): the runner compares them exactly too.
 * - `errors`: non-empty means the call must fail with those errors. The sandbox hands the codec's
 *   errors over joined by ", " (as TTS reports them), so the expected errors joined the same way
 *   must equal that text: same errors, same order (["a, b"] and ["a", "b"] cannot be told apart).
 *   Data, bytes and fPort of an expected failure are not compared: a failed call keeps none.
 * - `warnings`: compared always, absent meaning none, as the runner compares the whole output. An
 *   empty list and no list are the same: the sandbox reports a list either way.
 * - `fPort`: compared when the example gives one; the sandbox answers the input's fPort when the
 *   codec returns none, so "none returned" cannot be checked.
 * - `normalizedOutput` (uplinkDecoder only): against the measurements the plugin would store,
 *   validated as TTS validates them (an invalid field is dropped with a warning), not against
 *   normalizeUplink's raw return.
 *
 * Shape: keys this module does not know are refused, at every level: a misspelt `ouput`, section
 * or `normalisedOutput` would otherwise leave an example unchecked and passing. `fileName` (the
 * script is given beside the YAML) and `hardwareVersions` (there is no device version here) are
 * accepted and ignored.
 */
import { isScalar, Lexer, LineCounter, parseDocument, visit, type Document } from 'yaml';
import type { JsonObject } from './contract.js';
import { jsonDifferences, type Difference } from './json-diff.js';
import { isJsonObject } from './outcome.js';

export const CODEC_SECTIONS = ['uplinkDecoder', 'downlinkEncoder', 'downlinkDecoder'] as const;
export type CodecSection = (typeof CODEC_SECTIONS)[number];

export const MAX_CODEC_YAML_CHARS = 64 * 1024;
export const MAX_CODEC_EXAMPLES = 200;
/** Alias expansions allowed in one YAML: a few anchors are handy, a billion laughs is not. */
const MAX_ALIAS_COUNT = 100;
/** Flow collections and same-line block indicators nested, at most (see nestingProblem). */
const MAX_NESTING = 64;
/** The (1-based) column a block indicator may stand at, at most: see nestingProblem. */
const MAX_BLOCK_COLUMN = 256;
/** The Device Repository schema's `frmPayload`: at most 256 bytes. */
const MAX_FRAME_BYTES = 256;

export interface DecodeInput {
  bytes: number[];
  fPort: number;
  /** uplinkDecoder only: the receive time the codec gets as `recvTime`. */
  recvTime?: string;
}

export interface EncodeInput {
  data: JsonObject;
  fPort?: number;
}

/** What a codec routine returns in the Device Repository's terms, expected or actual. */
export interface CodecOutput {
  /** Decoders: the decoded object; normalizeUplink: the measurements. */
  data?: JsonObject | JsonObject[];
  bytes?: number[];
  fPort?: number;
  warnings?: string[];
  errors?: string[];
}

/** An example's whole expectation: the routine's output and, for uplinks, what normalizeUplink gives. */
export interface ExampleOutput extends CodecOutput {
  normalizedOutput?: CodecOutput;
}

interface ExampleBase {
  /** Position in its section's `examples`. */
  index: number;
  description: string;
  expected: ExampleOutput;
}

export type CodecExample =
  | (ExampleBase & { section: 'uplinkDecoder' | 'downlinkDecoder'; input: DecodeInput })
  | (ExampleBase & { section: 'downlinkEncoder'; input: EncodeInput });

/** Why a codec YAML was refused: where (dotted path, or line and column of the text) and what. */
export interface CodecYamlProblem {
  message: string;
  path?: string;
  line?: number;
  column?: number;
}

export type ParsedCodecExamples = { ok: true; examples: CodecExample[] } | { ok: false; problem: CodecYamlProblem };

class Refusal extends Error {
  constructor(readonly problem: CodecYamlProblem) {
    super(problem.message);
  }
}

/** `path` '' is the document as a whole. */
function refuse(path: string, message: string): never {
  throw new Refusal({ message, ...(path ? { path } : {}) });
}

/** The examples of a codec YAML, or why it was refused. */
export function parseCodecExamples(text: string): ParsedCodecExamples {
  try {
    return { ok: true, examples: examplesOf(readYaml(text)) };
  } catch (err) {
    if (err instanceof Refusal) return { ok: false, problem: err.problem };
    throw err;
  }
}

/**
 * The YAML as plain JSON values: YAML 1.2 core schema (so `0xE7` is 231 and no tag builds
 * anything), one document, string keys, each key once, aliases bounded.
 */
function readYaml(text: string): unknown {
  if (text.length > MAX_CODEC_YAML_CHARS) {
    throw new Refusal({ message: `the codec YAML is longer than ${MAX_CODEC_YAML_CHARS} characters` });
  }
  const nesting = nestingProblem(text);
  if (nesting) throw new Refusal({ message: nesting });
  const lines = new LineCounter();
  const at = (offset: number): { line: number; column: number } => {
    const { line, col } = lines.linePos(offset);
    return { line, column: col };
  };
  // uniqueKeys is left off: yaml checks it pairwise, 10 s for a map of 30,000 keys; see duplicateKey.
  const doc = parseDocument(text, {
    schema: 'core',
    resolveKnownTags: false,
    stringKeys: true,
    uniqueKeys: false,
    prettyErrors: false,
    lineCounter: lines,
  });
  const problem = doc.errors[0] ?? doc.warnings[0];
  if (problem) throw new Refusal({ message: `YAML: ${problem.message}`, ...at(problem.pos[0]) });
  const duplicate = duplicateKey(doc);
  if (duplicate) throw new Refusal({ message: `YAML: the key '${duplicate.key}' appears twice in one mapping`, ...at(duplicate.offset) });
  try {
    return doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
  } catch (err) {
    // yaml's ReferenceErrors: an alias bomb ("Excessive alias count …"), or an alias whose anchor
    // is not set before it ("Unresolved alias …"), which the parse does not report.
    if (err instanceof ReferenceError) {
      const bomb = err.message.startsWith('Excessive alias count');
      throw new Refusal({ message: bomb ? `YAML: aliases expand to more than ${MAX_ALIAS_COUNT} nodes` : `YAML: ${err.message}` });
    }
    throw err;
  }
}

/**
 * Why the YAML nests too deep for yaml's parser, if it does: flow collections (`[[[…`) and block
 * indicators on one line (`- - - x`, `? ? x`) nested deeper than MAX_NESTING, or a block indicator
 * past MAX_BLOCK_COLUMN. Read from the lexer's tokens (quotes and comments already told apart).
 * yaml's parser takes seconds and hundreds of MB on a few hundred KiB of such nesting, so it must
 * not see it. Nesting by indentation alone costs n²/2 characters for n levels, but each line may
 * add MAX_NESTING levels to its indentation: 30 such lines reach 1,900 levels, which overflow the
 * parser's stack (and have aborted the process). Block collections nest at most two levels a
 * column (a sequence may stand under its key), so the column bound keeps them to a few hundred.
 */
function nestingProblem(text: string): string | null {
  let flow = 0;
  let onLine = 0;
  let column = 0;
  for (const token of new Lexer().lex(text)) {
    if (token === '[' || token === '{') flow++;
    else if (token === ']' || token === '}') flow = Math.max(0, flow - 1);
    else if (token === '\n' || token === '\r\n') onLine = 0;
    else if (flow === 0 && (token === '-' || token === '?' || token === ':')) {
      if (column >= MAX_BLOCK_COLUMN) return `the codec YAML has a '${token}' past column ${MAX_BLOCK_COLUMN}: it nests or indents too deep`;
      onLine++;
    }
    if (flow + onLine > MAX_NESTING) return `the codec YAML nests deeper than ${MAX_NESTING} levels`;
    column = columnAfter(token, column);
  }
  return null;
}

/** yaml's lexer marks a document, a scalar and a flow's end with these: no text of the YAML. */
const LEXER_MARKERS = new Set(['\x02', '\x1f', '\x18']);

/** The 0-based column after a lexer token. */
function columnAfter(token: string, column: number): number {
  const lineBreak = token.lastIndexOf('\n');
  if (lineBreak >= 0) return token.length - lineBreak - 1;
  return LEXER_MARKERS.has(token) ? column : column + token.length;
}

/** The first key given twice in one mapping, with its offset. Keys are scalars (stringKeys). */
function duplicateKey(doc: Document.Parsed): { key: string; offset: number } | null {
  let found: { key: string; offset: number } | null = null;
  visit(doc, {
    Map(_, map) {
      const seen = new Set<unknown>();
      for (const { key } of map.items) {
        const value = isScalar(key) ? key.value : key;
        if (seen.has(value)) {
          found = { key: String(value), offset: isScalar(key) && key.range ? key.range[0] : 0 };
          return visit.BREAK;
        }
        seen.add(value);
      }
      return undefined;
    },
  });
  return found;
}

function examplesOf(root: unknown): CodecExample[] {
  if (root === null || root === undefined) refuse('', 'the codec YAML is empty');
  const sections = mapping(root, '', CODEC_SECTIONS);
  const examples: CodecExample[] = [];
  for (const name of Object.keys(sections) as CodecSection[]) {
    const section = mapping(sections[name], name, ['fileName', 'examples']);
    if (section.fileName !== undefined && typeof section.fileName !== 'string') refuse(`${name}.fileName`, `${name}.fileName must be a string`);
    if (section.examples === undefined) continue;
    if (!Array.isArray(section.examples)) refuse(`${name}.examples`, `${name}.examples must be a list`);
    section.examples.forEach((item: unknown, index) => {
      if (examples.length === MAX_CODEC_EXAMPLES) refuse(`${name}.examples[${index}]`, `the codec YAML has more than ${MAX_CODEC_EXAMPLES} examples`);
      examples.push(exampleOf(name, index, item));
    });
  }
  if (examples.length === 0) refuse('', 'the codec YAML has no examples to run');
  return examples;
}

function exampleOf(section: CodecSection, index: number, item: unknown): CodecExample {
  const path = `${section}.examples[${index}]`;
  const keys = ['description', 'input', 'output', 'hardwareVersions', ...(section === 'uplinkDecoder' ? ['normalizedOutput'] : [])];
  const example = mapping(item, path, keys);
  const description = example.description ?? '';
  if (typeof description !== 'string') refuse(`${path}.description`, `${path}.description must be a string`);
  if (example.hardwareVersions !== undefined) strings(example.hardwareVersions, `${path}.hardwareVersions`);
  const base = { index, description };
  if (section === 'downlinkEncoder') {
    return { ...base, section, input: encodeInput(example.input, `${path}.input`), expected: output(example.output, `${path}.output`, 'bytes') };
  }
  const expected: ExampleOutput = output(example.output, `${path}.output`, 'data');
  if (example.normalizedOutput !== undefined) expected.normalizedOutput = normalizedOutput(example.normalizedOutput, `${path}.normalizedOutput`);
  return { ...base, section, input: decodeInput(example.input, `${path}.input`, section === 'uplinkDecoder'), expected };
}

function decodeInput(value: unknown, path: string, withTime: boolean): DecodeInput {
  const input = mapping(value, path, withTime ? ['bytes', 'fPort', 'recvTime'] : ['bytes', 'fPort']);
  const result: DecodeInput = { bytes: frame(input.bytes, `${path}.bytes`), fPort: port(input.fPort, `${path}.fPort`) };
  if (input.recvTime !== undefined) {
    if (typeof input.recvTime !== 'string' || Number.isNaN(Date.parse(input.recvTime))) {
      refuse(`${path}.recvTime`, `${path}.recvTime must be a date and time (RFC 3339)`);
    }
    result.recvTime = input.recvTime;
  }
  return result;
}

function encodeInput(value: unknown, path: string): EncodeInput {
  const input = mapping(value, path, ['data', 'fPort']);
  if (!isJsonObject(input.data)) refuse(`${path}.data`, `${path}.data must be a mapping`);
  return { data: input.data, ...(input.fPort !== undefined ? { fPort: port(input.fPort, `${path}.fPort`) } : {}) };
}

/** `output`: decoders `{data, warnings?, errors?}`, the encoder `{bytes, fPort?, warnings?, errors?}`; data or bytes unless errors. */
function output(value: unknown, path: string, payload: 'data' | 'bytes'): ExampleOutput {
  const keys = payload === 'data' ? ['data', 'warnings', 'errors'] : ['bytes', 'fPort', 'warnings', 'errors'];
  const out = mapping(value, path, keys);
  const result = messages(out, path);
  if (out[payload] === undefined) {
    if (!result.errors?.length) refuse(`${path}.${payload}`, `${path} must have ${payload}, or errors`);
  } else if (payload === 'data') {
    if (!isJsonObject(out.data)) refuse(`${path}.data`, `${path}.data must be a mapping`);
    result.data = out.data;
  } else {
    result.bytes = frame(out.bytes, `${path}.bytes`);
  }
  if (out.fPort !== undefined) result.fPort = port(out.fPort, `${path}.fPort`);
  return result;
}

/** `normalizedOutput`: `{data: measurement | measurement[], warnings?, errors?}`, data unless errors. */
function normalizedOutput(value: unknown, path: string): CodecOutput {
  const out = mapping(value, path, ['data', 'warnings', 'errors']);
  const result = messages(out, path);
  if (out.data === undefined) {
    if (!result.errors?.length) refuse(`${path}.data`, `${path} must have data, or errors`);
    return result;
  }
  const list: unknown[] = Array.isArray(out.data) ? out.data : [out.data];
  if (!list.every(isJsonObject)) refuse(`${path}.data`, `${path}.data must be a mapping or a list of mappings`);
  return { ...result, data: list };
}

function messages(out: Record<string, unknown>, path: string): CodecOutput {
  return {
    ...(out.warnings !== undefined ? { warnings: strings(out.warnings, `${path}.warnings`) } : {}),
    ...(out.errors !== undefined ? { errors: strings(out.errors, `${path}.errors`) } : {}),
  };
}

/** A mapping with only the given keys; `path` '' is the document. */
function mapping(value: unknown, path: string, keys: readonly string[]): Record<string, unknown> {
  const where = path || 'the codec YAML';
  if (!isJsonObject(value)) refuse(path, `${where} must be a mapping (of ${keys.join(', ')})`);
  for (const key of Object.keys(value)) {
    if (!keys.includes(key)) refuse(path ? `${path}.${key}` : key, `${where} has an unknown key '${key}' (known: ${keys.join(', ')})`);
  }
  return value;
}

function strings(value: unknown, path: string): string[] {
  if (!Array.isArray(value) || !value.every((item) => typeof item === 'string')) refuse(path, `${path} must be a list of strings`);
  return value;
}

function frame(value: unknown, path: string): number[] {
  if (!Array.isArray(value) || !value.every((b) => Number.isInteger(b) && b >= 0 && b <= 255)) {
    refuse(path, `${path} must be an array of integers 0..255`);
  }
  if (value.length > MAX_FRAME_BYTES) refuse(path, `${path} must have at most ${MAX_FRAME_BYTES} bytes`);
  return value;
}

function port(value: unknown, path: string): number {
  if (!Number.isInteger(value) || (value as number) < 1 || (value as number) > 255) refuse(path, `${path} must be an integer 1..255`);
  return value as number;
}

/** Where an example's actual output differs from the expected one (module comment: the rules). */
export function exampleDifferences(expected: ExampleOutput, actual: ExampleOutput): Difference[] {
  const out: Difference[] = [];
  outputDifferences(expected, actual, '', out);
  if (expected.normalizedOutput) {
    if (actual.normalizedOutput) outputDifferences(expected.normalizedOutput, actual.normalizedOutput, '/normalizedOutput', out);
    else out.push({ path: '/normalizedOutput', expected: expected.normalizedOutput, actual: undefined });
  }
  return out;
}

function outputDifferences(expected: CodecOutput, actual: CodecOutput, base: string, out: Difference[]): void {
  const errors = expected.errors ?? [];
  const actualErrors = actual.errors ?? [];
  const sameErrors = (errors.length === 0) === (actualErrors.length === 0) && errors.join(', ') === actualErrors.join(', ');
  if (!sameErrors) out.push({ path: `${base}/errors`, expected: expected.errors, actual: actual.errors });
  if (errors.length === 0) {
    jsonDifferences(expected.data, actual.data, `${base}/data`, out);
    jsonDifferences(expected.bytes, actual.bytes, `${base}/bytes`, out);
    if (expected.fPort !== undefined && expected.fPort !== actual.fPort) out.push({ path: `${base}/fPort`, expected: expected.fPort, actual: actual.fPort });
  }
  jsonDifferences(expected.warnings ?? [], actual.warnings ?? [], `${base}/warnings`, out);
}
