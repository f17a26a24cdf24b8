/**
 * One formatter process as the plugin sees it: the calls sent to it in order, the one running now
 * and since when, the batch being gathered for the next write, and what is left when it dies.
 *
 * The process runs calls one at a time in the order they were sent and answers each as soon as it
 * ends, so the oldest unanswered call is the one running. When a phase of that call (its script's
 * top level, the call itself) outlives its time limit plus a grace for V8's own termination, the
 * process is killed with SIGKILL: some built-ins never check V8's termination flag.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import type { Readable } from 'node:stream';
import { FairQueue, type CallEstimates } from './fair-queue.js';
import { isNotice, LineReader, type WireCall, type WireLine, type WireNotice, type WireReply } from './wire.js';

/** A call on its way through one or more processes. */
export interface PendingCall {
  /** Sent as is, with its id set by the process it goes to. */
  readonly call: WireCall;
  /** The script's source, for a process that does not have it yet. */
  readonly script: string;
  /** The call's time limit, ms. */
  readonly timeoutMs: number;
  /** `counts`: whether the outcome says anything about the formatter (false for calls never run). */
  settle(reply: WireReply, counts?: boolean): void;
  /** Times it was sent again because a process died before or while running it. */
  resent: number;
  /** It was running when a process died of something other than a deadline. */
  ranInCrash: boolean;
}

/** How a process ended, and the calls it had not answered, oldest (the one running) first. */
export interface Death {
  /** The call it was killed for, when it passed its deadline. */
  overdue: PendingCall | undefined;
  /** The call it was running, when it had booted and had one. */
  running: PendingCall | undefined;
  unanswered: PendingCall[];
  signal: NodeJS.Signals | null;
  code: number | null;
}

export interface ProcessSpec {
  entry: string;
  execArgv: readonly string[];
  /** The RuntimeOptions as JSON, the process's argument. */
  runtimeOptions: string;
  graceMs: number;
  /** Longest time to boot before the process counts as hung. */
  bootTimeoutMs: number;
  /** Longest reply line read, in characters; a longer one is a broken process. */
  maxLineChars: number;
  /** How long each application's calls take, across the pool's processes. */
  estimates: CallEstimates;
}

export interface ProcessHooks {
  onNotice(notice: Exclude<WireNotice, { notice: 'ready' | 'retrying' | 'loaded' }>): void;
  onDeath(process: SupervisedProcess, death: Death): void;
}

/** A waiting call, known to the fair queue by its application and time limit. */
interface Queued {
  readonly app: string;
  readonly timeoutMs: number;
  readonly pending: PendingCall;
}

export class SupervisedProcess {
  private readonly child: ChildProcess;
  /** Calls written to the process, in the order it runs them. */
  private readonly unanswered = new Map<number, PendingCall>();
  /** Calls not written yet. */
  private readonly queue: FairQueue<Queued>;
  private flushing = false;
  private nextId = 1;
  private ready = false;
  private dead = false;
  private killed = false;
  /** When the oldest unanswered call started running; -1 while it has not been written yet. */
  private runningSince = -1;
  private overdue: PendingCall | undefined;
  private readonly startedAt = performance.now();
  private stderrTail = '';
  /** Settles once the process has ended and its last replies were read. */
  readonly ended: Promise<void>;
  private markEnded: () => void = () => {};

  constructor(
    private readonly spec: ProcessSpec,
    private readonly hooks: ProcessHooks,
  ) {
    this.ended = new Promise((resolve) => (this.markEnded = resolve));
    this.queue = new FairQueue<Queued>(spec.estimates);
    this.child = spawn(process.execPath, [...spec.execArgv, spec.entry, spec.runtimeOptions], {
      stdio: ['pipe', 'ignore', 'pipe', 'pipe'],
    });
    const replies = this.child.stdio[3] as Readable;
    replies.setEncoding('utf8');
    const reader = new LineReader(spec.maxLineChars, (line) => this.onLine(line));
    replies.on('data', (chunk: string) => {
      try {
        reader.push(chunk);
      } catch {
        this.kill();
      }
    });
    this.child.stderr?.setEncoding('utf8');
    // Only the tail, bounded: enough to say why a process could not start.
    this.child.stderr?.on('data', (chunk: string) => (this.stderrTail = (this.stderrTail + chunk).slice(-2000)));
    this.child.stdin?.on('error', () => this.kill());
    this.child.on('error', () => this.kill());
    // 'close', not 'exit': replies written just before the end are read first.
    this.child.once('close', (code, signal) => this.onExit(code, signal));
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  /** Calls written and waiting. */
  get load(): number {
    return this.unanswered.size + this.queue.size;
  }

  /** Its end has been seen (and its calls handed back). */
  get exited(): boolean {
    return this.dead;
  }

  /** Running and not being killed: may take calls. */
  get alive(): boolean {
    return !this.dead && !this.killed;
  }

  get isReady(): boolean {
    return this.ready && !this.dead;
  }

  /** What the process wrote to stderr last (a failed start says why there). */
  get stderr(): string {
    return this.stderrTail;
  }

  /** Queues a call; what the fair queue lets in goes with this turn's batch. */
  submit(pending: PendingCall): void {
    this.queue.add({ app: pending.call.app, timeoutMs: pending.timeoutMs, pending });
    this.scheduleFlush();
  }

  private scheduleFlush(): void {
    if (!this.flushing) {
      this.flushing = true;
      setImmediate(() => this.flush());
    }
  }

  /** Kills the process if its running call passed its deadline, or it did not boot in time. */
  watch(now: number): void {
    if (this.dead || this.killed) return;
    if (!this.ready) {
      if (now - this.startedAt > this.spec.bootTimeoutMs) this.kill();
      return;
    }
    if (this.runningSince < 0) return;
    const head = this.head();
    // Each phase (the top level, the call) has the time limit; the process says when one begins.
    if (head && now - this.runningSince > head.timeoutMs + this.spec.graceMs) {
      this.overdue = head;
      this.kill();
    }
  }

  kill(): void {
    if (this.dead || this.killed) return;
    this.killed = true;
    this.child.kill('SIGKILL');
  }

  private head(): PendingCall | undefined {
    return this.unanswered.values().next().value;
  }

  private flush(): void {
    this.flushing = false;
    if (this.dead) return;
    const batch: WireCall[] = [];
    for (const { pending } of this.queue.take()) {
      pending.call.id = this.nextId++;
      this.unanswered.set(pending.call.id, pending);
      batch.push(pending.call);
    }
    if (batch.length === 0) return;
    this.child.stdin?.write(`${JSON.stringify(batch)}\n`);
    if (this.runningSince < 0 && this.ready) this.runningSince = performance.now();
  }

  private onLine(text: string): void {
    const line = JSON.parse(text) as WireLine;
    if (isNotice(line)) {
      if (line.notice === 'ready') {
        this.ready = true;
        if (this.unanswered.size > 0) this.runningSince = performance.now();
      } else if (line.notice === 'retrying' || line.notice === 'loaded') {
        // A new phase of the running call (its top level ran, or it runs again): a new time limit.
        if (this.head()?.call.id === line.id) this.runningSince = performance.now();
      } else {
        this.hooks.onNotice(line);
      }
      return;
    }
    const pending = this.unanswered.get(line.id);
    if (!pending) return;
    this.unanswered.delete(line.id);
    this.runningSince = this.unanswered.size > 0 ? performance.now() : -1;
    this.queue.done({ app: pending.call.app, timeoutMs: pending.timeoutMs, pending }, 'durationMs' in line ? line.durationMs : 0);
    if (this.queue.size > 0) this.scheduleFlush();
    pending.settle(line);
  }

  private onExit(code: number | null, signal: NodeJS.Signals | null): void {
    this.dead = true;
    const running = this.ready ? this.head() : undefined;
    // Those written first (the oldest is the one that was running), then those never written.
    const unanswered = [...this.unanswered.values(), ...this.queue.drain().map((q) => q.pending)];
    this.unanswered.clear();
    this.hooks.onDeath(this, { overdue: this.overdue, running, unanswered, signal, code });
    this.markEnded();
  }
}
