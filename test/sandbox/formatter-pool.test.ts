/**
 * FormatterPool against real formatter processes: what a hostile formatter does to its neighbours
 * when it hangs now and then, crashes its process, writes huge errors, or is a slow newcomer; what a
 * held-up plugin loop does; and where drafts run.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { FormatterSpec, RunReport } from '../../formatters/contract.js';
import { FormatterPool, type PoolEvent, type PoolOptions } from '../../sandbox/formatter-pool.js';
import { FORMATTER_PROCESS } from '../helpers/formatter-process-entry.js';
import { js, uplink } from './helpers.js';

const ECHO = js('module.exports.uplink = function (payload) { return { payload: payload }; };');
/** Hangs in a built-in that ignores V8's termination when the first byte is 1; fine otherwise. */
const SOMETIMES_HANGS = js(
  'function decodeUplink(input) {\n' +
    '  if (input.bytes[0] === 1) Array.prototype.includes.call({ length: 2 ** 32 + 1 }, 1);\n' +
    '  return { data: { ok: true } };\n}',
  10,
);
/**
 * A V8 fatal error the isolate cannot catch ("Fatal JavaScript invalid size error", crbug.com/1201626):
 * the whole process dies on SIGTRAP, on Node 20 and 24 alike. (A 2 ** 26-element fill, V8's fatal
 * out-of-memory on Node 20, only hits the isolate's memory limit on Node 24, after seconds.)
 */
const CRASHES = js("module.exports.uplink = function () { 'x'.repeat(2 ** 28).split(''); return {}; };", 3000);

describe('FormatterPool', () => {
  let pool: FormatterPool;
  let events: PoolEvent[];
  const start = (options: PoolOptions = {}) => {
    pool = new FormatterPool({ processes: 1, entry: FORMATTER_PROCESS, ...options });
    events = [];
    pool.listen((event) => events.push(event));
    pool.start();
    return pool;
  };
  afterEach(async () => {
    await pool.close();
  });

  const neighbours = (n: number, spec: FormatterSpec = ECHO) => Array.from({ length: n }, (_, i) => pool.runUplink(`neighbour-${i}`, spec, uplink('0102')));
  const kinds = (reports: RunReport<unknown>[]) => reports.map((r) => (r.ok ? 'ok' : r.error?.kind));

  it('a formatter that hangs now and then, with successes between, costs no neighbour a call, and is suspended after 3 killed processes', async () => {
    start();
    const outcomes: (string | undefined)[] = [];
    for (let round = 0; round < 4; round++) {
      const attack = pool.runUplink('attacker', SOMETIMES_HANGS, uplink('01'));
      const others = neighbours(5);
      const fine = pool.runUplink('attacker', SOMETIMES_HANGS, uplink('02'));
      const [hung, ...rest] = await Promise.all([attack, ...others, fine]);
      expect(kinds(rest.slice(0, 5))).toEqual(['ok', 'ok', 'ok', 'ok', 'ok']);
      outcomes.push(hung.error?.kind);
    }
    expect(outcomes).toEqual(['timeout', 'timeout', 'timeout', 'suspended']);
    expect(pool.stats()).toMatchObject({ kills: 3, suspended: 1 });
    const suspended = events.find((e) => e.type === 'suspended');
    expect(suspended).toMatchObject({ suspension: { appId: 'attacker', kills: 3 } });
    expect((await pool.runUplink('attacker', SOMETIMES_HANGS, uplink('02'))).error?.message).toMatch(/^formatter suspended until .* after its calls stopped 3 formatter processes/);
  });

  it('a formatter that crashes its process is blamed and suspended; its neighbours lose nothing', async () => {
    start();
    const first = await Promise.all([pool.runUplink('crasher', CRASHES, uplink('01')), ...neighbours(5)]);
    expect(kinds(first)).toEqual(['crash', 'ok', 'ok', 'ok', 'ok', 'ok']);
    expect(first[0].error?.message).toBe('the formatter process died while running this call (signal SIGTRAP)');
    // The first crash got one more try (it might have been a kill from outside); the next do not.
    expect(pool.stats().crashes).toBe(2);
    const second = await Promise.all([pool.runUplink('crasher', CRASHES, uplink('01')), ...neighbours(5)]);
    expect(kinds(second)).toEqual(['crash', 'ok', 'ok', 'ok', 'ok', 'ok']);
    expect(pool.stats()).toMatchObject({ crashes: 3, suspended: 1 });
    expect((await pool.runUplink('crasher', CRASHES, uplink('01'))).error?.kind).toBe('suspended');
  }, 30_000);

  it('cuts a 3 MB error message to 2,000 characters, in the process, cheaply for the plugin', async () => {
    start();
    const huge = js("module.exports.uplink = function () { throw new Error('x'.repeat(3e6)); };", 2000);
    await pool.runUplink('loud', huge, uplink('01'));
    const cpu = process.cpuUsage();
    const report = await pool.runUplink('loud', huge, uplink('01'));
    const used = process.cpuUsage(cpu);
    expect(report.error?.kind).toBe('runtime');
    expect(report.error?.message).toBe(`Error: ${'x'.repeat(1993)}… (cut to 2000 characters)`);
    // The plugin's thread reads a 2 KB answer, not 3 MB.
    expect((used.user + used.system) / 1000).toBeLessThan(50);
    expect(kinds(await Promise.all(neighbours(3)))).toEqual(['ok', 'ok', 'ok']);
    expect(pool.stats()).toMatchObject({ kills: 0, crashes: 0 });
  });

  it('bounds a TTS decoder\'s warnings and errors', async () => {
    start();
    const noisy = js("function decodeUplink() { const w = []; for (let i = 0; i < 55; i++) w.push('w'.repeat(1100)); return { data: {}, warnings: w }; }");
    const report = await pool.runUplink('noisy', noisy, uplink('01'));
    expect(report.ok).toBe(true);
    expect(report.warnings).toHaveLength(51);
    expect(report.warnings[0]).toBe(`${'w'.repeat(1000)}… (cut to 1000 characters)`);
    expect(report.warnings[50]).toBe('… 5 more warnings dropped (limit 50)');
    const failing = js("function decodeUplink() { const e = []; for (let i = 0; i < 200; i++) e.push('e'.repeat(2000)); return { errors: e }; }");
    expect((await pool.runUplink('noisy', failing, uplink('01'))).error?.message.length).toBeLessThan(2100);
  });

  it('kills no process when the plugin\'s own loop was held up while a call was answered', async () => {
    start();
    await pool.runUplink('innocent', ECHO, uplink('01'));
    const slow = js('module.exports.uplink = function () { const end = Date.now() + 50; while (Date.now() < end) {} return {}; };', 100);
    const calls = [pool.runUplink('innocent', slow, uplink('01')), pool.runUplink('innocent', slow, uplink('01'))];
    // Held for longer than any deadline: the answers wait unread in the pipe meanwhile.
    const until = Date.now() + 600;
    while (Date.now() < until) {
      // busy
    }
    expect(kinds(await Promise.all(calls))).toEqual(['ok', 'ok']);
    expect(pool.stats()).toMatchObject({ kills: 0 });
  });

  it('runs checks and test runs in a process of their own: a hanging draft kills no production process', async () => {
    start();
    await Promise.all(neighbours(2));
    const pids = pool.pids();
    const hanging = js('Array.prototype.includes.call({ length: 2 ** 32 + 1 }, 1);\nmodule.exports.uplink = function () { return {}; };', 20);
    expect(await pool.check('drafting', hanging)).toMatchObject({ kind: 'timeout' });
    expect((await pool.runUplink('drafting', hanging, uplink('01'), 'test')).error?.kind).toBe('timeout');
    expect(pool.pids()).toEqual(pids);
    expect(pool.stats()).toMatchObject({ kills: 0, restarts: 0, suspended: 0 });
    expect(events.filter((e) => e.type === 'killed')).toEqual([]);
    expect(kinds(await Promise.all(neighbours(2)))).toEqual(['ok', 'ok']);
  });

  it('lets a slow newcomer have one call in its process until its first call has ended', async () => {
    start();
    await Promise.all(neighbours(1));
    const slow = js('module.exports.uplink = function () { const end = Date.now() + 300; while (Date.now() < end) {} return {}; };', 1000);
    const started = performance.now();
    const slowCalls = Array.from({ length: 5 }, () => pool.runUplink('newcomer', slow, uplink('01')));
    await new Promise((resolve) => setTimeout(resolve, 20));
    const waited = await Promise.all(neighbours(1)).then(() => performance.now() - started);
    // Behind one slow call (300 ms), not five (1.5 s).
    expect(waited).toBeLessThan(800);
    expect(kinds(await Promise.all(slowCalls))).toEqual(['ok', 'ok', 'ok', 'ok', 'ok']);
  });
});
