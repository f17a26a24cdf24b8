/**
 * The pool's parts that need no formatter process: the circuit breaker's rules (what counts, when it
 * trips, for how long, what lifts it), the fair queue's budget and its call estimates, and what a
 * process uses, read from /proc.
 */
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { FormatterError, FormatterErrorKind } from '../../formatters/contract.js';
import { CircuitBreaker, countsAsFailure } from '../../sandbox/circuit-breaker.js';
import { CallEstimates, FairQueue } from '../../sandbox/fair-queue.js';
import { processUsage } from '../../sandbox/process-usage.js';

const error = (kind: FormatterErrorKind, message = `a ${kind} error`): FormatterError => ({ kind, message });
const TIMEOUT = error('timeout');

describe('CircuitBreaker', () => {
  const COOL_DOWN = 1000;
  const breaker = (options: ConstructorParameters<typeof CircuitBreaker>[0] = {}) =>
    new CircuitBreaker({ threshold: 3, coolDownMs: COOL_DOWN, maxCoolDownMs: 5 * COOL_DOWN, killThreshold: 2, killWindowMs: 10_000, ...options });

  it('counts timeouts, memory errors and crashes; errors of the input or the script do not count', () => {
    for (const kind of ['timeout', 'memory', 'crash'] as const) {
      expect(countsAsFailure(error(kind))).toBe(true);
      expect(breaker({ threshold: 1 }).record('app', error(kind), 0)).toMatchObject({ appId: 'app', failures: 1, lastError: error(kind) });
    }
    for (const kind of ['runtime', 'syntax', 'contract', 'limit', 'suspended'] as const) {
      expect(countsAsFailure(error(kind))).toBe(false);
      const b = breaker({ threshold: 1 });
      for (let i = 0; i < 5; i++) expect(b.record('app', error(kind), i)).toBeUndefined();
      expect(b.suspended('app', 5)).toBeUndefined();
    }
    expect(countsAsFailure(undefined)).toBe(false);
  });

  it('suspends after `threshold` failures in a row; a call that ends well in between starts the count again', () => {
    const b = breaker();
    b.record('app', TIMEOUT, 1);
    b.record('app', TIMEOUT, 2);
    expect(b.record('app', undefined, 3)).toBeUndefined();
    expect(b.record('app', TIMEOUT, 4)).toBeUndefined();
    expect(b.record('app', TIMEOUT, 5)).toBeUndefined();
    expect(b.suspended('app', 5)).toBeUndefined();
    expect(b.record('app', error('memory'), 6)).toEqual({ appId: 'app', until: 6 + COOL_DOWN, failures: 3, kills: 0, lastError: error('memory') });
  });

  it('counts killed processes within the window, whatever ended well between them', () => {
    const b = breaker();
    expect(b.recordKill('app', TIMEOUT, 0)).toBeUndefined();
    expect(b.record('app', undefined, 1)).toBeUndefined();
    expect(b.recentKills('app', 2)).toBe(1);
    expect(b.recordKill('app', error('crash'), 2)).toEqual({ appId: 'app', until: 2 + COOL_DOWN, failures: 0, kills: 2, lastError: error('crash') });
  });

  it('forgets a kill killWindowMs after it, not a millisecond later', () => {
    const b = breaker();
    b.recordKill('app', TIMEOUT, 0);
    expect(b.recentKills('app', 9_999)).toBe(1);
    expect(b.recentKills('app', 10_000)).toBe(0);
    expect(b.recentKills('never-killed', 0)).toBe(0);
    // The first kill is out of the window: one kill of two, no suspension.
    expect(b.recordKill('app', TIMEOUT, 10_000)).toBeUndefined();
    expect(b.recordKill('app', TIMEOUT, 10_001)).toMatchObject({ kills: 2 });
  });

  it('a suspension ends at its `until`: suspended the millisecond before, not at it', () => {
    const b = breaker({ threshold: 1 });
    const s = b.record('app', TIMEOUT, 1000);
    expect(s?.until).toBe(2000);
    expect(b.suspended('app', 1999)).toEqual(s);
    expect(b.list(1999)).toEqual([s]);
    expect(b.suspended('app', 2000)).toBeUndefined();
    expect(b.list(2000)).toEqual([]);
  });

  it('a failure while suspended starts no second suspension and does not extend the first', () => {
    const b = breaker({ threshold: 1 });
    b.record('app', TIMEOUT, 1000);
    expect(b.record('app', TIMEOUT, 1500)).toBeUndefined();
    expect(b.recordKill('app', TIMEOUT, 1600)).toBeUndefined();
    expect(b.suspended('app', 1700)?.until).toBe(2000);
  });

  it('one more failure once the cool-down is over suspends again, for twice as long each time, up to the maximum', () => {
    const b = breaker({ threshold: 1 });
    const untils: (number | undefined)[] = [];
    let now = 0;
    for (let trip = 0; trip < 5; trip++) {
      const s = b.record('app', TIMEOUT, now);
      untils.push(s?.until);
      // At the very end of the cool-down.
      now = s?.until ?? now;
    }
    expect(untils.map((until, i) => (until ?? NaN) - (i === 0 ? 0 : (untils[i - 1] ?? NaN)))).toEqual([1000, 2000, 4000, 5000, 5000]);
  });

  it('resume lifts a suspension and answers whether there was one; the doubling stays', () => {
    const b = breaker({ threshold: 1 });
    expect(b.resume('unknown', 0)).toBe(false);
    const notYet = breaker();
    notYet.record('app', TIMEOUT, 0);
    expect(notYet.resume('app', 1)).toBe(false);

    b.record('app', TIMEOUT, 0);
    b.recordKill('app', TIMEOUT, 10);
    expect(b.resume('app', 999)).toBe(true);
    expect(b.suspended('app', 999)).toBeUndefined();
    expect(b.recentKills('app', 999)).toBe(0);
    // A new script that times out too is suspended for twice the first cool-down.
    expect(b.record('app', TIMEOUT, 1000)?.until).toBe(1000 + 2 * COOL_DOWN);
    // At the instant its cool-down ends it is no longer suspended: nothing to lift.
    expect(b.resume('app', 3000)).toBe(false);
  });

  it('a call that ends well while suspended (it was on its way already) lifts nothing; the suspension then names no last error', () => {
    const noLastError = { kind: 'timeout', message: '' };
    // Suspended for its killed processes.
    const killer = breaker();
    killer.recordKill('app', TIMEOUT, 0);
    killer.recordKill('app', TIMEOUT, 1);
    expect(killer.record('app', undefined, 10)).toBeUndefined();
    expect(killer.suspended('app', 10)).toEqual({ appId: 'app', until: 1 + COOL_DOWN, failures: 0, kills: 2, lastError: noLastError });
    // Suspended for its failures in a row.
    const failing = breaker({ threshold: 1 });
    failing.record('app', TIMEOUT, 0);
    expect(failing.record('app', undefined, 10)).toBeUndefined();
    expect(failing.suspended('app', 10)).toEqual({ appId: 'app', until: COOL_DOWN, failures: 0, kills: 0, lastError: noLastError });
    expect(failing.list(10)).toHaveLength(1);
    // It cleared the doubling though: the next suspension is as short as the first.
    expect(failing.record('app', undefined, COOL_DOWN)).toBeUndefined();
    expect(failing.record('app', TIMEOUT, 2 * COOL_DOWN)?.until).toBe(3 * COOL_DOWN);
  });
});

describe('CallEstimates and FairQueue', () => {
  interface Call {
    app: string;
    timeoutMs: number;
    n: number;
  }
  const calls = (app: string, count: number, timeoutMs = 100): Call[] => Array.from({ length: count }, (_, n) => ({ app, timeoutMs, n }));

  it('expects an application not seen yet to take its whole time limit; a slower call sets the estimate, a faster one halves the way to it', () => {
    const estimates = new CallEstimates();
    expect(estimates.of('new', 300)).toBe(300);
    estimates.observe('app', 40, 100);
    expect(estimates.of('app', 100)).toBe(70);
    estimates.observe('app', 10, 100);
    expect(estimates.of('app', 100)).toBe(40);
    estimates.observe('app', 90, 100);
    expect(estimates.of('app', 100)).toBe(90);
    estimates.observe('app', 90, 100);
    expect(estimates.of('app', 100)).toBe(90);
  });

  it('lets an application known to take 1 ms have 5 ms of work in at once: 5 calls, the others wait for one to end', () => {
    const estimates = new CallEstimates();
    estimates.observe('fast', 1, 1);
    const queue = new FairQueue<Call>(estimates);
    for (const call of calls('fast', 8, 1)) queue.add(call);
    const first = queue.take();
    expect(first.map((c) => c.n)).toEqual([0, 1, 2, 3, 4]);
    expect(queue.size).toBe(3);
    expect(queue.take()).toEqual([]);
    queue.done(first[0], 1);
    expect(queue.take().map((c) => c.n)).toEqual([5]);
  });

  it('gives a newcomer one call in at once, the applications taking turns', () => {
    const queue = new FairQueue<Call>(new CallEstimates());
    for (const call of [...calls('a', 3), ...calls('b', 2)]) queue.add(call);
    const first = queue.take();
    expect(first.map((c) => `${c.app}${c.n}`)).toEqual(['a0', 'b0']);
    queue.done(first[0], 100);
    expect(queue.take().map((c) => `${c.app}${c.n}`)).toEqual(['a1']);
    expect(queue.size).toBe(2);
    expect(queue.drain().map((c) => `${c.app}${c.n}`)).toEqual(['a2', 'b1']);
    expect(queue.size).toBe(0);
    // Drained: no call counts as inside any more.
    queue.add(calls('b', 1)[0]);
    expect(queue.take()).toHaveLength(1);
  });
});

describe('processUsage', () => {
  it("reads a process's resident memory, its peak and its CPU time, as the process itself sees them", () => {
    // Some system time too, so user and system time are both there to be added.
    for (let i = 0; i < 5000; i++) readFileSync('/proc/self/stat');
    const rss = process.memoryUsage().rss;
    const cpu = process.cpuUsage();
    const used = processUsage(process.pid);
    expect(used).toBeDefined();
    const { rssBytes, peakRssKb, cpuUs } = used ?? { rssBytes: 0, peakRssKb: 0, cpuUs: 0 };
    expect(Math.abs(rssBytes - rss) / rss).toBeLessThan(0.1);
    expect(peakRssKb * 1024).toBeGreaterThanOrEqual(rssBytes);
    expect(peakRssKb * 1024).toBeLessThan(8 * rss);
    // /proc counts in clock ticks of 10 ms, rounded down for user and system time each.
    expect(cpuUs).toBeLessThanOrEqual(cpu.user + cpu.system + 20_000);
    expect(cpuUs).toBeGreaterThan(cpu.user + cpu.system - 50_000);
    expect(cpuUs % 10_000).toBe(0);
  });

  it("sees another process's memory and CPU: a child that holds 100 MB and burns 200 ms of CPU", async () => {
    const child = spawn(process.execPath, [
      '-e',
      "const b = Buffer.alloc(100 * 1024 * 1024, 1); while (process.cpuUsage().user < 200000) {} console.log(b.length); setInterval(() => {}, 1000);",
    ]);
    try {
      await new Promise((resolve) => child.stdout.once('data', resolve));
      const used = processUsage(child.pid ?? -1);
      expect(used?.rssBytes).toBeGreaterThan(100 * 1024 * 1024);
      expect(used?.peakRssKb).toBeGreaterThan(100 * 1024);
      expect(used?.cpuUs).toBeGreaterThanOrEqual(190_000);
    } finally {
      child.kill('SIGKILL');
    }
  });

  it('is undefined for a process that has ended', () => {
    const ended = spawnSync('true');
    expect(ended.pid).toBeGreaterThan(0);
    expect(processUsage(ended.pid)).toBeUndefined();
  });

  it('gives no memory for a process that has ended but is not reaped yet (a zombie)', async () => {
    // `sleep 0` ends at once; its parent became `sleep 2`, which never reaps it.
    const parent = spawn('sh', ['-c', 'sleep 0 & echo $!; exec sleep 2']);
    try {
      const zombie = Number(await new Promise<string>((resolve) => parent.stdout.once('data', (d: Buffer) => resolve(d.toString()))));
      let state = '';
      for (let i = 0; i < 100 && state !== 'Z'; i++) {
        await new Promise((resolve) => setTimeout(resolve, 10));
        state = /^State:\s+(\w)/m.exec(readFileSync(`/proc/${zombie}/status`, 'utf8'))?.[1] ?? '';
      }
      expect(state).toBe('Z');
      expect(processUsage(zombie)).toEqual({ rssBytes: 0, peakRssKb: 0, cpuUs: expect.any(Number) as number });
    } finally {
      parent.kill('SIGKILL');
    }
  });
});
