/**
 * Pinned rules of FormatterRuntime's limits: what a formatter may hold, how long it may load, how
 * large it may be, and who pays when an isolate runs out of memory. Each was found by a mutant of
 * sandbox/ that no other suite noticed. The isolates here have 16 MB; formatters hold 1 MB arrays.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { FormatterRuntime, type RuntimeHooks, type RuntimeOptions } from '../../sandbox/runtime.js';
import { js, uplink } from './helpers.js';

const runtimes: FormatterRuntime[] = [];
afterAll(() => runtimes.forEach((r) => r.dispose()));

/** A runtime with 16 MB isolates, and what its hooks reported. */
function limited(options: RuntimeOptions = {}) {
  const isolated: { app: string; why: string }[] = [];
  let retries = 0;
  const hooks: RuntimeHooks = { isolated: (app, why) => isolated.push({ app, why }), retrying: () => retries++ };
  const runtime = new FormatterRuntime({ memoryLimitMb: 16, ...options }, hooks);
  runtimes.push(runtime);
  return { runtime, isolated, retries: () => retries };
}

/** Top-level code that keeps `mb` MB (arrays of 131,072 doubles) in the global `kept`. */
const keeps = (mb: number) => `globalThis.kept = []; for (let i = 0; i < ${mb}; i++) kept.push(new Array(131072).fill(i + 0.5));\n`;
const hog = js('module.exports.uplink = function () { console.log("allocating"); const a = []; for (;;) a.push(new Array(100000).fill(a.length)); };', 5000);
const counter = js('var n = 0;\nmodule.exports.uplink = function () { n++; return { n: n }; };');
const exhausted = { kind: 'memory', message: 'formatter exceeded the memory limit of 16 MB; its sandbox was reset' };

describe('releasing what scripts held', () => {
  it('releases each script check() loads, so checks never fill the checker\'s isolate', () => {
    const { runtime } = limited();
    const big = js(`${keeps(4)}module.exports.uplink = () => ({ n: kept.length });`, 2000);
    for (let i = 0; i < 8; i++) expect(runtime.check(big), `check ${i + 1}`).toBeNull();
  });

  it('releases the context of a top level that timed out, so retries never fill the isolate', async () => {
    const { runtime } = limited({ appsPerIsolate: 1 });
    const spec = js(`${keeps(4)}for (;;) {}`, 150);
    for (let i = 0; i < 8; i++) {
      expect((await runtime.runUplink('app', spec, uplink('01'))).error?.kind, `call ${i + 1}`).toBe('timeout');
    }
  });

  it('releases a script version pushed out by newer ones, so edits never fill the isolate', async () => {
    const { runtime } = limited({ appsPerIsolate: 1, maxScriptsPerApp: 1 });
    for (let v = 0; v < 8; v++) {
      const version = js(`${keeps(4)}module.exports.uplink = () => ({ v: ${v} });`, 2000);
      expect((await runtime.runUplink('app', version, uplink('01'))).output, `version ${v}`).toEqual({ v });
    }
  });

  it('pushes out a version that failed to load like any other', async () => {
    const { runtime } = limited({ maxScriptsPerApp: 1 });
    expect((await runtime.runUplink('app', js('module.exports.uplink = () => ({);'), uplink('01'))).error?.kind).toBe('syntax');
    expect((await runtime.runUplink('app', counter, uplink('01'))).output).toEqual({ n: 1 });
  });
});

describe('who pays for an isolate that ran out of memory', () => {
  it('reports a call that exhausted an isolate of its own without logs and without a retry, and keeps the application alone once', async () => {
    const { runtime, isolated, retries } = limited({ appsPerIsolate: 1 });
    for (let i = 0; i < 2; i++) {
      // The logs went with the isolate.
      expect(await runtime.runUplink('hog', hog, uplink('01'))).toMatchObject({ ok: false, error: exhausted, logs: [] });
    }
    expect(retries()).toBe(0);
    expect(isolated).toEqual([{ app: 'hog', why: 'it exhausted the 16 MB of an isolate of its own' }]);
  });

  it('keeps alone an application that was in two shared isolates that ran out of memory', async () => {
    const { runtime, isolated } = limited();
    await runtime.runUplink('tenant', counter, uplink('01'));
    expect((await runtime.runUplink('hog-1', hog, uplink('01'))).error?.kind).toBe('memory');
    // The tenant, on probation alone, is measured over five calls and goes back to sharing.
    for (let n = 1; n <= 5; n++) expect((await runtime.runUplink('tenant', counter, uplink('01'))).output).toEqual({ n });
    expect((await runtime.runUplink('tenant', counter, uplink('01'))).output).toEqual({ n: 1 });
    expect((await runtime.runUplink('hog-2', hog, uplink('01'))).error?.kind).toBe('memory');
    expect(isolated).toEqual([
      { app: 'hog-1', why: 'it exhausted the 16 MB of an isolate of its own' },
      { app: 'tenant', why: 'it was in 2 shared isolates that ran out of memory' },
      { app: 'hog-2', why: 'it exhausted the 16 MB of an isolate of its own' },
    ]);
  });

  it('says how much a tenant held when it keeps it alone, in MB of its isolate', async () => {
    const { runtime, isolated, retries } = limited();
    const holder = js(`${keeps(11)}module.exports.uplink = () => ({ n: kept.length });`, 2000);
    const spiker = js('module.exports.uplink = function () { const t = []; for (let i = 0; i < 9; i++) t.push(new Array(131072).fill(i + 0.5)); return { n: t.length }; };', 2000);
    expect((await runtime.runUplink('holder', holder, uplink('01'))).output).toEqual({ n: 11 });
    // Too much with the holder's: the spiker's call runs again alone, and both are measured.
    expect((await runtime.runUplink('spiker', spiker, uplink('01'))).output).toEqual({ n: 9 });
    expect(retries()).toBe(1);
    expect((await runtime.runUplink('holder', holder, uplink('01'))).output).toEqual({ n: 11 });
    expect(isolated.map((i) => i.app)).toEqual(['holder']);
    const [, held] = /^it held (\d+\.\d) MB, over its 1\.0 MB share of a shared isolate$/.exec(isolated[0].why) ?? [];
    expect(Number(held)).toBeGreaterThan(10);
    expect(Number(held)).toBeLessThan(16);
  });

  it('takes an unloaded application out of its isolate: it does not pay when that isolate runs out of memory later', async () => {
    const { runtime } = limited({ maxApps: 2 });
    for (const app of ['left-1', 'left-2', 'stays']) await runtime.runUplink(app, counter, uplink('01'));
    // 'stays' unloaded 'left-1'; the hog unloads 'left-2', then takes the isolate down.
    expect((await runtime.runUplink('hog', hog, uplink('01'))).error?.kind).toBe('memory');
    // No tenants of the isolate that died, they are not on probation alone: they share a new isolate.
    for (const app of ['left-1', 'left-2']) expect((await runtime.runUplink(app, counter, uplink('01'))).output).toEqual({ n: 1 });
    expect(runtime.stats()).toMatchObject({ apps: 2, isolates: 1 });
  });

  it('gives an application whose isolate died its own place back, unloading no other application', async () => {
    const { runtime } = limited({ maxApps: 2 });
    await runtime.runUplink('neighbour', counter, uplink('01'));
    // The hog takes the neighbour's shared isolate down with it, and leaves the runtime.
    expect((await runtime.runUplink('hog', hog, uplink('01'))).error?.kind).toBe('memory');
    expect((await runtime.runUplink('other', counter, uplink('01'))).output).toEqual({ n: 1 });
    expect((await runtime.runUplink('neighbour', counter, uplink('01'))).output).toEqual({ n: 1 });
    expect((await runtime.runUplink('other', counter, uplink('01'))).output).toEqual({ n: 2 });
  });

  it('unloads an application that exhausted an isolate of its own at once, unloading no other application', async () => {
    const { runtime } = limited({ maxApps: 2, appsPerIsolate: 1 });
    expect((await runtime.runUplink('steady', counter, uplink('01'))).output).toEqual({ n: 1 });
    expect((await runtime.runUplink('hog', hog, uplink('01'))).error?.kind).toBe('memory');
    expect((await runtime.runUplink('other', counter, uplink('01'))).output).toEqual({ n: 1 });
    expect((await runtime.runUplink('steady', counter, uplink('01'))).output).toEqual({ n: 2 });
  });

  it('never retries a call that failed before it ran (no entry point, input not JSON), and returns no logs for it', async () => {
    const { runtime, retries } = limited();
    const downlinkOnly = js('console.log("top level");\nmodule.exports.downlink = (payload) => payload;');
    expect(await runtime.runUplink('app', downlinkOnly, uplink('01'))).toMatchObject({
      ok: false,
      error: { kind: 'contract', message: 'script defines no uplink function (module.exports.uplink, decodeUplink or Decoder)' },
      logs: [],
    });
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect(await runtime.runDownlink('app', downlinkOnly, { payload: cyclic })).toMatchObject({ ok: false, error: { kind: 'contract' }, logs: [] });
    expect(retries()).toBe(0);
  });
});

describe('the isolates\' memory', () => {
  it('reports the heap and the memory held outside it (array buffers)', async () => {
    const { runtime } = limited();
    await runtime.runUplink('buffers', js('globalThis.kept = new ArrayBuffer(2 * 1024 * 1024);\nmodule.exports.uplink = () => ({ n: kept.byteLength });'), uplink('01'));
    const stats = runtime.stats();
    expect(stats.heapBytes).toBeGreaterThan(0);
    expect(stats.externalBytes).toBeGreaterThanOrEqual(2 * 1024 * 1024);
    expect(stats.externalBytes).toBeLessThan(16 * 1024 * 1024);
  });
});

describe('script size', () => {
  it('accepts a script of exactly maxScriptBytes, counted in UTF-8', () => {
    const { runtime } = limited({ maxScriptBytes: 1000 });
    const head = 'module.exports.uplink = () => ({}); // ';
    expect(runtime.check(js(head + 'x'.repeat(1000 - head.length)))).toBeNull();
    expect(runtime.check(js(head + 'x'.repeat(1001 - head.length)))).toEqual({ kind: 'limit', message: 'script is 1001 bytes, over the limit of 1000 bytes' });
  });
});

describe('time limits and options', () => {
  const endless = 'module.exports.uplink = function () { for (;;) {} };';

  it('rounds a fractional time limit up, and takes the default for one that is not a positive number', async () => {
    const { runtime } = limited({ defaultTimeoutMs: 20, maxTimeoutMs: 60 });
    const limitOf = async (timeoutMs: number) => (await runtime.runUplink('app', js(endless, timeoutMs), uplink('01'))).error?.message;
    expect(await limitOf(30.2)).toBe('formatter exceeded the time limit of 31 ms');
    for (const timeoutMs of [Infinity, -5, NaN]) expect(await limitOf(timeoutMs), String(timeoutMs)).toBe('formatter exceeded the time limit of 20 ms');
  });

  it('takes maxScriptBytes up to 1/8 of the heap limit less 4 KiB, and any positive integer for the others', () => {
    expect(() => new FormatterRuntime({ memoryLimitMb: 8, maxScriptBytes: 1024 * 1024 - 4096 })).not.toThrow();
    expect(() => new FormatterRuntime({ memoryLimitMb: 8, maxScriptBytes: 1024 * 1024 - 4095 })).toThrow(
      'RuntimeOptions.maxScriptBytes must stay below 1/8 of memoryLimitMb',
    );
    expect(() => new FormatterRuntime({ maxLogEntries: 1, maxScriptsPerApp: 1 })).not.toThrow();
    expect(() => new FormatterRuntime({ maxLogChars: 0 })).toThrow('RuntimeOptions.maxLogChars must be a positive integer');
  });
});
