import { spawn, type ChildProcess } from 'node:child_process';
import type { ChildMessage, LoopReport, ParentMessage } from './ipc.js';

export interface MemoryReport {
  /** Peak resident set size of the child so far (its VmHWM), MB. */
  peakRssMb: number;
  /** Current resident set size, MB. */
  rssMb: number;
  heapUsedMb: number;
  externalMb: number;
  /** CPU time the child used so far (user + system), ms. */
  cpuMs: number;
  /** The child's event loop since its previous report: busy share and timer lateness (stalls). */
  loop: LoopReport;
  /** What the child reports about itself (the plugin: isolates and compiled scripts). */
  stats: Record<string, number>;
}

const live = new Set<ChildProcess>();

/** Kills every child still running (SIGKILL): used on errors and on the bench's own time limit. */
export function killAllChildren(): void {
  for (const child of live) {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
  live.clear();
}

/** Has killAllChildren kill `child` too (e.g. the bench's MQTT broker), until it exits. */
export function trackChild(child: ChildProcess): void {
  live.add(child);
  child.once('exit', () => live.delete(child));
}

const withTimeout = <T>(promise: Promise<T>, ms: number, what: string): Promise<T> =>
  new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
    promise.then(
      (v) => {
        clearTimeout(timer);
        resolve(v);
      },
      (e: unknown) => {
        clearTimeout(timer);
        reject(e);
      },
    );
  });

/** A server running in its own node process (its RSS and event loop are its own). */
export class ServerChild {
  port = 0;
  private readonly child: ChildProcess;
  private readonly exited: Promise<number | null>;
  private stderr = '';

  private constructor(
    readonly name: string,
    file: string,
    env: Record<string, string>,
    nodeArgs: string[],
  ) {
    this.child = spawn(process.execPath, ['--no-node-snapshot', ...nodeArgs, file], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    });
    live.add(this.child);
    this.child.stderr?.setEncoding('utf8');
    this.child.stderr?.on('data', (chunk: string) => {
      // Keep the tail only: enough to explain a crash.
      this.stderr = (this.stderr + chunk).slice(-8000);
    });
    this.exited = new Promise((resolve) => {
      this.child.once('exit', (code) => {
        live.delete(this.child);
        resolve(code);
      });
    });
  }

  static async start(name: string, file: string, env: Record<string, string>, nodeArgs: string[] = []): Promise<ServerChild> {
    const server = new ServerChild(name, file, env, nodeArgs);
    const listening = new Promise<number>((resolve, reject) => {
      server.child.on('message', (raw: unknown) => {
        const m = raw as ChildMessage;
        if (m.type === 'listening') resolve(m.port);
        else if (m.type === 'failed') reject(new Error(`${name} failed to start: ${m.message}`));
      });
      void server.exited.then((code) => reject(new Error(`${name} exited with ${code} before listening:\n${server.stderr}`)));
      server.child.once('error', reject);
    });
    try {
      server.port = await withTimeout(listening, 30_000, `${name} start`);
    } catch (err) {
      server.kill();
      throw err;
    }
    return server;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  private send(message: ParentMessage): void {
    this.child.send(message);
  }

  async memory(): Promise<MemoryReport> {
    const answer = new Promise<MemoryReport>((resolve, reject) => {
      const onMessage = (raw: unknown) => {
        const m = raw as ChildMessage;
        if (m.type !== 'memory') return;
        this.child.off('message', onMessage);
        const mb = (bytes: number) => Math.round((bytes / 1024 / 1024) * 10) / 10;
        resolve({
          peakRssMb: Math.round((m.peakRssKb / 1024) * 10) / 10,
          rssMb: mb(m.rssBytes),
          heapUsedMb: mb(m.heapUsedBytes),
          externalMb: mb(m.externalBytes),
          cpuMs: m.cpuUs / 1000,
          loop: m.loop,
          stats: m.stats,
        });
      };
      this.child.on('message', onMessage);
      void this.exited.then((code) => reject(new Error(`${this.name} exited (${code}):\n${this.stderr}`)));
    });
    this.send({ type: 'memory' });
    return withTimeout(answer, 10_000, `${this.name} memory report`);
  }

  /** Asks the child to close and exit normally (so --cpu-prof writes its file); kills it after `graceMs`. */
  async stop(graceMs = 10_000): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    try {
      this.send({ type: 'stop' });
    } catch {
      // channel already gone
    }
    try {
      await withTimeout(this.exited, graceMs, `${this.name} stop`);
    } catch {
      this.kill();
      await this.exited;
    }
  }

  kill(): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
  }

  get stderrTail(): string {
    return this.stderr;
  }
}
