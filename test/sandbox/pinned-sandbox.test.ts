/**
 * Pinned rules of the isolate side of the sandbox (AppSandbox, FormatterRuntime, SharedIsolate and
 * their helpers), each found by a mutant of sandbox/ that no other suite noticed.
 *
 * Some rules guard against a bridge that breaks its contract. The real bridge (prelude.js) never
 * does, so those tests give an isolate a stand-in bridge: the host must still answer with a clean
 * error, never throw or pass on what it has not checked.
 */
import type ivm from 'isolated-vm';
import { afterAll, describe, expect, it } from 'vitest';
import type { FormatterError } from '../../formatters/contract.js';
import { AppSandbox, type BridgeReply, type LoadedScript } from '../../sandbox/app-sandbox.js';
import { fromIsolateException, syntaxError } from '../../sandbox/errors.js';
import { Prelude } from '../../sandbox/prelude.js';
import { FormatterRuntime, type RuntimeHooks, type RuntimeOptions } from '../../sandbox/runtime.js';
import { SharedIsolate } from '../../sandbox/shared-isolate.js';
import { ASYNC_FEATURE_MESSAGE } from '../../sandbox/sync-only.js';
import { LineReader } from '../../sandbox/wire.js';
import { js, uplink } from './helpers.js';

const hosts: SharedIsolate[] = [];
const runtimes: FormatterRuntime[] = [];
afterAll(() => {
  runtimes.forEach((r) => r.dispose());
  hosts.forEach((h) => h.dispose());
});

function newRuntime(options: RuntimeOptions = {}, hooks: RuntimeHooks = {}): FormatterRuntime {
  const created = new FormatterRuntime(options, hooks);
  runtimes.push(created);
  return created;
}

const MALFORMED: FormatterError = { kind: 'contract', message: 'the sandbox returned a malformed reply' };
const LIMITS = { maxLogEntries: 10, maxLogChars: 200, maxOutputChars: 10_000, maxDepth: 20 };

/** A sandbox (one application) in a 16 MB isolate of its own with the real prelude. */
function realSandbox(maxScripts = 4): { sandbox: AppSandbox; host: SharedIsolate } {
  const host = new SharedIsolate(new Prelude(LIMITS), 16, 1);
  hosts.push(host);
  return { sandbox: new AppSandbox({ appId: 'app', host, maxScripts }), host };
}

/**
 * A sandbox whose isolate evaluates `code` in place of the prelude: it must define the bridge
 * functions load, run and drain (plain JavaScript, run in the isolate).
 */
function standInBridge(code: string): AppSandbox {
  const prelude = {
    compile: (isolate: ivm.Isolate) =>
      isolate.compileScriptSync(`(function () {\n${code}\nreturn { load: load, run: run, drain: drain };\n})()`),
  } as unknown as Prelude;
  const host = new SharedIsolate(prelude, 16, 1);
  hosts.push(host);
  return new AppSandbox({ appId: 'app', host, maxScripts: 4 });
}

const LOADS_OK = 'function load() { return \'{"k":"ok","u":"thinger","d":"thinger"}\'; }';
const NO_LOGS = "function drain() { return '[]'; }";

/**
 * Calls with a given fPort into a stand-in bridge whose run replies `replies[fPort]` (the fPort
 * leads the head of each call the host sends).
 */
function replying(replies: unknown[]): (fPort: number) => BridgeReply {
  const sandbox = standInBridge(
    `var replies = ${JSON.stringify(replies)};\n${LOADS_OK}\n` +
      "function run(head) { return replies[+head.slice(1, head.indexOf(':'))]; }\n" +
      NO_LOGS,
  );
  const script = loaded(sandbox.prepare('module.exports.uplink = function () {};', 1000));
  return (fPort) => sandbox.call(script, { op: 'u', fPort, b64: 'AQ==' }, 1000);
}

function loaded(slot: ReturnType<AppSandbox['prepare']>): LoadedScript {
  if (!slot.ok) throw new Error(`the script did not load: ${JSON.stringify(slot.error)}`);
  return slot.script;
}

describe('replies of a bridge that breaks its contract', () => {
  it('fails a call whose reply is not a JSON object as a malformed reply, without logs', () => {
    const replies = ['not json', 'null', '[]', '5', '"text"', 7];
    const call = replying(replies);
    for (let fPort = 0; fPort < replies.length; fPort++) {
      expect(call(fPort), JSON.stringify(replies[fPort])).toEqual({ ok: false, error: MALFORMED, logs: [] });
    }
  });

  it('keeps only log entries that are objects with a known level and a text message', () => {
    const entries = [
      null,
      7,
      'log',
      { level: 'debug', message: 'unknown level' },
      { level: 'log', message: 5 },
      { level: 'warn' },
      { level: 'info', message: 'kept' },
      { level: 'error', message: 'kept too' },
    ];
    const call = replying([JSON.stringify({ r: { v: 1 }, l: entries }), JSON.stringify({ r: 2, l: { 0: { level: 'log', message: 'x' } } })]);
    expect(call(0)).toEqual({
      ok: true,
      value: { v: 1 },
      logs: [
        { level: 'info', message: 'kept' },
        { level: 'error', message: 'kept too' },
      ],
    });
    // Logs that are no array are no logs.
    expect(call(1)).toEqual({ ok: true, value: 2, logs: [] });
  });

  it('reads an error reply: its kind, its message (or "unknown error"), a position only from a text stack', () => {
    const call = replying([
      '{"k":"contract"}',
      '{"k":"limit","m":"too big","l":[{"level":"log","message":"before"}]}',
      '{"k":"runtime","m":"TypeError: boom","s":"TypeError: boom\\n    at f (formatter.js:3:4)"}',
      '{"k":"runtime","m":"TypeError: boom","s":["at formatter.js:3:4"]}',
      '{"k":"runtime","m":7}',
      '{"k":"weird","m":"what kind is this"}',
    ]);
    expect(call(0)).toEqual({ ok: false, error: { kind: 'contract', message: 'unknown error' }, logs: [] });
    expect(call(1)).toEqual({ ok: false, error: { kind: 'limit', message: 'too big' }, logs: [{ level: 'log', message: 'before' }] });
    expect(call(2)).toEqual({ ok: false, error: { kind: 'runtime', message: 'TypeError: boom', line: 3, column: 4 }, logs: [] });
    expect(call(3)).toEqual({ ok: false, error: { kind: 'runtime', message: 'TypeError: boom' }, logs: [] });
    expect(call(4)).toEqual({ ok: false, error: { kind: 'runtime', message: 'unknown error' }, logs: [] });
    expect(call(5)).toEqual({ ok: false, error: MALFORMED, logs: [] });
  });

  it('fails a script whose load reply is not a JSON object as a malformed reply', () => {
    const sandbox = standInBridge(`function load() { return 'garbage'; }\nfunction run() { return '{}'; }\n${NO_LOGS}`);
    expect(sandbox.prepare('module.exports.uplink = function () {};', 1000)).toEqual({ ok: false, error: MALFORMED });
  });

  it('takes only the known script styles and flags that are exactly true from a load reply', () => {
    // This bridge's load replies the script it is given, `(<reply>)`, without its parentheses.
    const sandbox = standInBridge(`function load(source) { return source.slice(1, -1); }\nfunction run() { return '{}'; }\n${NO_LOGS}`);
    const entries = (reply: object) => loaded(sandbox.prepare(`(${JSON.stringify({ k: 'ok', ...reply })})`, 1000)).entries;
    expect(entries({ u: 'python', d: 'tts', x: 'true', n: 1, um: 'yes', dm: 1 })).toEqual({
      uplink: null,
      downlink: 'tts',
      decodeDownlink: false,
      normalizes: false,
      uplinkReadsMessage: false,
      downlinkReadsDevice: false,
    });
    expect(entries({ u: 'legacy', d: 'thinger', x: true, n: true, um: true, dm: true })).toEqual({
      uplink: 'legacy',
      downlink: 'thinger',
      decodeDownlink: true,
      normalizes: true,
      uplinkReadsMessage: true,
      downlinkReadsDevice: true,
    });
  });

  it('gives a call that timed out the logs drain reports, and none when drain answers no log array', () => {
    const timedOut = (drain: string): BridgeReply => {
      const sandbox = standInBridge(`${LOADS_OK}\nfunction run() { for (;;) {} }\nfunction drain() { ${drain} }`);
      const script = loaded(sandbox.prepare('module.exports.uplink = function () {};', 1000));
      return sandbox.call(script, { op: 'u', fPort: 1, b64: 'AQ==' }, 50);
    };
    const timeout = { kind: 'timeout', message: 'formatter exceeded the time limit of 50 ms' };
    expect(timedOut('return \'[{"level":"log","message":"so far"},{"level":"trace","message":"x"}]\';')).toEqual({
      ok: false,
      error: timeout,
      logs: [{ level: 'log', message: 'so far' }],
    });
    expect(timedOut('return 5;')).toEqual({ ok: false, error: timeout, logs: [] });
    expect(timedOut("return 'not json';")).toEqual({ ok: false, error: timeout, logs: [] });
    // A drain that does not answer has a time limit of its own.
    expect(timedOut('for (;;) {}')).toEqual({ ok: false, error: timeout, logs: [] });
  });
});

describe('isolated-vm failures', () => {
  it('reports a sandbox whose isolate is gone as reset by the memory limit, even for a script it never compiled', () => {
    const { sandbox, host } = realSandbox();
    host.dispose();
    const reset = { kind: 'memory', message: 'formatter exceeded the memory limit of 16 MB; its sandbox was reset' };
    expect(sandbox.disposed).toBe(true);
    expect(sandbox.prepare('module.exports.uplink = () => ({});', 100)).toEqual({ ok: false, error: reset });
    expect(sandbox.loadOnce('module.exports.uplink = () => ({});', 100)).toEqual({ ok: false, error: reset });
    // A gone isolate holds no memory.
    expect(host.memory()).toEqual({ heapBytes: 0, externalBytes: 0 });
    expect(host.retainedBytes()).toBe(0);
  });

  it('reports a call into a script version the sandbox has dropped as a sandbox failure, without logs', () => {
    const { sandbox } = realSandbox(1);
    const first = loaded(sandbox.prepare('module.exports.uplink = () => ({ v: 1 });', 100));
    loaded(sandbox.prepare('module.exports.uplink = () => ({ v: 2 });', 100));
    expect(sandbox.call(first, { op: 'u', fPort: 1, b64: 'AQ==' }, 100)).toEqual({
      ok: false,
      error: { kind: 'runtime', message: 'sandbox failure: Reference has been released' },
      logs: [],
    });
  });

  it('classifies isolated-vm errors: a gone isolate is a memory reset, a timeout names the limit, anything else a sandbox failure', () => {
    const limits = { timeoutMs: 30, memoryLimitMb: 16 };
    expect(fromIsolateException(new Error('Isolated is disposed'), true, limits)).toEqual({
      kind: 'memory',
      message: 'formatter exceeded the memory limit of 16 MB; its sandbox was reset',
    });
    expect(fromIsolateException(new Error('Script execution timed out.'), false, limits)).toEqual({
      kind: 'timeout',
      message: 'formatter exceeded the time limit of 30 ms',
    });
    expect(fromIsolateException(new Error('Reference has been released'), false, limits)).toEqual({
      kind: 'runtime',
      message: 'sandbox failure: Reference has been released',
    });
    expect(fromIsolateException('a thrown text', false, limits)).toEqual({ kind: 'runtime', message: 'sandbox failure: a thrown text' });
  });

  it('reports a compile error without a position with its name and whole text', () => {
    expect(syntaxError(new SyntaxError('Unexpected end of input'))).toEqual({ kind: 'syntax', message: 'SyntaxError: Unexpected end of input' });
    expect(syntaxError('Unexpected token')).toEqual({ kind: 'syntax', message: 'SyntaxError: Unexpected token' });
  });
});

describe('leaving a shared isolate', () => {
  it('lets an application leave once: its neighbour and its successor there go on, and the last to leave disposes the isolate', () => {
    const host = new SharedIsolate(new Prelude(LIMITS), 16, 2);
    hosts.push(host);
    const first = new AppSandbox({ appId: 'a', host, maxScripts: 1 });
    const neighbour = new AppSandbox({ appId: 'b', host, maxScripts: 1 });
    first.dispose();
    expect([first.disposed, neighbour.disposed, host.disposed]).toEqual([true, false, false]);
    const successor = new AppSandbox({ appId: 'a', host, maxScripts: 1 });
    // Leaving again changes nothing: the successor keeps its place after the neighbour leaves.
    first.dispose();
    neighbour.dispose();
    expect(host.disposed).toBe(false);
    const script = loaded(successor.prepare('module.exports.uplink = (payload) => ({ payload: payload });', 100));
    expect(successor.call(script, { op: 'u', fPort: 1, b64: 'AQ==' }, 100)).toEqual({ ok: true, value: { payload: 'AQ==' }, logs: [] });
    successor.dispose();
    expect(host.disposed).toBe(true);
  });
});

describe('which argument a formatter reads', () => {
  const reads = 'module.exports.uplink = function (payload, message) { return { id: message.id }; };';
  const ignores = 'module.exports.uplink = function (payload) { return { payload: payload }; };';

  it('tells whether the loaded uplink function reads the message, and nothing for a script not loaded', async () => {
    const r = newRuntime();
    expect(r.uplinkReadsMessage('app', reads)).toBeUndefined();
    expect((await r.runUplink('app', js(ignores), uplink('01'))).ok).toBe(true);
    expect(r.uplinkReadsMessage('app', ignores)).toBe(false);
    // Another text than the one loaded last: not known.
    expect(r.uplinkReadsMessage('app', reads)).toBeUndefined();
    expect((await r.runUplink('app', js(reads), uplink('01', 1, { message: { id: 'm-1' } }))).output).toEqual({ id: 'm-1' });
    expect(r.uplinkReadsMessage('app', reads)).toBe(true);
    // A script that failed to load has no entry points.
    const broken = 'module.exports.uplink = function (payload, message) { return {}; };\nnull.field;';
    expect((await r.runUplink('app', js(broken), uplink('01'))).error?.kind).toBe('runtime');
    expect(r.uplinkReadsMessage('app', broken)).toBeUndefined();
    // An application whose only script timed out at its top level has loaded nothing.
    const endless = 'for (;;) {}\nmodule.exports.uplink = function (payload, message) { return {}; };';
    expect((await r.runUplink('slow', js(endless, 20), uplink('01'))).error?.kind).toBe('timeout');
    expect(r.uplinkReadsMessage('slow', endless)).toBeUndefined();
  });

  it('sends the second argument to a Thinger function whose second parameter has a default or is a rest parameter', async () => {
    // fn.length counts neither: (payload, device = {}) and (payload, ...rest) have a length of 1.
    const r = newRuntime();
    const withDefault = 'module.exports.downlink = function (payload, device = { id: "none" }) { return { device: device.id }; };';
    const device = { id: 'dev-1' };
    expect((await r.runDownlink('app', js(withDefault), { payload: {}, device })).output).toEqual({ decodedPayload: { device: 'dev-1' } });
    const rest = 'module.exports.uplink = (payload, ...more) => ({ id: more[0] === undefined ? null : more[0].id });';
    expect((await r.runUplink('app', js(rest), uplink('01', 1, { message: { id: 'm-1' } }))).output).toEqual({ id: 'm-1' });
    expect(r.uplinkReadsMessage('app', rest)).toBe(true);
    // A function of one parameter that reads no `arguments` is not sent what it cannot see (an arrow's `=>` is no default).
    const arrow = 'module.exports.uplink = payload => ({ read: typeof payload === "string" });';
    await r.runUplink('app', js(arrow), uplink('01'));
    expect(r.uplinkReadsMessage('app', arrow)).toBe(false);
  });
});

describe('loading scripts', () => {
  it('runs a top level that timed out again at the next call, under that call\'s limit', async () => {
    const r = newRuntime();
    const endless = 'for (;;) {}\nmodule.exports.uplink = () => ({});';
    expect((await r.runUplink('app', js(endless, 20), uplink('01'))).error).toEqual({
      kind: 'timeout',
      message: 'formatter exceeded the time limit of 20 ms',
    });
    expect((await r.runUplink('app', js(endless, 40), uplink('01'))).error).toEqual({
      kind: 'timeout',
      message: 'formatter exceeded the time limit of 40 ms',
    });
  });

  it('keeps a script that failed with a syntax or runtime error: its top level runs once, however often it is called', async () => {
    let loads = 0;
    const r = newRuntime({}, { loaded: () => loads++ });
    const throwing = js('console.log("loading");\nmodule.exports.uplink = () => ({});\nnull.field;');
    // A failed load returns no logs.
    for (let i = 0; i < 3; i++) expect(await r.runUplink('app', throwing, uplink('01'))).toMatchObject({ error: { kind: 'runtime' }, logs: [] });
    expect(loads).toBe(1);
    const unparsable = js('module.exports.uplink = () => ({);');
    for (let i = 0; i < 3; i++) expect((await r.runUplink('app', unparsable, uplink('01'))).error?.kind).toBe('syntax');
    expect(loads).toBe(2);
    expect(r.stats()).toMatchObject({ apps: 1, scripts: 2 });
  });
});

describe('what a call sends the formatter', () => {
  const runtime = newRuntime();

  it('gives a TTS decoder the current time as recvTime when the uplink has no reception time', async () => {
    const spec = js('function decodeUplink(input) { return { data: { at: input.recvTime.getTime() } }; }');
    const before = Date.now();
    const report = await runtime.runUplink('recv', spec, uplink('01'));
    const after = Date.now();
    const at = (report.output as { at: number }).at;
    expect(at).toBeGreaterThanOrEqual(before);
    expect(at).toBeLessThanOrEqual(after);
  });

  it('sends a downlink without a payload as null', async () => {
    const spec = js('module.exports.downlink = function (payload) { return { got: payload === null ? "null" : typeof payload }; };');
    expect((await runtime.runDownlink('no-payload', spec, { payload: undefined })).output).toEqual({ decodedPayload: { got: 'null' } });
  });

  it('gives a downlink decoder the bytes and fPort of the call', async () => {
    const spec = js('function decodeDownlink(input) { return { data: { bytes: input.bytes, fPort: input.fPort } }; }');
    expect((await runtime.runDecodeDownlink('decode', spec, { bytes: Uint8Array.of(1, 2), fPort: 15 })).output).toEqual({ bytes: [1, 2], fPort: 15 });
  });

  it('leaves fPort undefined for an encoder when the downlink call has none', async () => {
    const spec = js('function Encoder(object, fPort) { return [fPort === undefined ? 0 : fPort]; }');
    expect((await runtime.runDownlink('no-port', spec, { payload: {} })).output).toEqual({ frmPayload: 'AA==' });
    expect((await runtime.runDownlink('no-port', spec, { payload: {}, fPort: 5 })).output).toEqual({ fPort: 5, frmPayload: 'BQ==' });
  });
});

describe('where an error points', () => {
  const runtime = newRuntime();

  it('points an async feature at its first use on the line, not at a later mention', async () => {
    const spec = js('var x = 1;\nmodule.exports.uplink = async function () { return { note: "no async here", p: "Promise" }; };');
    const error = (await runtime.runUplink('async', spec, uplink('01'))).error;
    expect(error).toEqual({ kind: 'contract', message: ASYNC_FEATURE_MESSAGE, line: 2, column: 25 });
  });

  it('names the sandbox\'s own code sandbox-prelude.js in stack traces, apart from the formatter', async () => {
    const spec = js('module.exports.uplink = function () {\n  try { Buffer.alloc(-1); } catch (e) { return { frames: e.stack.split("\\n").filter((l) => /\\.js:/.test(l)).map((l) => l.replace(/^.*[( ]([\\w-]+\\.js):.*$/, "$1")) }; }\n};');
    const frames = ((await runtime.runUplink('stack', spec, uplink('01'))).output as { frames: string[] }).frames;
    expect(frames).toContain('sandbox-prelude.js');
    expect(frames).toContain('formatter.js');
  });
});

describe('built-in formatters', () => {
  it('normalizes the measurements a none formatter passes through', async () => {
    const r = newRuntime();
    const decodedPayload = { air: { temperature: 21.5 } };
    const report = await r.runUplink('none', { type: 'none', script: '', timeoutMs: 100 }, uplink('01', 1, { decodedPayload }));
    expect(report).toMatchObject({ ok: true, output: decodedPayload, normalized: { measurements: [decodedPayload], warnings: [] } });
  });
});

describe('formatter process lines', () => {
  it('refuses a line over maxLine characters, ended or still open, saying the limit', () => {
    const lines: string[] = [];
    const ended = new LineReader(5, (line) => lines.push(line));
    ended.push('12345\nab');
    ended.push('cde\n');
    expect(lines).toEqual(['12345', 'abcde']);
    expect(() => ended.push('123456\n')).toThrow(new RangeError('a line of over 5 characters'));
    const open = new LineReader(5, (line) => lines.push(line));
    expect(() => open.push('1234567')).toThrow(new RangeError('a line of over 5 characters'));
    const growing = new LineReader(5, (line) => lines.push(line));
    growing.push('123');
    expect(() => growing.push('456')).toThrow(new RangeError('a line of over 5 characters'));
  });

  it('joins a line from any chunks, up to exactly maxLine characters', () => {
    const lines: string[] = [];
    const reader = new LineReader(5, (line) => lines.push(line));
    reader.push('ab');
    reader.push('c\nde');
    reader.push('f\n12345');
    reader.push('\nx');
    reader.push('y\n');
    expect(lines).toEqual(['abc', 'def', '12345', 'xy']);
  });
});
