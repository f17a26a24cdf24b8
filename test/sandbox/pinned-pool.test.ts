/**
 * FormatterPool and its SupervisedProcess, pinned: the options and their defaults, where calls go
 * and what they carry, what the stats and usage count, how it closes, when the scratch process
 * ends, and what it does with a process that misbehaves (a stand-in speaking the wire protocol:
 * one that loses scripts, answers oddly, exits, floods its pipe or cannot start).
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import type { FormatterSpec, RunReport } from '../../formatters/contract.js';
import { FormatterPool, type PoolEvent, type PoolOptions } from '../../sandbox/formatter-pool.js';
import { processUsage } from '../../sandbox/process-usage.js';
import { eventually } from '../helpers/eventually.js';
import { FORMATTER_PROCESS } from '../helpers/formatter-process-entry.js';
import { hex, js, uplink } from './helpers.js';

// Pass-throughs, so a test can set the core count and see which program a process runs.
vi.mock('node:os', async (importOriginal) => {
  const os = await importOriginal<typeof import('node:os')>();
  return { ...os, availableParallelism: vi.fn(os.availableParallelism) };
});
vi.mock('node:child_process', async (importOriginal) => {
  const cp = await importOriginal<typeof import('node:child_process')>();
  return { ...cp, spawn: vi.fn(cp.spawn) };
});

const ECHO = js('module.exports.uplink = function (payload) { return { payload: payload }; };');
const COUNTER = js('var n = 0;\nmodule.exports.uplink = function () { n++; return { n: n }; };');
const busy = (ms: number) => js(`module.exports.uplink = function () { const end = Date.now() + ${ms}; while (Date.now() < end) {} return { slept: ${ms} }; };`, ms + 2000);
/** Each report's output, or its error. */
const okOutputs = (reports: RunReport<unknown>[]) => reports.map((r) => (r.ok ? r.output : r.error));
const stopping = { ok: false, error: { kind: 'runtime', message: 'the plugin is stopping' }, logs: [], warnings: [], durationMs: 0 };

/** Settles within `ms` or fails: a pool that loops would otherwise hang the test. */
async function within<T>(promise: Promise<T>, ms = 8000): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`not settled within ${ms} ms`)), ms)));
  try {
    return await Promise.race([promise, late]);
  } finally {
    clearTimeout(timer);
  }
}

/** Process ids of this process's children: the formatter processes of the pools still open. */
function childPids(): number[] {
  const ps = spawnSync('ps', ['-o', 'pid=', '--ppid', String(process.pid)], { encoding: 'utf8' });
  return ps.stdout
    .split('\n')
    .map(Number)
    .filter((pid) => pid > 0 && pid !== ps.pid)
    .sort((a, b) => a - b);
}

/**
 * The child processes started from now on: a worker that ran other suites before (a mutation run's)
 * may still have their processes, on their way out.
 */
function newChildPids(): () => number[] {
  const before = childPids();
  return () => childPids().filter((pid) => !before.includes(pid));
}

let pools: FormatterPool[] = [];
let events: PoolEvent[] = [];
function open(options: PoolOptions = {}): FormatterPool {
  const pool = new FormatterPool({ processes: 1, entry: FORMATTER_PROCESS, ...options });
  pool.listen((event) => events.push(event));
  pools.push(pool);
  return pool;
}
afterEach(async () => {
  vi.useRealTimers();
  await Promise.all(pools.map((p) => p.close()));
  pools = [];
  events = [];
});

describe('FormatterPool options', () => {
  it('refuses a process count that is not a positive integer', () => {
    for (const processes of [0, -1, 1.5, Number.NaN]) {
      expect(() => new FormatterPool({ processes, entry: FORMATTER_PROCESS })).toThrow(new RangeError('PoolOptions.processes must be a positive integer'));
    }
    expect(new FormatterPool({ processes: 1, entry: FORMATTER_PROCESS }).stats().processes).toBe(1);
  });

  it("runs one process per core but the plugin's own by default: at least one, at most eight", () => {
    const chosen = [1, 2, 4, 9, 16].map((cores) => {
      vi.mocked(availableParallelism).mockReturnValueOnce(cores);
      return new FormatterPool({ entry: FORMATTER_PROCESS }).stats().processes;
    });
    expect(chosen).toEqual([1, 1, 3, 8, 8]);
  });

  it("starts formatter-process.js beside its own module unless given another entry", async () => {
    const pool = open({ entry: undefined, spare: false });
    pool.start();
    const started = vi.mocked(spawn).mock.lastCall;
    expect(started?.[0]).toBe(process.execPath);
    // The entry, then the runtime options.
    expect(started?.[1]?.at(-2)).toBe(fileURLToPath(new URL('../../sandbox/formatter-process.js', import.meta.url)));
    await pool.close();
  });

  it('starts no process before the first call or start()', () => {
    const pool = open({ processes: 2 });
    expect(pool.pids()).toEqual([]);
    expect(pool.stats()).toMatchObject({ processes: 2, running: 0, starts: 0, spare: false });
    expect(pool.usage()).toEqual({ rssBytes: 0, peakRssKb: 0, cpuUs: 0 });
  });

  it('resuming an application that is not suspended is false and tells no listener', () => {
    const pool = open();
    expect(pool.resume('never-suspended')).toBe(false);
    expect(events).toEqual([]);
  });
});

describe('FormatterPool with formatter processes', () => {
  it('keeps a booted spare process by default, none when told not to', async () => {
    const withSpare = open();
    withSpare.start();
    // Booting takes a while: no spare is ready yet.
    expect(withSpare.stats().spare).toBe(false);
    await eventually(async () => withSpare.stats().spare, 'the spare to boot');
    expect(withSpare.stats()).toMatchObject({ running: 1, starts: 2, spare: true });
    const without = open({ spare: false });
    without.start();
    expect((await without.runUplink('app', ECHO, uplink('01'))).ok).toBe(true);
    expect(without.stats()).toMatchObject({ running: 1, starts: 1, spare: false });
  });

  it('spreads applications over its processes, each always to the same one: a process that dies costs only its own applications their state', async () => {
    const pool = open({ processes: 2, spare: false });
    const apps = Array.from({ length: 12 }, (_, i) => `app-${i}`);
    const counts = async () => okOutputs(await Promise.all(apps.map((app) => pool.runUplink(app, COUNTER, uplink('01'))))).map((o) => (o as { n: number }).n);
    expect(await counts()).toEqual(apps.map(() => 1));
    expect(await counts()).toEqual(apps.map(() => 2));
    const pids = pool.pids();
    expect(pids).toHaveLength(2);
    process.kill(pids[0], 'SIGKILL');
    await eventually(async () => events.some((e) => e.type === 'crashed'), 'the pool to see its process die');
    expect(events).toEqual([{ type: 'crashed', pid: pids[0], signal: 'SIGKILL', code: null }]);
    const after = await counts();
    const restarted = after.filter((n) => n === 1).length;
    const kept = after.filter((n) => n === 3).length;
    expect(restarted + kept).toBe(apps.length);
    expect(restarted).toBeGreaterThan(0);
    expect(kept).toBeGreaterThan(0);
    // One process started in its place, and no spare.
    expect(pool.stats()).toMatchObject({ running: 2, starts: 3, spare: false, crashes: 1, restarts: 1, resent: 0 });
  });

  it('replaces a process that could not even be spawned; it has no pid to list meanwhile', async () => {
    const pool = open({ spare: false });
    const { spawn: realSpawn } = await vi.importActual<typeof import('node:child_process')>('node:child_process');
    vi.mocked(spawn).mockImplementationOnce(((_command: string, args: string[], options: object) => realSpawn('/nonexistent/node', args, options)) as typeof spawn);
    pool.start();
    expect(pool.pids()).toEqual([]);
    await eventually(async () => pool.pids().length === 1, 'the process to be replaced');
    expect(events).toEqual([{ type: 'crashed', pid: undefined, signal: null, code: -2 }]);
    expect((await pool.runUplink('app', ECHO, uplink('01'))).ok).toBe(true);
    expect(pool.stats()).toMatchObject({ running: 1, starts: 2, crashes: 1, restarts: 1 });
  });

  it('counts and measures the production processes only: the scratch process of drafts is none of them', async () => {
    const pool = open({ processes: 2, spare: false });
    pool.start();
    const apps = ['a', 'b', 'c', 'd'];
    expect((await Promise.all(apps.map((app) => pool.runUplink(app, ECHO, uplink('01'))))).every((r) => r.ok)).toBe(true);
    expect((await pool.runUplink('draft', ECHO, uplink('01'), 'test')).ok).toBe(true);
    expect(pool.stats()).toMatchObject({ processes: 2, running: 2, starts: 3 });
    expect(pool.pids()).toHaveLength(2);
    const stats = await pool.runtimeStats();
    expect(stats).toMatchObject({ apps: 4, scripts: 4 });
    expect(stats.heapBytes).toBeGreaterThan(0);
  });

  it('asks only the processes started for the runtime stats', async () => {
    const pool = open({ processes: 2, spare: false });
    expect((await pool.runUplink('only', ECHO, uplink('01'))).ok).toBe(true);
    expect(pool.pids()).toHaveLength(1);
    expect(await within(pool.runtimeStats())).toMatchObject({ apps: 1, scripts: 1 });
  });

  it('sums the memory and CPU of all its processes, the spare included', async () => {
    const started = newChildPids();
    const pool = open();
    pool.start();
    await eventually(async () => pool.stats().spare, 'the spare to boot');
    await pool.runUplink('app', ECHO, uplink('01'));
    const children = started();
    expect(children).toHaveLength(2);
    const measure = () => children.map((pid) => processUsage(pid) ?? { rssBytes: NaN, peakRssKb: NaN, cpuUs: NaN });
    const sum = (list: ReturnType<typeof measure>, key: 'rssBytes' | 'peakRssKb' | 'cpuUs') => list.reduce((total, u) => total + u[key], 0);
    const before = measure();
    const usage = pool.usage();
    const after = measure();
    // Each formatter process holds tens of MB at least.
    expect(usage.rssBytes).toBeGreaterThan(2 * 10 * 1024 * 1024);
    expect(usage.rssBytes).toBeGreaterThanOrEqual(0.9 * Math.min(sum(before, 'rssBytes'), sum(after, 'rssBytes')));
    expect(usage.rssBytes).toBeLessThanOrEqual(1.1 * Math.max(sum(before, 'rssBytes'), sum(after, 'rssBytes')));
    expect(usage.peakRssKb).toBeGreaterThanOrEqual(sum(before, 'peakRssKb'));
    expect(usage.peakRssKb).toBeLessThanOrEqual(sum(after, 'peakRssKb'));
    expect(usage.cpuUs).toBeGreaterThan(0);
    expect(usage.cpuUs).toBeGreaterThanOrEqual(sum(before, 'cpuUs'));
    expect(usage.cpuUs).toBeLessThanOrEqual(sum(after, 'cpuUs'));
  });

  it('passes a script that reads the webhook body its JSON text when the caller has it, else the body itself', async () => {
    const pool = open();
    const reads = js('module.exports.uplink = function (payload, message) { return { message: message }; };');
    const body = { from: 'object' };
    expect((await pool.runUplink('app', reads, uplink('01', 1, { message: body }))).output).toEqual({ message: body });
    expect((await pool.runUplink('app', reads, uplink('01', 1, { message: body, messageJson: '{"from":"text"}' }))).output).toEqual({ message: { from: 'text' } });
  });

  it('runs downlinks in a formatter process with their payload (null when there is none), fPort and device', async () => {
    const pool = open();
    const downlink = js('module.exports.downlink = function (payload, device) { return { payload: payload, device: device === undefined ? "none" : device }; };');
    expect(await pool.runDownlink('app', downlink, { payload: { on: true }, fPort: 9, device: { id: 'dev-1' } })).toMatchObject({
      ok: true,
      output: { fPort: 9, decodedPayload: { payload: { on: true }, device: { id: 'dev-1' } } },
    });
    expect((await pool.runDownlink('app', downlink, { payload: undefined })).output).toEqual({ decodedPayload: { payload: null, device: 'none' } });
    const decode = js('function decodeDownlink(input) { return { data: { bytes: input.bytes, fPort: input.fPort } }; }');
    expect(await pool.runDecodeDownlink('app', decode, { bytes: hex('0a0b'), fPort: 4 })).toMatchObject({ ok: true, output: { bytes: [10, 11], fPort: 4 } });
    expect(pool.stats().starts).toBeGreaterThan(0);
  });

  it('runs the built-in formatters in the plugin itself, downlinks too: no process starts for them', async () => {
    const pool = open();
    const none: FormatterSpec = { type: 'none', script: 'not javascript', timeoutMs: 100 };
    expect((await pool.runDownlink('app', none, { payload: 'AQL/', fPort: 3 })).output).toEqual({ fPort: 3, frmPayload: 'AQL/' });
    expect((await pool.runDecodeDownlink('app', none, { bytes: hex('0A0B'), fPort: 4 })).output).toEqual({ frm_payload: 'Cgs=', f_port: 4 });
    expect((await pool.runUplink('app', none, uplink('01', 7))).output).toEqual({ frm_payload: 'AQ==', f_port: 7 });
    expect(await pool.check('app', none)).toBeNull();
    expect(pool.stats()).toMatchObject({ starts: 0, running: 0 });
  });

  it('fails a call made after close at once: the plugin is stopping', async () => {
    const pool = open();
    pool.start();
    await pool.close();
    expect(await pool.runUplink('app', ECHO, uplink('01'))).toEqual(stopping);
    expect(await pool.check('app', ECHO)).toEqual(stopping.error);
    // Nothing left to ask for the runtimes' stats, and nothing waits for an answer.
    expect(await within(pool.runtimeStats())).toEqual({});
    expect(pool.stats()).toMatchObject({ running: 0, crashes: 0, resent: 0 });
  });

  it('fails the calls still unanswered when it closes, the running one too: the plugin is stopping', async () => {
    const pool = open();
    await pool.runUplink('warm', ECHO, uplink('01'));
    const running = pool.runUplink('slow', busy(3000), uplink('01'));
    const waiting = pool.runUplink('other', ECHO, uplink('01'));
    await new Promise((resolve) => setTimeout(resolve, 200));
    await pool.close();
    expect(await Promise.all([running, waiting])).toEqual([stopping, stopping]);
    expect(pool.stats()).toMatchObject({ crashes: 0, resent: 0 });
  });

  it('names one killed process in the singular in a suspension', async () => {
    // A generous grace: only the call stuck in a built-in is to cost a process, however loaded the machine.
    const pool = open({ breaker: { threshold: 2 }, graceMs: 1500 });
    // Byte 1: stuck in a built-in that ignores V8's termination (its process is killed); else a plain endless loop.
    const hangs = js('function decodeUplink(input) {\n  if (input.bytes[0] === 1) Array.prototype.includes.call({ length: 2 ** 32 + 1 }, 1);\n  for (;;) {}\n}', 50);
    expect((await pool.runUplink('hangs', hangs, uplink('01'))).error?.message).toMatch(/its process was killed$/);
    expect((await pool.runUplink('hangs', hangs, uplink('02'))).error?.kind).toBe('timeout');
    expect(events.find((e) => e.type === 'suspended')).toMatchObject({ suspension: { kills: 1, failures: 2 } });
    expect((await pool.runUplink('hangs', hangs, uplink('02'))).error?.message).toMatch(/ after its calls stopped 1 formatter process and 2 calls failed in a row \(last: /);
  });

  it("fails the killed call's application's other calls unrun, counting them for nothing; other applications' calls go again", async () => {
    const pool = open({ breaker: { threshold: 2 } });
    await pool.runUplink('warm', ECHO, uplink('01'));
    const [pid] = pool.pids();
    const hangs = js('function decodeUplink(input) {\n  if (input.bytes[0] === 1) Array.prototype.includes.call({ length: 2 ** 32 + 1 }, 1);\n  return { data: {} };\n}', 50);
    const [hung, unrun, neighbour] = await Promise.all([
      pool.runUplink('hangs', hangs, uplink('01')),
      pool.runUplink('hangs', hangs, uplink('02')),
      pool.runUplink('neighbour', ECHO, uplink('01')),
    ]);
    expect(hung.error).toEqual({ kind: 'timeout', message: 'formatter exceeded the time limit of 50 ms and did not stop; its process was killed' });
    expect(unrun.error).toEqual({ kind: 'timeout', message: 'not run: an earlier call of this formatter did not stop at its time limit, so its process was killed' });
    expect(neighbour.ok).toBe(true);
    expect(events).toEqual([{ type: 'killed', appId: 'hangs', pid, timeoutMs: 50 }]);
    // One timeout in a row: the call that never ran did not make it two.
    expect(pool.suspensions()).toEqual([]);
    expect(pool.stats()).toMatchObject({ kills: 1, crashes: 0, resent: 1 });
  });

  it('keeps a suspension when a call already on its way ends well after it', async () => {
    const pool = open({ breaker: { threshold: 2 }, graceMs: 1500 });
    // Byte 1: an endless loop, stopped at its time limit; else fine.
    const flaky = js('function decodeUplink(input) { if (input.bytes[0] === 1) for (;;) {} return { data: {} }; }', 400);
    await pool.runUplink('warm', ECHO, uplink('01'));
    const reports = await Promise.all(['01', '01', '02'].map((bytes) => pool.runUplink('flaky', flaky, uplink(bytes))));
    expect(reports.map((r) => r.error?.kind ?? 'ok')).toEqual(['timeout', 'timeout', 'ok']);
    expect(events.filter((e) => e.type === 'suspended')).toHaveLength(1);
    expect(pool.suspensions()).toMatchObject([{ appId: 'flaky' }]);
    expect(await pool.runUplink('flaky', flaky, uplink('02'))).toEqual({
      ok: false,
      error: { kind: 'suspended', message: expect.stringMatching(/^formatter suspended until /) as string },
      logs: [],
      warnings: [],
      durationMs: 0,
    });
    // Downlinks of a suspended formatter are refused the same way.
    expect((await pool.runDownlink('flaky', flaky, { payload: {} })).error?.kind).toBe('suspended');
    expect((await pool.runDecodeDownlink('flaky', flaky, { bytes: hex('01'), fPort: 1 })).error?.kind).toBe('suspended');
    expect(pool.resume('flaky')).toBe(true);
    expect(events.at(-1)).toEqual({ type: 'resumed', appId: 'flaky' });
    expect((await pool.runUplink('flaky', flaky, uplink('02'))).ok).toBe(true);
  });

  it('gives the top level and the call each the whole time limit: a script slow to load and slow to run is not killed', async () => {
    // Each phase 700 ms of a 1,000 ms limit; both together past the limit and its grace.
    const pool = open({ graceMs: 100 });
    await pool.runUplink('warm', ECHO, uplink('01'));
    const wait = 'const end = Date.now() + 700; while (Date.now() < end) {}';
    const twoPhases = js(`${wait}\nmodule.exports.uplink = function () { ${wait} return { done: true }; };`, 1000);
    expect(okOutputs([await pool.runUplink('two-phases', twoPhases, uplink('01'))])).toEqual([{ done: true }]);
    expect(pool.stats()).toMatchObject({ kills: 0 });
  });

  it('kills a process whose script hangs at its top level at the deadline, whether the process was booting, idle or had just answered another call', async () => {
    const pool = open({ spare: false });
    const topLevelHangs = js('Array.prototype.includes.call({ length: 2 ** 32 + 1 }, 1);\nmodule.exports.uplink = function () { return {}; };', 50);
    const killed = { kind: 'timeout', message: 'formatter exceeded the time limit of 50 ms and did not stop; its process was killed' };
    // Sent before its process has booted.
    expect((await within(pool.runUplink('booting', topLevelHangs, uplink('01')))).error).toEqual(killed);
    // Sent to a process that has booted and has nothing to do.
    await pool.runUplink('warm', ECHO, uplink('01'));
    expect((await within(pool.runUplink('idle', topLevelHangs, uplink('01')))).error).toEqual(killed);
    // Sent behind another call in the same batch.
    await pool.runUplink('warm', ECHO, uplink('01'));
    const [first, second] = await within(Promise.all([pool.runUplink('first', ECHO, uplink('01')), pool.runUplink('second', topLevelHangs, uplink('01'))]));
    expect(first.ok).toBe(true);
    expect(second.error).toEqual(killed);
    expect(pool.stats().kills).toBe(3);
  });

  it('kills a hanging call at its deadline however many calls of other applications arrive meanwhile', async () => {
    const pool = open({ spare: false });
    await pool.runUplink('warm', ECHO, uplink('01'));
    const hangs = js('module.exports.uplink = function () { Array.prototype.includes.call({ length: 2 ** 32 + 1 }, 1); return {}; };', 50);
    const started = performance.now();
    let settledAfter = Infinity;
    const hung = pool.runUplink('hangs', hangs, uplink('01')).then((report) => ((settledAfter = performance.now() - started), report));
    // A new batch every 50 ms for 3 s.
    const others: Promise<RunReport<unknown>>[] = [];
    for (let i = 0; i < 60; i++) {
      others.push(pool.runUplink(`other-${i}`, ECHO, uplink('01')));
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect((await hung).error?.message).toMatch(/its process was killed$/);
    // 50 ms and the grace of 250 ms, with room for a loaded machine: not after the last batch.
    expect(settledAfter).toBeLessThan(2000);
    expect((await Promise.all(others)).every((r) => r.ok)).toBe(true);
  });

  it("times a call from when it starts, not from when its process went idle", async () => {
    const pool = open({ spare: false });
    pool.start();
    // The top level takes 150 ms of a 400 ms limit.
    const slowToLoad = (n: number) => js(`const end = Date.now() + 150; while (Date.now() < end) {}\nmodule.exports.uplink = function () { return { n: ${n} }; };`, 400);
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(okOutputs([await pool.runUplink('first', slowToLoad(1), uplink('01'))])).toEqual([{ n: 1 }]);
    await new Promise((resolve) => setTimeout(resolve, 1000));
    expect(okOutputs([await pool.runUplink('first', slowToLoad(2), uplink('01'))])).toEqual([{ n: 2 }]);
    expect(pool.stats()).toMatchObject({ kills: 0, crashes: 0 });
  });

  it('ends the scratch process after a minute without calls, not while it has calls, and starts it again for the next draft', async () => {
    const ownChildPids = newChildPids();
    const pool = open({ spare: false });
    pool.start();
    await pool.runUplink('app', ECHO, uplink('01'));
    const production = ownChildPids();
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    // Two calls of one draft: the first runs, the second waits for it.
    const drafts = [pool.runUplink('draft', busy(1500), uplink('01'), 'test'), pool.runUplink('draft', busy(10), uplink('01'), 'test')];
    for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
    const scratch = ownChildPids().filter((pid) => !production.includes(pid));
    expect(scratch).toHaveLength(1);
    vi.advanceTimersByTime(60_000);
    expect(okOutputs(await Promise.all(drafts))).toEqual([{ slept: 1500 }, { slept: 10 }]);
    // The same scratch process ran both.
    expect(pool.stats().starts).toBe(2);
    expect(processUsage(scratch[0])).toBeDefined();
    vi.advanceTimersByTime(60_000);
    vi.useRealTimers();
    await eventually(async () => !ownChildPids().includes(scratch[0]), 'the scratch process to end');
    expect(ownChildPids()).toEqual(production);
    expect((await pool.check('draft', ECHO))).toBeNull();
    expect(pool.stats()).toMatchObject({ starts: 3, running: 1, crashes: 0 });
  });
});

/**
 * A formatter process stand-in: the wire protocol with behaviours chosen by application (and for
 * the runtime stats, by the order the processes booted in; a file `fail-boot` names the process that
 * is not to start). Answers by default with the size of the batch the call came in. Each entry gets
 * a folder of its own.
 */
const STAND_IN = String.raw`
import { closeSync, existsSync, openSync, readFileSync, writeSync } from 'node:fs';
const dir = new URL('.', import.meta.url).pathname;
/** True the first time only, across the processes of this entry. */
const once = (name) => { try { closeSync(openSync(dir + name, 'wx')); return true; } catch { return false; } };
let index = 0;
while (!once('booted-' + index)) index++;
if (existsSync(dir + 'broken') || (existsSync(dir + 'fail-boot') && Number(readFileSync(dir + 'fail-boot', 'utf8')) === index)) {
  process.stderr.write('broken on purpose');
  process.exit(5);
}
const sleeper = new Int32Array(new SharedArrayBuffer(4));
function send(text) {
  const bytes = Buffer.from(text + '\n', 'utf8');
  let at = 0;
  while (at < bytes.length) {
    try { at += writeSync(3, bytes, at, bytes.length - at); } catch (err) { if (err.code !== 'EAGAIN') throw err; Atomics.wait(sleeper, 0, 0, 1); }
  }
}
const reply = (id, fields) => send(JSON.stringify({ id, logs: [], warnings: [], durationMs: 0, ...fields }));
const needScript = (id) => send(JSON.stringify({ id, need: 'script' }));
const STATS = [
  { ok: true, output: { calls: 1, note: 'not a number' } },
  { ok: true, output: { calls: 2 } },
  { ok: false, output: { calls: 100 }, error: { kind: 'runtime', message: 'no stats' } },
  { ok: true, output: null },
  { ok: true },
  { need: 'script', output: { calls: 1000 } },
];
function answer(call, batch) {
  if (call.op === 's') return reply(call.id, STATS[index]);
  const byte = Buffer.from(call.b ?? '', 'base64')[0];
  switch (call.app) {
    case 'answers-nothing': return reply(call.id, { ok: false });
    case 'forgetful': return call.src === undefined ? needScript(call.id) : reply(call.id, { ok: true, output: { ran: call.op } });
    case 'never-keeps': return needScript(call.id);
    case 'times-out-or-loses':
      if (byte === 3) return; // never answers
      return byte === 1 ? reply(call.id, { ok: false, error: { kind: 'timeout', message: 'too slow' } }) : needScript(call.id);
    case 'exits': if (byte === 1) process.exit(7); break;
    case 'exits-once': if (once('exited-once')) process.exit(7); break;
    case 'floods': return send('x'.repeat(2 * 1024 * 1024));
  }
  return reply(call.id, { ok: true, output: { app: call.app, batch } });
}
let buffered = '';
process.stdin.setEncoding('utf8');
process.stdin.on('data', (chunk) => {
  buffered += chunk;
  for (let at = buffered.indexOf('\n'); at >= 0; at = buffered.indexOf('\n')) {
    const line = buffered.slice(0, at);
    buffered = buffered.slice(at + 1);
    const calls = JSON.parse(line);
    for (const call of calls) answer(call, calls.length);
  }
});
process.stdin.on('end', () => process.exit(0));
send(JSON.stringify({ notice: 'ready' }));
`;

describe('FormatterPool with processes that misbehave', () => {
  const dirs: string[] = [];
  afterAll(() => dirs.forEach((dir) => rmSync(dir, { recursive: true, force: true })));
  /** An entry of its own with this source. */
  const entry = (source: string) => {
    const dir = mkdtempSync(join(tmpdir(), 'pinned-pool-'));
    dirs.push(dir);
    writeFileSync(join(dir, 'entry.mjs'), source);
    return join(dir, 'entry.mjs');
  };
  const standIn = (options: PoolOptions = {}) => open({ entry: entry(STAND_IN), spare: false, ...options });
  // Time limits far off: these processes answer at once, or never.
  const anyScript = js('module.exports.uplink = function () { return {}; };', 2000);

  it('a check the process failed without saying why is a contract error', async () => {
    const pool = standIn();
    expect(await pool.check('answers-nothing', anyScript)).toEqual({ kind: 'contract', message: 'the check returned no answer' });
  });

  it('sends a script again to a process that lost it; a process that does not keep it fails the call without blaming the formatter', async () => {
    const pool = standIn({ breaker: { threshold: 3 } });
    expect(okOutputs(await within(Promise.all([pool.runUplink('forgetful', anyScript, uplink('01'))])))).toEqual([{ ran: 'u' }]);
    // The process has the script by now as far as the pool knows: it asks for it.
    expect(okOutputs(await within(Promise.all([pool.runUplink('forgetful', anyScript, uplink('01'))])))).toEqual([{ ran: 'u' }]);
    expect(await within(pool.runUplink('never-keeps', anyScript, uplink('01')))).toEqual({
      ok: false,
      error: { kind: 'runtime', message: 'sandbox failure: the script did not reach its process' },
      logs: [],
      warnings: [],
      durationMs: 0,
    });
    // Two timeouts, a lost script, a timeout: three timeouts in a row all the same.
    const kinds = [];
    for (const bytes of ['01', '01', '02', '01']) kinds.push((await within(pool.runUplink('times-out-or-loses', anyScript, uplink(bytes)))).error?.kind);
    expect(kinds).toEqual(['timeout', 'timeout', 'runtime', 'timeout']);
    expect(events).toMatchObject([{ type: 'suspended', suspension: { appId: 'times-out-or-loses', failures: 3 } }]);
  });

  it('sums the numbers of the runtime stats that came back, skipping odd or failed answers', async () => {
    const pool = standIn({ processes: 6 });
    pool.start();
    expect(await within(pool.runtimeStats())).toEqual({ calls: 3 });
  });

  it('gives a call whose process exited under it one more try, then fails it as a crash naming the exit code; its neighbour loses nothing', async () => {
    const pool = standIn({ breaker: { killThreshold: 2 } });
    const [exits, neighbour] = await within(Promise.all([pool.runUplink('exits', anyScript, uplink('01')), pool.runUplink('neighbour', anyScript, uplink('01'))]));
    expect(exits).toMatchObject({ ok: false, error: { kind: 'crash', message: 'the formatter process died while running this call (exit code 7)' } });
    expect(neighbour).toMatchObject({ ok: true, output: { app: 'neighbour' } });
    expect(events.filter((e) => e.type === 'crashed')).toEqual([
      { type: 'crashed', pid: expect.any(Number) as number, signal: null, code: 7 },
      { type: 'crashed', pid: expect.any(Number) as number, signal: null, code: 7 },
    ]);
    expect(events.filter((e) => e.type === 'suspended')).toMatchObject([{ suspension: { appId: 'exits', kills: 2 } }]);
    // Sent again: both calls after the first death, the neighbour's after the second.
    expect(pool.stats()).toMatchObject({ crashes: 2, resent: 3, kills: 0, suspensions: 1, suspended: 1 });
  });

  it('gives a test run that takes the scratch process down one more try too, then fails it as a crash; nothing counts for production', async () => {
    const pool = standIn();
    expect((await within(pool.runUplink('exits', anyScript, uplink('01'), 'test'))).error).toEqual({
      kind: 'crash',
      message: 'the formatter process died while running this call (exit code 7)',
    });
    expect(events).toEqual([]);
    expect(pool.stats()).toMatchObject({ crashes: 0, suspended: 0 });
  });

  it('keeps each call its own one more try: a neighbour sent again for crashes it did not cause gets one when it crashes itself', async () => {
    const path = entry(STAND_IN);
    // Processes 0 and 1 die of `exits`, 2 of `exits-once`; 3 does not start; 4 runs the neighbour again.
    writeFileSync(join(dirname(path), 'fail-boot'), '3');
    const pool = open({ entry: path, spare: false });
    const [exits, once] = await within(Promise.all([pool.runUplink('exits', anyScript, uplink('01')), pool.runUplink('exits-once', anyScript, uplink('01'))]));
    expect(exits.error?.kind).toBe('crash');
    expect(once).toMatchObject({ ok: true, output: { app: 'exits-once' } });
    expect(events.map((e) => e.type === 'crashed' && e.code)).toEqual([7, 7, 7, 5]);
  });

  it('sends a call that was running when its process died once more, also when the next process does not start', async () => {
    const path = entry(STAND_IN);
    writeFileSync(join(dirname(path), 'fail-boot'), '1');
    const pool = open({ entry: path, spare: false });
    expect(await within(pool.runUplink('exits-once', anyScript, uplink('01')))).toMatchObject({ ok: true, output: { app: 'exits-once' } });
    expect(events.map((e) => e.type === 'crashed' && e.code)).toEqual([7, 5]);
  });

  it('fails a call waiting for its one more try when the pool closes meanwhile: the plugin is stopping', async () => {
    const pool = standIn();
    let closing: Promise<void> | undefined;
    pool.listen((event) => {
      if (event.type === 'crashed') closing ??= pool.close();
    });
    expect(await within(pool.runUplink('exits-once', anyScript, uplink('01')))).toEqual(stopping);
    await closing;
  });

  it('after a call took its process down, sends that application one call at a time to the next process', async () => {
    // A 4 ms time limit: one call's estimate is below the fair queue's budget of 5 ms, two are not.
    const pool = standIn({ graceMs: 2000 });
    const tiny = js('module.exports.uplink = function () { return {}; };', 4);
    expect((await within(pool.runUplink('exits', tiny, uplink('01')))).error?.kind).toBe('crash');
    const outputs = okOutputs(await within(Promise.all([1, 2, 3].map(() => pool.runUplink('exits', tiny, uplink('02'))))));
    expect(outputs[0]).toEqual({ app: 'exits', batch: 1 });
  });

  it('kills a process that writes a reply line over the bound at once: the call fails as a crash, not at its deadline', async () => {
    const pool = standIn();
    const started = performance.now();
    const report = await within(pool.runUplink('floods', js('module.exports.uplink = function () { return {}; };', 10_000), uplink('01')), 20_000);
    expect(report.error).toEqual({ kind: 'crash', message: 'the formatter process died while running this call (signal SIGKILL)' });
    expect(performance.now() - started).toBeLessThan(10_000);
    expect(pool.stats()).toMatchObject({ crashes: 2, kills: 0 });
  });

  it('fails a call after three more tries when its processes cannot start, with the last 500 characters of what they wrote to stderr', async () => {
    const noisy = entry(`process.stderr.write('\\n  cannot start: ' + 'x'.repeat(700) + ' the reason at the end\\n\\n'); process.exit(3);`);
    const pool = open({ entry: noisy, spare: false });
    const report = await within(pool.runUplink('app', anyScript, uplink('01')));
    const prefix = 'formatter processes keep failing: ';
    expect(report.error?.kind).toBe('runtime');
    const message = report.error?.message ?? '';
    expect(message.startsWith(prefix)).toBe(true);
    expect(message.endsWith('x the reason at the end')).toBe(true);
    expect(message).toHaveLength(prefix.length + 500);
    expect(pool.stats().resent).toBe(3);

    const silent = open({ entry: entry('process.exit(0);'), spare: false });
    expect((await within(silent.runUplink('app', anyScript, uplink('01')))).error).toEqual({ kind: 'runtime', message: `${prefix}no reason given` });
    expect(silent.stats().resent).toBe(3);
  });

  it('kills a process that has not booted 30 s after its start; the call fails after three more such processes', async () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval', 'performance'] });
    // A process that never says it is ready.
    const pool = open({ entry: entry('setInterval(() => {}, 1000);'), spare: false });
    const call = pool.runUplink('app', anyScript, uplink('01'));
    for (let death = 1; death <= 4; death++) {
      vi.advanceTimersByTime(29_000);
      expect(pool.pids()).toHaveLength(1);
      vi.advanceTimersByTime(2_000);
      expect(pool.pids()).toEqual([]);
      await eventually(async () => pool.stats().crashes === death, `the death of process ${death}`);
    }
    expect((await call).error).toEqual({ kind: 'runtime', message: 'formatter processes keep failing: no reason given' });
  });

  it("keeps only a bounded tail of a process's stderr: a reason followed by 2,000 blank lines is gone", async () => {
    const pool = open({ entry: entry(`process.stderr.write('the reason' + '\\n'.repeat(2000)); process.exit(3);`), spare: false });
    expect((await within(pool.runUplink('app', anyScript, uplink('01')))).error?.message).toBe('formatter processes keep failing: no reason given');
  });

  it('a call its processes never ran, because they would not start, says nothing about the formatter', async () => {
    const path = entry(STAND_IN);
    const pool = open({ entry: path, spare: false, breaker: { threshold: 3 } });
    const call = (bytes: string) => within(pool.runUplink('times-out-or-loses', anyScript, uplink(bytes)));
    expect((await call('01')).error?.kind).toBe('timeout');
    expect((await call('01')).error?.kind).toBe('timeout');
    writeFileSync(join(dirname(path), 'broken'), '');
    process.kill(pool.pids()[0], 'SIGKILL');
    await eventually(async () => events.some((e) => e.type === 'crashed'), 'the pool to see its process die');
    expect((await call('01')).error).toEqual({ kind: 'runtime', message: 'formatter processes keep failing: broken on purpose' });
    rmSync(join(dirname(path), 'broken'));
    expect((await call('01')).error?.kind).toBe('timeout');
    // The third timeout in a row, the failed call between them notwithstanding.
    expect(events.filter((e) => e.type === 'suspended')).toMatchObject([{ suspension: { failures: 3 } }]);
  });

  it('closing fails the calls on their way without counting them: the suspensions stay as they were', async () => {
    const pool = standIn({ breaker: { threshold: 2 } });
    const slow = js('module.exports.uplink = function () { return {}; };', 5000);
    const calls = ['01', '01', '03'].map((bytes) => pool.runUplink('times-out-or-loses', slow, uplink(bytes)));
    await eventually(async () => events.some((e) => e.type === 'suspended'), 'the suspension');
    await pool.close();
    expect((await Promise.all(calls)).map((r) => r.error)).toEqual([
      { kind: 'timeout', message: 'too slow' },
      { kind: 'timeout', message: 'too slow' },
      stopping.error,
    ]);
    expect(pool.suspensions()).toMatchObject([{ appId: 'times-out-or-loses', failures: 2, lastError: { kind: 'timeout', message: 'too slow' } }]);
  });
});
