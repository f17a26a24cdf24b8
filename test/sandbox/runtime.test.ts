import { afterAll, describe, expect, it } from 'vitest';
import { FormatterRuntime } from '../../sandbox/runtime.js';
import { ASYNC_FEATURE_MESSAGE } from '../../sandbox/sync-only.js';
import { js, uplink } from './helpers.js';

const runtime = new FormatterRuntime();
const runtimes: FormatterRuntime[] = [runtime];
afterAll(() => runtimes.forEach((r) => r.dispose()));

function newRuntime(options: ConstructorParameters<typeof FormatterRuntime>[0]): FormatterRuntime {
  const created = new FormatterRuntime(options);
  runtimes.push(created);
  return created;
}

/** Runs `body` as a Thinger uplink and returns the output (or the report when it failed). */
async function evaluate(body: string, appId = 'eval', target = runtime): Promise<unknown> {
  const report = await target.runUplink(appId, js(`module.exports.uplink = function (payload) {\n${body}\n};`), uplink('01'));
  return report.ok ? report.output : report;
}

const counter = js('var n = 0;\nmodule.exports.uplink = function () { n++; return { n: n }; };');

describe('isolation and caching', () => {
  it('keeps global state per application, also between applications that share an isolate', async () => {
    const r = newRuntime({});
    const spec = js(
      'module.exports.uplink = function (payload) {\n' +
        '  const seen = { secret: typeof secret === "undefined" ? null : secret, polluted: ({}).polluted === undefined ? null : ({}).polluted };\n' +
        '  globalThis.secret = payload;\n' +
        '  Object.prototype.polluted = payload;\n' +
        '  return seen;\n' +
        '};',
    );
    expect((await r.runUplink('app-a', spec, uplink('0A'))).output).toEqual({ secret: null, polluted: null });
    expect((await r.runUplink('app-b', spec, uplink('0B'))).output).toEqual({ secret: null, polluted: null });
    expect((await r.runUplink('app-a', spec, uplink('0A'))).output).toEqual({ secret: 'Cg==', polluted: 'Cg==' });
    expect(r.stats()).toMatchObject({ apps: 2, isolates: 1 });
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('gives each application its own context even when two run the same script', async () => {
    const r = newRuntime({});
    expect((await r.runUplink('same-1', counter, uplink('01'))).output).toEqual({ n: 1 });
    expect((await r.runUplink('same-2', counter, uplink('01'))).output).toEqual({ n: 1 });
    expect((await r.runUplink('same-1', counter, uplink('01'))).output).toEqual({ n: 2 });
    expect(r.stats()).toMatchObject({ apps: 2, isolates: 1, scripts: 2 });
  });

  it('packs applications into isolates, appsPerIsolate each', async () => {
    const r = newRuntime({ appsPerIsolate: 3 });
    for (let i = 0; i < 7; i++) await r.runUplink(`packed-${i}`, counter, uplink('01'));
    expect(r.stats()).toMatchObject({ apps: 7, isolates: 3 });
    const alone = newRuntime({ appsPerIsolate: 1 });
    for (let i = 0; i < 3; i++) await alone.runUplink(`alone-${i}`, counter, uplink('01'));
    expect(alone.stats()).toMatchObject({ apps: 3, isolates: 3 });
  });

  it('keeps state between calls of one script version', async () => {
    expect((await runtime.runUplink('counter', counter, uplink('01'))).output).toEqual({ n: 1 });
    expect((await runtime.runUplink('counter', counter, uplink('01'))).output).toEqual({ n: 2 });
  });

  it('applies a changed script on the next message, each version in its own context', async () => {
    const v1 = js('const version = 1;\nglobalThis.mark = "v1";\nmodule.exports.uplink = () => ({ version, mark: globalThis.mark });');
    const v2 = js('const version = 2;\nmodule.exports.uplink = () => ({ version, mark: typeof mark });');
    expect((await runtime.runUplink('change', v1, uplink('01'))).output).toEqual({ version: 1, mark: 'v1' });
    expect((await runtime.runUplink('change', v2, uplink('01'))).output).toEqual({ version: 2, mark: 'undefined' });
    expect((await runtime.runUplink('change', v1, uplink('01'))).output).toEqual({ version: 1, mark: 'v1' });
  });

  it('caches compiled scripts by content, not by string identity', async () => {
    const r = newRuntime({});
    const text = 'module.exports.uplink = () => ({});';
    await r.runUplink('one', js(text), uplink('01'));
    await r.runUplink('one', js(text.slice(0, 10) + text.slice(10)), uplink('01'));
    expect(r.stats()).toMatchObject({ apps: 1, scripts: 1 });
    await r.runUplink('two', js(text), uplink('01'));
    await r.runUplink('two', counter, uplink('01'));
    expect(r.stats()).toMatchObject({ apps: 2, scripts: 3 });
  });

  it('unloads the least recently used application beyond maxApps, and an isolate with its last application', async () => {
    const r = newRuntime({ maxApps: 2, appsPerIsolate: 1 });
    for (const app of ['a', 'b', 'a', 'c']) await r.runUplink(app, counter, uplink('01'));
    expect(r.stats()).toMatchObject({ apps: 2, isolates: 2, scripts: 2 });
    // 'a' was used more recently than 'b', so 'b' was unloaded and starts over.
    expect((await r.runUplink('a', counter, uplink('01'))).output).toEqual({ n: 3 });
    expect((await r.runUplink('b', counter, uplink('01'))).output).toEqual({ n: 1 });
    expect(r.stats()).toMatchObject({ apps: 2, isolates: 2 });
  });

  it('reuses the place an unloaded application leaves in a shared isolate', async () => {
    const r = newRuntime({ maxApps: 2, appsPerIsolate: 2 });
    for (const app of ['a', 'b', 'c', 'd']) await r.runUplink(app, counter, uplink('01'));
    expect(r.stats()).toMatchObject({ apps: 2, isolates: 1 });
  });

  it('bounds script versions per application', async () => {
    const r = newRuntime({ maxScriptsPerApp: 2 });
    for (let v = 0; v < 5; v++) await r.runUplink('app', js(`module.exports.uplink = () => ({ v: ${v} });`), uplink('01'));
    expect(r.stats()).toMatchObject({ isolates: 1, scripts: 2 });
  });

  it('releases everything on dispose', async () => {
    const r = newRuntime({});
    await r.runUplink('app', counter, uplink('01'));
    r.dispose();
    expect(r.stats()).toMatchObject({ isolates: 0, scripts: 0 });
  });
});

describe('big messages', () => {
  // Two-byte text with surrogate pairs: the host sends long texts in pieces, which must join exactly.
  const note = 'Gewächshaus € 🌱 '.repeat(300);
  const message = { uplink_message: { f_port: 2, note } };
  const call = { ...uplink('01020304'), message, messageJson: JSON.stringify(message) };
  const spec = js('module.exports.uplink = function (payload, message) { return { length: message.uplink_message.note.length, note: message.uplink_message.note }; };');

  it('reach the formatter whole', async () => {
    expect((await runtime.runUplink('big', spec, call)).output).toEqual({ length: note.length, note });
  });

  it('do not pile up outside the isolate heap until the memory limit fails the formatter', async () => {
    // Strings of 1 KiB or more used to enter as external strings the heap did not count: 10 KB per
    // call stayed behind, and after about 3,000 calls the isolate hit its 32 MB limit.
    const r = newRuntime({});
    for (let i = 0; i < 3000; i++) {
      const report = await r.runUplink('big', spec, call);
      if (!report.ok) throw new Error(`call ${i}: ${JSON.stringify(report.error)}`);
    }
    expect(r.stats().externalBytes).toBeLessThan(1024 * 1024);
  });
});

describe('limits', () => {
  const endless = js('module.exports.uplink = function () { console.log("entering"); while (true) {} };', 30);

  it('stops an endless loop at the spec time limit, keeping the logs so far', async () => {
    const report = await runtime.runUplink('loop', endless, uplink('01'));
    expect(report).toMatchObject({
      ok: false,
      error: { kind: 'timeout', message: 'formatter exceeded the time limit of 30 ms' },
      logs: [{ level: 'log', message: 'entering' }],
    });
    expect(report.durationMs).toBeGreaterThanOrEqual(29);
    expect(report.durationMs).toBeLessThan(1000);
  });

  it('keeps the isolate usable after a timeout', async () => {
    await runtime.runUplink('loop-then-ok', counter, uplink('01'));
    await runtime.runUplink('loop-then-ok', endless, uplink('01'));
    expect((await runtime.runUplink('loop-then-ok', counter, uplink('01'))).output).toEqual({ n: 2 });
  });

  it('stops one application\'s endless loop without touching the others in its isolate', async () => {
    const r = newRuntime({});
    await r.runUplink('steady', counter, uplink('01'));
    expect((await r.runUplink('looping', endless, uplink('01'))).error?.kind).toBe('timeout');
    expect(r.stats()).toMatchObject({ apps: 2, isolates: 1 });
    expect((await r.runUplink('steady', counter, uplink('01'))).output).toEqual({ n: 2 });
  });

  it('clamps the spec time limit to maxTimeoutMs and defaults a missing one', async () => {
    const r = newRuntime({ maxTimeoutMs: 40, defaultTimeoutMs: 20 });
    const long = await r.runUplink('a', { ...endless, timeoutMs: 60_000 }, uplink('01'));
    expect(long.error?.message).toBe('formatter exceeded the time limit of 40 ms');
    const unset = await r.runUplink('a', { ...endless, timeoutMs: 0 }, uplink('01'));
    expect(unset.error?.message).toBe('formatter exceeded the time limit of 20 ms');
  });

  it('times out a top-level endless loop', async () => {
    const report = await runtime.runUplink('top-loop', js('for (;;) {}', 25), uplink('01'));
    expect(report.error).toEqual({ kind: 'timeout', message: 'formatter exceeded the time limit of 25 ms' });
  });

  const hog = js('module.exports.uplink = function () { const a = []; for (;;) a.push(new Array(100000).fill(a.length)); };', 5000);

  it('replaces an isolate that hits its memory limit; the tenants go on probation alone, the culprit stays alone', async () => {
    const isolated: string[] = [];
    const r = new FormatterRuntime({ memoryLimitMb: 16 }, { isolated: (app) => isolated.push(app) });
    await r.runUplink('hog', counter, uplink('01'));
    await r.runUplink('neighbour', counter, uplink('01'));
    expect(r.stats()).toMatchObject({ apps: 2, isolates: 1 });
    // The hog's call is tried again alone, exhausts that isolate too, and is blamed.
    const report = await r.runUplink('hog', hog, uplink('01'));
    expect(report.error).toEqual({ kind: 'memory', message: 'formatter exceeded the memory limit of 16 MB; its sandbox was reset' });
    expect(isolated).toEqual(['hog']);
    expect(r.stats()).toMatchObject({ apps: 0, isolates: 0 });
    // The shared isolate is gone: the neighbour starts over alone, is measured over five calls, and
    // goes back to sharing (starting over once more).
    expect((await r.runUplink('neighbour', counter, uplink('01'))).output).toEqual({ n: 1 });
    expect((await r.runUplink('hog', counter, uplink('01'))).output).toEqual({ n: 1 });
    for (let n = 2; n <= 5; n++) expect((await r.runUplink('neighbour', counter, uplink('01'))).output).toEqual({ n });
    expect((await r.runUplink('neighbour', counter, uplink('01'))).output).toEqual({ n: 1 });
    expect(r.stats()).toMatchObject({ apps: 2, isolates: 2 });
    // The hog's next exhaustion costs the neighbour nothing.
    expect((await r.runUplink('hog', hog, uplink('01'))).error?.kind).toBe('memory');
    expect((await r.runUplink('neighbour', counter, uplink('01'))).output).toEqual({ n: 2 });
  });

  it('moves out an application whose top level exhausts the heap, so reloading it does not reset its neighbours', async () => {
    const r = newRuntime({ memoryLimitMb: 16 });
    const topLevelHog = js('const a = []; for (;;) a.push(new Array(100000).fill(a.length));\nmodule.exports.uplink = () => ({});', 5000);
    await r.runUplink('neighbour', counter, uplink('01'));
    expect((await r.runUplink('hog', topLevelHog, uplink('01'))).error?.kind).toBe('memory');
    for (let n = 1; n <= 5; n++) expect((await r.runUplink('neighbour', counter, uplink('01'))).output).toEqual({ n });
    expect((await r.runUplink('neighbour', counter, uplink('01'))).output).toEqual({ n: 1 });
    // A failed load is not cached: every uplink loads the script again, now in the hog's own isolate.
    expect((await r.runUplink('hog', topLevelHog, uplink('01'))).error?.kind).toBe('memory');
    expect((await r.runUplink('neighbour', counter, uplink('01'))).output).toEqual({ n: 2 });
  });

  it('blames the tenant that holds the memory, not the one that allocated last', async () => {
    const isolated: { app: string; why: string }[] = [];
    const r = new FormatterRuntime({ memoryLimitMb: 32 }, { isolated: (app, why) => isolated.push({ app, why }) });
    // ~24 MB kept in the holder's globals; ~20 MB allocated and dropped by the other's call.
    const holder = js('const kept = []; for (let i = 0; i < 24; i++) kept.push(new Array(131072).fill(i + 0.5));\nmodule.exports.uplink = () => ({ n: kept.length });', 2000);
    const spiker = js('module.exports.uplink = function () { const t = []; for (let i = 0; i < 20; i++) t.push(new Array(131072).fill(i)); return { n: t.length }; };', 2000);
    expect((await r.runUplink('holder', holder, uplink('01'))).output).toEqual({ n: 24 });
    const spike = await r.runUplink('spiker', spiker, uplink('01'));
    expect(spike).toMatchObject({ ok: true, output: { n: 20 } });
    // The holder is measured at its next call and stays alone; the spiker went back to sharing.
    expect((await r.runUplink('holder', holder, uplink('01'))).output).toEqual({ n: 24 });
    expect(isolated.map((i) => i.app)).toEqual(['holder']);
    expect(isolated[0].why).toMatch(/^it held \d+\.\d MB, over its 2\.0 MB share of a shared isolate$/);
    for (let i = 0; i < 3; i++) expect((await r.runUplink('spiker', spiker, uplink('01'))).ok).toBe(true);
    expect(isolated).toHaveLength(1);
  });

  it('sees a tenant that builds its hoard only after its first call', async () => {
    const isolated: string[] = [];
    const r = new FormatterRuntime({ memoryLimitMb: 32 }, { isolated: (app) => isolated.push(app) });
    const late = js(
      'let calls = 0; const kept = [];\n' +
        'module.exports.uplink = function () { if (calls++ === 1) for (let i = 0; i < 24; i++) kept.push(new Array(131072).fill(i + 0.5)); return { kept: kept.length }; };',
      2000,
    );
    const spiker = js('module.exports.uplink = function () { const t = []; for (let i = 0; i < 20; i++) t.push(new Array(131072).fill(i)); return { n: t.length }; };', 2000);
    expect((await r.runUplink('late', late, uplink('01'))).output).toEqual({ kept: 0 });
    expect((await r.runUplink('late', late, uplink('01'))).output).toEqual({ kept: 24 });
    expect((await r.runUplink('spiker', spiker, uplink('01'))).ok).toBe(true);
    // On probation it starts over: clean at its first call, the hoard at its second.
    expect((await r.runUplink('late', late, uplink('01'))).output).toEqual({ kept: 0 });
    expect(isolated).toEqual([]);
    expect((await r.runUplink('late', late, uplink('01'))).output).toEqual({ kept: 24 });
    expect(isolated).toEqual(['late']);
  });

  it('with one application per isolate, a memory hog resets only itself', async () => {
    const r = newRuntime({ memoryLimitMb: 16, appsPerIsolate: 1 });
    await r.runUplink('hog', counter, uplink('01'));
    await r.runUplink('neighbour', counter, uplink('01'));
    expect((await r.runUplink('hog', hog, uplink('01'))).error?.kind).toBe('memory');
    expect(r.stats()).toMatchObject({ apps: 1, isolates: 1 });
    expect((await r.runUplink('neighbour', counter, uplink('01'))).output).toEqual({ n: 2 });
    expect((await r.runUplink('hog', counter, uplink('01'))).output).toEqual({ n: 1 });
  });

  it('rejects scripts over maxScriptBytes, counting UTF-8 bytes', async () => {
    const r = newRuntime({ maxScriptBytes: 1000 });
    const ascii = js(`module.exports.uplink = () => ({}); // ${'x'.repeat(1000)}`);
    expect((await r.runUplink('a', ascii, uplink('01'))).error).toEqual({
      kind: 'limit',
      message: 'script is 1039 bytes, over the limit of 1000 bytes',
    });
    const euros = js(`module.exports.uplink = () => ({}); // ${'€'.repeat(330)}`);
    expect(r.check(euros)).toEqual({ kind: 'limit', message: 'script is 1029 bytes, over the limit of 1000 bytes' });
    expect(r.check(js(`module.exports.uplink = () => ({}); // ${'€'.repeat(300)}`))).toBeNull();
    expect(r.stats().isolates).toBe(0);
  });

  it('runs a script just under the default 256 KiB limit', async () => {
    const padding = `// ${'x'.repeat(256 * 1024 - 100)}\n`;
    const spec = js(`${padding}module.exports.uplink = () => ({ big: true });`);
    expect(Buffer.byteLength(spec.script)).toBeLessThan(256 * 1024);
    expect((await runtime.runUplink('big-script', spec, uplink('01'))).output).toEqual({ big: true });
  });

  it('validates options', () => {
    expect(() => new FormatterRuntime({ maxApps: 0 })).toThrow('RuntimeOptions.maxApps must be a positive integer');
    expect(() => new FormatterRuntime({ appsPerIsolate: 1.5 })).toThrow('RuntimeOptions.appsPerIsolate must be a positive integer');
    expect(() => new FormatterRuntime({ memoryLimitMb: 4 })).toThrow('RuntimeOptions.memoryLimitMb must be at least 8');
    expect(() => new FormatterRuntime({ memoryLimitMb: 8, maxScriptBytes: 2 * 1024 * 1024 })).toThrow(
      'RuntimeOptions.maxScriptBytes must stay below 1/8 of memoryLimitMb',
    );
  });

  it('reports a caller payload that is not JSON as a contract error', async () => {
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    const report = await runtime.runDownlink('not-json', js('module.exports.downlink = (p) => p;'), { payload: cyclic });
    expect(report.error?.kind).toBe('contract');
    expect(report.error?.message).toMatch(/^input is not JSON: Converting circular structure to JSON/);
  });

  it('rejects outputs over maxOutputChars', async () => {
    const r = newRuntime({ maxOutputChars: 1000 });
    const report = await r.runUplink('a', js('module.exports.uplink = () => ({ list: new Array(600).fill(1) });'), uplink('01'));
    expect(report.error).toEqual({ kind: 'limit', message: 'output is larger than 1000 characters' });
  });
});

describe('error positions', () => {
  it('reports syntax errors at the line and column of the script', async () => {
    const report = await runtime.runUplink(
      'positions',
      js('module.exports.uplink = function (payload) {\n  const x = {;\n  return x;\n};'),
      uplink('01'),
    );
    expect(report.error).toEqual({ kind: 'syntax', message: "SyntaxError: Unexpected token ';'", line: 2, column: 14 });
  });

  it('reports runtime errors at the top user frame', async () => {
    const script = 'function helper(b) {\n  return b.missing.field;\n}\nfunction decodeUplink(input) {\n  return { data: { v: helper(input) } };\n}';
    const report = await runtime.runUplink('positions', js(script), uplink('01'));
    expect(report.error).toEqual({
      kind: 'runtime',
      message: "TypeError: Cannot read properties of undefined (reading 'field')",
      line: 2,
      column: 20,
    });
  });

  it('reports errors thrown by the script and at top level', async () => {
    const thrown = js('\n\nmodule.exports.uplink = function () {\n    throw new RangeError("bad reading");\n};');
    expect((await runtime.runUplink('positions', thrown, uplink('01'))).error).toEqual({
      kind: 'runtime',
      message: 'RangeError: bad reading',
      line: 4,
      column: 11,
    });
    const topLevel = js('var a = 1;\nvar b = a.c.d;');
    expect((await runtime.runUplink('positions', topLevel, uplink('01'))).error).toEqual({
      kind: 'runtime',
      message: "TypeError: Cannot read properties of undefined (reading 'd')",
      line: 2,
      column: 13,
    });
  });

  it('reports thrown non-errors without a position', async () => {
    const report = await runtime.runUplink('positions', js('module.exports.uplink = function () { throw "oops"; };'), uplink('01'));
    expect(report.error).toEqual({ kind: 'runtime', message: 'Uncaught "oops"' });
  });
});

describe('check()', () => {
  it('accepts scripts with an entry point and built-in types', () => {
    expect(runtime.check(counter)).toBeNull();
    expect(runtime.check(js('function Encoder(o, p) { return []; }'))).toBeNull();
    expect(runtime.check({ type: 'cayennelpp', script: '}{', timeoutMs: 100 })).toBeNull();
  });

  it('reports syntax, top-level runtime errors and timeouts', () => {
    expect(runtime.check(js('function decodeUplink(input) {\n  return input.bytes[0] +;\n}'))).toEqual({
      kind: 'syntax',
      message: "SyntaxError: Unexpected token ';'",
      line: 2,
      column: 26,
    });
    expect(runtime.check(js('\nundefinedFunction();'))).toEqual({
      kind: 'runtime',
      message: 'ReferenceError: undefinedFunction is not defined',
      line: 2,
      column: 1,
    });
    expect(runtime.check(js('while (true) {}', 20))).toEqual({ kind: 'timeout', message: 'formatter exceeded the time limit of 20 ms' });
  });

  it('reports a contract error when no entry point is defined', () => {
    expect(runtime.check(js('function decode(bytes) { return {}; }\nmodule.exports.decode = decode;'))).toEqual({
      kind: 'contract',
      message:
        'script defines no formatter: set module.exports.uplink / module.exports.downlink (Thinger style) ' +
        'or define decodeUplink, encodeDownlink, decodeDownlink, Decoder or Encoder (TTS style)',
    });
  });

  it('does not keep application isolates or scripts', () => {
    const r = newRuntime({});
    expect(r.check(counter)).toBeNull();
    expect(r.stats()).toMatchObject({ apps: 0, isolates: 0, scripts: 0 });
  });
});

describe('console', () => {
  it('captures levels and formats values like Node', async () => {
    const report = await runtime.runUplink(
      'console',
      js(
        'module.exports.uplink = function (payload) {\n' +
          '  console.log("payload", payload, 42, null, undefined, true);\n' +
          '  console.info({ a: 1, b: [1, "two"], c: { d: { e: { f: { g: 1 } } } } });\n' +
          '  console.warn(Buffer.from([1, 171]), new Date(0), function named() {});\n' +
          '  console.error(new Error("boom").message, { get secret() { throw new Error("not called"); } });\n' +
          '  console.debug(Symbol("s"), 10n, -0, NaN);\n' +
          '  return {};\n' +
          '};',
      ),
      uplink('01 02'),
    );
    expect(report.logs).toEqual([
      { level: 'log', message: 'payload AQI= 42 null undefined true' },
      { level: 'info', message: '{ a: 1, b: [ 1, "two" ], c: { d: { e: { f: [Object] } } } }' },
      { level: 'warn', message: '<Buffer 01 ab> 1970-01-01T00:00:00.000Z [Function: named]' },
      { level: 'error', message: 'boom { secret: [Getter/Setter] }' },
      { level: 'log', message: 'Symbol(s) 10n -0 NaN' },
    ]);
  });

  it('bounds the number and size of entries', async () => {
    const r = newRuntime({ maxLogEntries: 3, maxLogChars: 20 });
    const report = await r.runUplink(
      'a',
      js('module.exports.uplink = function () { for (var i = 0; i < 6; i++) console.log(i + " " + "y".repeat(100)); return {}; };'),
      uplink('01'),
    );
    expect(report.logs).toEqual([
      { level: 'log', message: `0 ${'y'.repeat(17)}…` },
      { level: 'log', message: `1 ${'y'.repeat(17)}…` },
      { level: 'warn', message: '… 4 more log entries dropped (limit 3)' },
    ]);
  });

  it('returns logs with errors and starts each call with an empty buffer', async () => {
    const script = js('var calls = 0;\nmodule.exports.uplink = function () { console.log("call " + ++calls); if (calls === 1) throw new Error("first"); return {}; };');
    const first = await runtime.runUplink('console-reset', script, uplink('01'));
    expect(first).toMatchObject({ ok: false, logs: [{ level: 'log', message: 'call 1' }] });
    const second = await runtime.runUplink('console-reset', script, uplink('01'));
    expect(second).toMatchObject({ ok: true, logs: [{ level: 'log', message: 'call 2' }] });
  });
});

describe('globals', () => {
  it('offers nothing from the host', async () => {
    const names = [
      'setTimeout', 'setInterval', 'setImmediate', 'clearTimeout', 'queueMicrotask', 'process', 'require', 'global',
      'fetch', 'XMLHttpRequest', 'WebSocket', 'SharedArrayBuffer', 'Atomics', 'WebAssembly', '__dirname', 'importScripts',
    ];
    const output = await evaluate(`return { list: ${JSON.stringify(names)}.map(function (n) { return n + ':' + typeof globalThis[n]; }) };`);
    expect(output).toEqual({ list: names.map((n) => `${n}:undefined`) });
    expect(await evaluate('return { module: typeof module, exports: typeof exports, Buffer: typeof Buffer, atob: typeof atob, btoa: typeof btoa, TextEncoder: typeof TextEncoder, TextDecoder: typeof TextDecoder };')).toEqual({
      module: 'object',
      exports: 'object',
      Buffer: 'function',
      atob: 'function',
      btoa: 'function',
      TextEncoder: 'function',
      TextDecoder: 'function',
    });
  });

  it('provides Node Buffer behaviour', async () => {
    const output = await evaluate(
      'const b = Buffer.from("fe01000a41c80000", "hex");\n' +
        'const back = Buffer.from(Buffer.from([0, 255, 128, 7]).toString("base64"), "base64");\n' +
        'return {\n' +
        '  int16le: b.readInt16LE(0), uint16be: b.readUInt16BE(0), uint32be: b.readUInt32BE(0), int8: b.readInt8(0),\n' +
        '  float: b.readFloatBE(4), hex: b.subarray(0, 3).toString("hex"), b64: b.toString("base64"),\n' +
        '  roundTrip: Array.from(back), isBuffer: Buffer.isBuffer(back), concat: Buffer.concat([Buffer.from("ab"), Buffer.from("c")]).toString(),\n' +
        '  utf8: Buffer.from("héllo €").length, payload: Buffer.from(payload, "base64").readUInt8(0),\n' +
        '  written: (function () { const w = Buffer.alloc(4); w.writeUInt32LE(0xdeadbeef, 0); return w.toString("hex"); })()\n' +
        '};',
    );
    expect(output).toEqual({
      int16le: 510,
      uint16be: 65025,
      uint32be: 4261478410,
      int8: -2,
      float: 25,
      hex: 'fe0100',
      b64: '/gEACkHIAAA=',
      roundTrip: [0, 255, 128, 7],
      isBuffer: true,
      concat: 'abc',
      utf8: 10,
      payload: 1,
      written: 'efbeadde',
    });
  });

  it('provides atob and btoa', async () => {
    const output = await evaluate(
      'function fails(f) { try { f(); return "no"; } catch (e) { return e.name; } }\n' +
        'return { b: btoa("hello"), bin: btoa(String.fromCharCode(255, 0)), a: atob("aGVsbG8="), spaced: atob(" aGVs bG8\\n"),\n' +
        '  unpadded: atob("aGVsbG8"), bad: fails(function () { atob("a"); }), wide: fails(function () { btoa("€"); }),\n' +
        '  alphabet: fails(function () { atob("aGV*"); }) };',
    );
    expect(output).toEqual({
      b: 'aGVsbG8=',
      bin: '/wA=',
      a: 'hello',
      spaced: 'hello',
      unpadded: 'hello',
      bad: 'InvalidCharacterError',
      wide: 'InvalidCharacterError',
      alphabet: 'InvalidCharacterError',
    });
  });

  it('provides UTF-8 TextEncoder and TextDecoder', async () => {
    const output = await evaluate(
      'const bytes = new TextEncoder().encode("hé€😀");\n' +
        'const d = new TextDecoder();\n' +
        'let fatal; try { new TextDecoder("utf-8", { fatal: true }).decode(new Uint8Array([0xc3])); } catch (e) { fatal = e.name; }\n' +
        'let label; try { new TextDecoder("latin1"); } catch (e) { label = e.name; }\n' +
        'return { bytes: Array.from(bytes), text: d.decode(bytes), bom: d.decode(new Uint8Array([0xef, 0xbb, 0xbf, 0x41])),\n' +
        '  invalid: d.decode(new Uint8Array([0x41, 0xff, 0xe2, 0x82, 0x42])), fatal, label, encoding: d.encoding };',
    );
    expect(output).toEqual({
      bytes: [0x68, 0xc3, 0xa9, 0xe2, 0x82, 0xac, 0xf0, 0x9f, 0x98, 0x80],
      text: 'hé€😀',
      bom: 'A',
      invalid: 'A\uFFFD\uFFFDB',
      fatal: 'TypeError',
      label: 'RangeError',
      encoding: 'utf-8',
    });
  });
});

describe('output conversion', () => {
  it.each([
    ['{ f: function () {} }', 'output.f is a function, which is not JSON'],
    ['{ s: Symbol("x") }', 'output.s is a symbol, which is not JSON'],
    ['{ n: 10n }', 'output.n is a bigint, which is not JSON'],
    ['(function () { const o = { a: {} }; o.a.self = o; return o; })()', 'output.a.self is a circular reference'],
    ['JSON.parse(\'{"__proto__": {"polluted": 1}}\')', 'output.__proto__ is a "__proto__" key, which is not allowed'],
    ['(function () { let o = {}; const root = o; for (let i = 0; i < 150; i++) { o.c = {}; o = o.c; } return root; })()', 'is nested deeper than 100 levels'],
    ['{ get bad() { throw new Error("getter"); } }', 'output could not be converted to JSON: Error: getter'],
  ])('rejects %s', async (value, message) => {
    const output = await evaluate(`return ${value};`);
    expect(output).toMatchObject({ ok: false, error: { kind: 'contract', message: expect.stringContaining(message) as string } });
  });

  it('keeps JSON semantics: toJSON, Dates, undefined properties dropped, undefined array items as null', async () => {
    const output = await evaluate('return { when: new Date(0), custom: { toJSON: function () { return "c"; } }, gone: undefined, list: [1, undefined], typed: new Int8Array([-1, 2]) };');
    expect(output).toEqual({ when: '1970-01-01T00:00:00.000Z', custom: 'c', list: [1, null], typed: [-1, 2] });
  });

  it('rejects promises and async functions before running, pointing at the first use', async () => {
    const asyncFn = await runtime.runUplink('promise', js('var x = 1;\nmodule.exports.uplink = async function () { return {}; };'), uplink('01'));
    expect(asyncFn.error).toEqual({ kind: 'contract', message: ASYNC_FEATURE_MESSAGE, line: 2, column: 25 });
    const never = js('function decodeUplink() {\n  return new Promise(function () {});\n}');
    expect((await runtime.runUplink('promise', never, uplink('01'))).error).toEqual({
      kind: 'contract',
      message: ASYNC_FEATURE_MESSAGE,
      line: 2,
      column: 14,
    });
    expect(runtime.check(never)).toEqual({ kind: 'contract', message: ASYNC_FEATURE_MESSAGE, line: 2, column: 14 });
  });

  it('allows the words async, import and Promise where they create no promise', async () => {
    const spec = js(
      '// import this codec into TTS; it is not async and returns no Promise\n' +
        'var settings = { async: false, import: "csv", label: "Promise" };\n' +
        'var async = settings.async;\n' +
        'function decodeUplink(input) { return { data: { async: async, import: settings.import, label: settings.label, re: /async|import/.source } }; }',
    );
    expect((await runtime.runUplink('words', spec, uplink('01'))).output).toEqual({
      async: false,
      import: 'csv',
      label: 'Promise',
      re: 'async|import',
    });
  });
});
