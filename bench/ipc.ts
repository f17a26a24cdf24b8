import { readFileSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { monitorEventLoopDelay, performance, type EventLoopUtilization } from 'node:perf_hooks';

/** Messages between bench/run.ts (parent) and a server child (bench/server-*.ts). */
export type ChildMessage =
  | { type: 'listening'; port: number }
  | {
      type: 'memory';
      /** Peak RSS of this process plus its helpers (VmHWM each; getrusage's maxRSS on Linux carries the parent's over fork+exec). */
      peakRssKb: number;
      rssBytes: number;
      heapUsedBytes: number;
      externalBytes: number;
      /** process.cpuUsage(), user + system, microseconds. */
      cpuUs: number;
      /** The event loop since the previous report: busy share, and how late timers ran (its stalls). */
      loop: LoopReport;
      stats: Record<string, number>;
    }
  | { type: 'failed'; message: string };

export type ParentMessage = { type: 'memory' } | { type: 'stop' };

/**
 * Sampling interval of the children's event-loop delay histogram, ms. The histogram records the time
 * between the sampling timer's runs, so an idle loop reads about this much: its lag is the rest.
 */
export const LOOP_RESOLUTION_MS = 1;

/** A child's event loop since its previous report. Delays are as recorded (interval included), ms. */
export interface LoopReport {
  busyPct: number;
  delayP50Ms: number;
  delayP99Ms: number;
  delayMaxMs: number;
}

/**
 * Peak resident set size in KB. Linux's ru_maxrss survives execve, so a child spawned by a big
 * parent would report the parent's size: read this process's own high-water mark instead.
 */
function peakRssKb(): number {
  try {
    const m = /^VmHWM:\s+(\d+)\s+kB/m.exec(readFileSync('/proc/self/status', 'utf8'));
    if (m) return Number(m[1]);
  } catch {
    // not Linux
  }
  return process.resourceUsage().maxRSS;
}

function send(message: ChildMessage): void {
  if (process.send) process.send(message);
}

/** What a server's helper processes use (the plugin's formatter processes), added to its own figures. */
export interface HelperUsage {
  rssBytes: number;
  peakRssKb: number;
  cpuUs: number;
}

/**
 * Child side: reports the port once listening, answers memory requests, stops on request (a normal
 * exit, so `--cpu-prof` writes its profile) and dies with the parent (IPC channel closed). Memory
 * and CPU include the server's helper processes, so a server that moves work out is not flattered.
 */
export function serveChild(
  server: Server,
  stop: () => Promise<void>,
  stats: () => Record<string, number> | Promise<Record<string, number>> = () => ({}),
  helpers: () => HelperUsage = () => ({ rssBytes: 0, peakRssKb: 0, cpuUs: 0 }),
): void {
  let stopping = false;
  const delay = monitorEventLoopDelay({ resolution: LOOP_RESOLUTION_MS });
  delay.enable();
  let utilization: EventLoopUtilization = performance.eventLoopUtilization();
  const loopSinceLastReport = () => {
    const now = performance.eventLoopUtilization();
    const busyPct = Math.round(performance.eventLoopUtilization(now, utilization).utilization * 100);
    utilization = now;
    const loop: LoopReport = { busyPct, delayP50Ms: delay.percentile(50) / 1e6, delayP99Ms: delay.percentile(99) / 1e6, delayMaxMs: delay.max / 1e6 };
    delay.reset();
    return loop;
  };
  const exit = async (code: number) => {
    if (stopping) return;
    stopping = true;
    // Bounded: a stuck close must not keep the bench waiting (the parent kills after a grace period too).
    setTimeout(() => process.exit(code), 5000).unref();
    try {
      server.closeAllConnections();
      await new Promise<void>((done) => server.close(() => done()));
      await stop();
    } catch (err) {
      process.stderr.write(`stop failed: ${err instanceof Error ? err.stack : String(err)}\n`);
    }
    process.exit(code);
  };
  process.on('message', (raw: unknown) => {
    const message = raw as ParentMessage;
    if (message.type === 'memory') {
      const mem = process.memoryUsage();
      const cpu = process.cpuUsage();
      const extra = helpers();
      const loop = loopSinceLastReport();
      void Promise.resolve(stats()).then((own) =>
        send({
          type: 'memory',
          peakRssKb: peakRssKb() + extra.peakRssKb,
          rssBytes: mem.rss + extra.rssBytes,
          heapUsedBytes: mem.heapUsed,
          externalBytes: mem.external,
          cpuUs: cpu.user + cpu.system + extra.cpuUs,
          loop,
          stats: { ...own, helperRssMb: Math.round(extra.rssBytes / 1024 / 102.4) / 10, helperCpuMs: Math.round(extra.cpuUs / 1000) },
        }),
      );
    } else if (message.type === 'stop') {
      void exit(0);
    }
  });
  process.on('disconnect', () => void exit(1));
  process.on('SIGTERM', () => void exit(0));
  const report = () => send({ type: 'listening', port: (server.address() as AddressInfo).port });
  if (server.listening) report();
  else server.once('listening', report);
}

/** Child side: a start-up failure goes to the parent and ends the child. */
export function failChild(err: unknown): void {
  const message = err instanceof Error ? (err.stack ?? err.message) : String(err);
  process.stderr.write(`${message}\n`);
  process.exitCode = 1;
  setTimeout(() => process.exit(1), 1000).unref();
  if (process.send) process.send({ type: 'failed', message } satisfies ChildMessage, () => process.exit(1));
  else process.exit(1);
}

export function envNumber(name: string, fallback: number): number {
  const raw = process.env[name];
  return raw !== undefined && /^\d+$/.test(raw) ? Number(raw) : fallback;
}
