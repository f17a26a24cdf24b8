/**
 * FormatterPool: the plugin's only way to run formatters. User code runs in a small pool of
 * formatter processes (formatter-process.ts) that this class supervises; the plugin's event loop
 * only sends calls and reads answers.
 *
 * - An application always goes to the same process (its compiled scripts and top-level state live
 *   there). The calls that arrive in one event-loop turn travel to a process as one batch.
 * - A call still running past its deadline (time limit for the top level and for the call, plus a
 *   grace for V8's own termination) gets its process killed; the call fails as a timeout, the same
 *   application's other unanswered calls fail unrun, and every other application's calls are sent
 *   again to a fresh process: a neighbour's bad code never costs another application an uplink.
 * - A process that dies of anything else (OOM killer, a crash) is replaced the same way; the call
 *   it was running gets one more try.
 * - A circuit breaker per application suspends a formatter that keeps timing out or running out
 *   of memory (see circuit-breaker.ts).
 */
import { createHash } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { LRUCache } from 'lru-cache';
import type {
  DecodeDownlinkCall,
  DownlinkCall,
  DownlinkOutput,
  FormatterError,
  FormatterSpec,
  JsonObject,
  RunReport,
  UplinkCall,
  UplinkReport,
} from '../formatters/contract.js';
import { bytesToBase64 } from '../formatters/base64.js';
import { builtinDecodeDownlink, builtinDownlink, builtinUplink } from './builtins.js';
import { CircuitBreaker, type BreakerOptions, type Suspension } from './circuit-breaker.js';
import { callTimeout, resolveOptions, type ResolvedOptions, type RuntimeOptions } from './options.js';
import { CallEstimates } from './fair-queue.js';
import { processUsage, type ProcessUsage } from './process-usage.js';
import { SupervisedProcess, type Death, type PendingCall } from './supervised-process.js';
import type { WireCall, WireOp, WireReply } from './wire.js';

export interface PoolOptions extends RuntimeOptions {
  /** Formatter processes. Default: one per core but the plugin's own, at most 8. */
  processes?: number;
  /** Time past a call's deadline before its process is killed, ms. Default 250. */
  graceMs?: number;
  breaker?: BreakerOptions;
  /** The clock of suspensions (epoch ms). */
  now?: () => number;
  /** The formatter process's entry, compiled: formatter-process.js beside this module by default. */
  entry?: string;
  /**
   * Keep one booted process in reserve, so a killed process is replaced at once (a process takes
   * ~0.3 s to boot with --no-node-snapshot). Default true.
   */
  spare?: boolean;
}

/**
 * `production` calls count for the circuit breaker and are refused while suspended; `test` calls
 * (the formatter test tool) run whatever the breaker says and do not count.
 */
export type RunMode = 'production' | 'test';

export type PoolEvent =
  | { type: 'suspended'; suspension: Suspension }
  | { type: 'resumed'; appId: string }
  | { type: 'isolated'; appId: string; why: string }
  | { type: 'killed'; appId: string; pid: number | undefined; timeoutMs: number }
  | { type: 'crashed'; pid: number | undefined; signal: string | null; code: number | null };

export interface PoolStats {
  /** Formatter processes configured, and running now. */
  processes: number;
  running: number;
  /** Processes started (the spare included), and processes that replaced one that ended. */
  starts: number;
  restarts: number;
  /** Whether a booted spare is waiting. */
  spare: boolean;
  /** Processes killed because a call passed its deadline, and processes that died otherwise. */
  kills: number;
  crashes: number;
  /** Calls sent again to a fresh process after theirs died. */
  resent: number;
  /** Applications suspended now, and suspensions so far. */
  suspended: number;
  suspensions: number;
  /** Applications moved to an isolate of their own for the memory they held. */
  isolated: number;
}

const MAX_RESENDS = 3;
const SCRATCH_IDLE_MS = 60_000;
const WATCH_INTERVAL_MS = 20;
const BOOT_TIMEOUT_MS = 30_000;
/** Node flags of a formatter process: isolated-vm needs no snapshot; gc lets the runtime measure tenants. */
const PROCESS_FLAGS = ['--no-node-snapshot', '--expose-gc', '--max-semi-space-size=4'];

function defaultEntry(): string {
  return fileURLToPath(new URL('./formatter-process.js', import.meta.url));
}

/** FNV-1a: an application's process, stable for the life of the pool. */
function hashOf(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) hash = Math.imul(hash ^ text.charCodeAt(i), 0x01000193);
  return hash >>> 0;
}

function failed(id: number, error: FormatterError): Settled['reply'] {
  return { id, ok: false, error, logs: [], warnings: [], durationMs: 0 };
}

/** How a call ended, and whether it tells the breaker anything about the formatter. */
interface Settled {
  reply: Exclude<WireReply, { need: 'script' }>;
  counts: boolean;
}

export class FormatterPool {
  private readonly options: ResolvedOptions;
  private readonly breaker: CircuitBreaker;
  private readonly now: () => number;
  private readonly graceMs: number;
  /** The production processes, then one more: the scratch process (see `scratchSlot`). */
  private readonly slots: (SupervisedProcess | undefined)[];
  private readonly processes: number;
  private scratchIdle: NodeJS.Timeout | undefined;
  private readonly keepSpare: boolean;
  private spare: SupervisedProcess | undefined;
  private readonly spec: ConstructorParameters<typeof SupervisedProcess>[0];
  private readonly listeners = new Set<(event: PoolEvent) => void>();
  private readonly estimates = new CallEstimates();
  /** Each application's last script and its id, so an unchanged script is not hashed again. */
  private readonly scriptIds = new LRUCache<string, { source: string; sid: string }>({ max: 10_000 });
  /** Scripts known not to read the uplink message: it is not sent to them. */
  private readonly messageFree = new LRUCache<string, true>({ max: 10_000 });
  /** Script ids each live process has been sent (it may still have dropped one: it then asks). */
  private readonly sentScripts = new WeakMap<SupervisedProcess, Set<string>>();
  /** The slot each process serves (a spare has none until it takes one). */
  private readonly slotOf = new WeakMap<SupervisedProcess, number>();
  private watcher: NodeJS.Timeout | undefined;
  private lastWatch = performance.now();
  private closed = false;
  private readonly counters = { starts: 0, restarts: 0, kills: 0, crashes: 0, resent: 0, suspensions: 0, isolated: 0 };

  constructor(options: PoolOptions = {}) {
    this.options = resolveOptions(options);
    const processes = options.processes ?? Math.min(8, Math.max(1, availableParallelism() - 1));
    if (!Number.isInteger(processes) || processes < 1) throw new RangeError('PoolOptions.processes must be a positive integer');
    this.processes = processes;
    this.slots = new Array<SupervisedProcess | undefined>(processes + 1).fill(undefined);
    this.graceMs = options.graceMs ?? 250;
    this.keepSpare = options.spare ?? true;
    this.breaker = new CircuitBreaker(options.breaker);
    this.now = options.now ?? Date.now;
    this.spec = {
      entry: options.entry ?? defaultEntry(),
      execArgv: PROCESS_FLAGS,
      runtimeOptions: JSON.stringify(this.options),
      graceMs: this.graceMs,
      bootTimeoutMs: BOOT_TIMEOUT_MS,
      maxLineChars: 2 * this.options.maxOutputChars + 1024 * 1024,
      estimates: this.estimates,
    };
  }

  /** Starts every process now rather than at its first call. */
  start(): void {
    for (let slot = 0; slot < this.processes; slot++) this.processAt(slot);
    if (this.keepSpare) this.spare ??= this.spawn();
  }

  /** Listens to suspensions, kills and the like; returns the way to stop listening. */
  listen(listener: (event: PoolEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Compiles and runs the top level of a script (profile save); null when it may be saved. */
  async check(appId: string, spec: FormatterSpec): Promise<FormatterError | null> {
    if (spec.type !== 'javascript') return null;
    const { reply } = await this.dispatch(appId, spec, this.scriptId(appId, spec.script), 'c', {}, 'test');
    return reply.ok ? null : (reply.error ?? { kind: 'contract', message: 'the check returned no answer' });
  }

  async runUplink(appId: string, spec: FormatterSpec, call: UplinkCall, mode: RunMode = 'production'): Promise<UplinkReport> {
    if (spec.type !== 'javascript') return builtinUplink(spec.type, call);
    const sid = this.scriptId(appId, spec.script);
    const fields: Partial<WireCall> = {
      b: bytesToBase64(call.bytes),
      fPort: call.fPort,
      ...(call.receivedAt !== undefined ? { receivedAt: call.receivedAt } : {}),
      ...(call.decodedPayload ? { decoded: call.decodedPayload } : {}),
      ...(call.networkNormalized ? { nn: true } : {}),
      ...(this.messageFree.has(sid) ? {} : { message: call.messageJson ?? JSON.stringify(call.message) }),
    };
    return this.run<JsonObject>(appId, spec, sid, 'u', fields, mode);
  }

  async runDownlink(appId: string, spec: FormatterSpec, call: DownlinkCall, mode: RunMode = 'production'): Promise<RunReport<DownlinkOutput>> {
    if (spec.type !== 'javascript') return builtinDownlink(spec.type, call);
    return this.run<DownlinkOutput>(appId, spec, this.scriptId(appId, spec.script), 'd', {
      payload: call.payload ?? null,
      ...(call.fPort !== undefined ? { fPort: call.fPort } : {}),
      ...(call.device ? { device: call.device } : {}),
    }, mode);
  }

  async runDecodeDownlink(appId: string, spec: FormatterSpec, call: DecodeDownlinkCall, mode: RunMode = 'production'): Promise<RunReport<JsonObject>> {
    if (spec.type !== 'javascript') return builtinDecodeDownlink(spec.type, call);
    return this.run<JsonObject>(appId, spec, this.scriptId(appId, spec.script), 'x', { b: bytesToBase64(call.bytes), fPort: call.fPort }, mode);
  }

  /** Lifts an application's suspension (its script was saved); true when it was suspended. */
  resume(appId: string): boolean {
    const was = this.breaker.resume(appId, this.now());
    if (was) this.emit({ type: 'resumed', appId });
    return was;
  }

  /** The applications suspended now. */
  suspensions(): Suspension[] {
    return this.breaker.list(this.now());
  }

  stats(): PoolStats {
    const running = this.slots.slice(0, this.processes).filter((p) => p?.alive).length;
    return {
      processes: this.processes,
      running,
      starts: this.counters.starts,
      restarts: this.counters.restarts,
      spare: this.spare?.isReady ?? false,
      kills: this.counters.kills,
      crashes: this.counters.crashes,
      resent: this.counters.resent,
      suspended: this.suspensions().length,
      suspensions: this.counters.suspensions,
      isolated: this.counters.isolated,
    };
  }

  /** The runtimes' own stats (applications, isolates, scripts, heap), summed over the running processes. */
  async runtimeStats(): Promise<Record<string, number>> {
    const live = this.slots.slice(0, this.processes).filter((p): p is SupervisedProcess => p !== undefined && p.alive);
    const replies = await Promise.all(
      live.map(
        (p) =>
          new Promise<WireReply>((resolve) =>
            p.submit({ call: { id: 0, app: '', op: 's', sid: '', t: 1000 }, script: '', timeoutMs: 1000, resent: 0, ranInCrash: false, settle: resolve }),
          ),
      ),
    );
    const sum: Record<string, number> = {};
    for (const reply of replies) {
      if (!('ok' in reply) || !reply.ok || typeof reply.output !== 'object' || reply.output === null) continue;
      for (const [key, value] of Object.entries(reply.output)) if (typeof value === 'number') sum[key] = (sum[key] ?? 0) + value;
    }
    return sum;
  }

  /** Memory and CPU of the formatter processes (the spare included), summed; zeros where /proc is missing. */
  usage(): ProcessUsage {
    const total: ProcessUsage = { rssBytes: 0, peakRssKb: 0, cpuUs: 0 };
    for (const p of [...this.slots, this.spare]) {
      const used = p?.alive && p.pid !== undefined ? processUsage(p.pid) : undefined;
      if (!used) continue;
      total.rssBytes += used.rssBytes;
      total.peakRssKb += used.peakRssKb;
      total.cpuUs += used.cpuUs;
    }
    return total;
  }

  /** Process ids of the running formatter processes (for tests, the bench and operators). */
  pids(): number[] {
    return this.slots.slice(0, this.processes).flatMap((p) => (p?.alive && p.pid !== undefined ? [p.pid] : []));
  }

  /** Stops every process; calls still unanswered fail. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.watcher) clearInterval(this.watcher);
    if (this.scratchIdle) clearTimeout(this.scratchIdle);
    const all = [...this.slots, this.spare].filter((p): p is SupervisedProcess => p !== undefined && !p.exited);
    const ended = all.map((p) => p.ended);
    for (const p of all) p.kill();
    await Promise.all(ended);
  }

  private async run<T>(appId: string, spec: FormatterSpec, sid: string, op: WireOp, fields: Partial<WireCall>, mode: RunMode): Promise<RunReport<T>> {
    if (mode === 'production') {
      const suspension = this.breaker.suspended(appId, this.now());
      if (suspension) return { ok: false, error: suspendedError(suspension), logs: [], warnings: [], durationMs: 0 };
    }
    const { reply, counts } = await this.dispatch(appId, spec, sid, op, fields, mode);
    if (op === 'u' && reply.readsMessage === false) this.messageFree.set(sid, true);
    if (mode === 'production' && counts) {
      const suspension = this.breaker.record(appId, reply.ok ? undefined : reply.error, this.now());
      if (suspension) {
        this.counters.suspensions++;
        this.emit({ type: 'suspended', suspension });
      }
    }
    const base = { logs: reply.logs, warnings: reply.warnings, durationMs: reply.durationMs, ...(reply.normalized ? { normalized: reply.normalized } : {}) };
    return reply.ok ? { ok: true, output: reply.output as T, ...base } : { ok: false, error: reply.error, ...base };
  }

  /**
   * Production calls go to the application's process; checks and test runs go to the scratch
   * process, so a draft that hangs costs no production neighbour anything (and touches no
   * production state). The scratch process ends after a minute without calls.
   */
  private dispatch(appId: string, spec: FormatterSpec, sid: string, op: WireOp, fields: Partial<WireCall>, mode: RunMode): Promise<Settled> {
    const timeoutMs = callTimeout(this.options, spec.timeoutMs);
    const call: WireCall = { id: 0, app: appId, op, sid, t: timeoutMs, ...fields };
    const slot = mode === 'test' ? this.processes : hashOf(appId) % this.processes;
    if (mode === 'test') this.touchScratch();
    return new Promise<Settled>((resolve) => {
      const pending: PendingCall = {
        call,
        script: spec.script,
        timeoutMs,
        resent: 0,
        ranInCrash: false,
        settle: (reply, counts = true) => {
          if (!('need' in reply)) return resolve({ reply, counts });
          // The process dropped the source since: once more, with it.
          if (call.src !== undefined) {
            return resolve({ reply: failed(call.id, { kind: 'runtime', message: 'sandbox failure: the script did not reach its process' }), counts: false });
          }
          call.src = spec.script;
          this.submit(slot, pending);
        },
      };
      this.submit(slot, pending);
    });
  }

  private submit(slot: number, pending: PendingCall): void {
    if (this.closed) {
      pending.settle(failed(pending.call.id, { kind: 'runtime', message: 'the plugin is stopping' }), false);
      return;
    }
    const target = this.processAt(slot);
    const sent = this.sentScripts.get(target) ?? new Set<string>();
    const { call } = pending;
    if (!sent.has(call.sid)) {
      call.src = pending.script;
      // Only a hint: a process that dropped a source asks for it again.
      if (sent.size >= 10_000) sent.clear();
      sent.add(call.sid);
    }
    target.submit(pending);
  }

  private touchScratch(): void {
    if (this.scratchIdle) clearTimeout(this.scratchIdle);
    this.scratchIdle = setTimeout(() => {
      const scratch = this.slots[this.processes];
      if (scratch && scratch.load === 0) scratch.kill();
      else this.touchScratch();
    }, SCRATCH_IDLE_MS).unref();
  }

  private scriptId(appId: string, source: string): string {
    const last = this.scriptIds.get(appId);
    if (last && last.source === source) return last.sid;
    const sid = createHash('sha256').update(source).digest('base64url');
    this.scriptIds.set(appId, { source, sid });
    return sid;
  }

  private processAt(slot: number): SupervisedProcess {
    const existing = this.slots[slot];
    if (existing?.alive) return existing;
    // The spare stands in for production processes only.
    const next = this.spare?.alive && slot < this.processes ? this.spare : this.spawn();
    if (next === this.spare) this.spare = undefined;
    this.slots[slot] = next;
    this.slotOf.set(next, slot);
    if (existing && slot < this.processes) {
      this.counters.restarts++;
      // The next death finds a booted process waiting.
      if (this.keepSpare && !this.closed) this.spare = this.spawn();
    }
    return next;
  }

  private spawn(): SupervisedProcess {
    const created = new SupervisedProcess(this.spec, {
      onNotice: (notice) => {
        this.counters.isolated++;
        this.emit({ type: 'isolated', appId: notice.app, why: notice.why });
      },
      onDeath: (dead, death) => this.onDeath(dead, death),
    });
    this.counters.starts++;
    this.sentScripts.set(created, new Set());
    this.watcher ??= setInterval(() => this.watch(), WATCH_INTERVAL_MS).unref();
    return created;
  }

  private watch(): void {
    const now = performance.now();
    const late = now - this.lastWatch > 3 * WATCH_INTERVAL_MS;
    this.lastWatch = now;
    // This loop itself was held up: replies may be waiting unread, so no process is judged now.
    if (late) return;
    for (const p of this.slots) p?.watch(now);
    this.spare?.watch(now);
  }

  private onDeath(dead: SupervisedProcess, death: Death): void {
    if (this.spare === dead) this.spare = undefined;
    const slot = this.slotOf.get(dead);
    // A spare never had calls; the next death starts another.
    if (slot === undefined) return;
    const { overdue, running, unanswered } = death;
    const crashed = !overdue && !this.closed;
    const how = death.signal ? `signal ${death.signal}` : `exit code ${death.code}`;
    const events: PoolEvent[] = [];
    const production = slot < this.processes;
    if (overdue && production) {
      this.counters.kills++;
      events.push({ type: 'killed', appId: overdue.call.app, pid: dead.pid, timeoutMs: overdue.timeoutMs });
    } else if (crashed && production) {
      this.counters.crashes++;
      events.push({ type: 'crashed', pid: dead.pid, signal: death.signal, code: death.code });
    }
    // The application whose call was running pays for the process, whatever else it did well.
    const culprit = overdue ?? (crashed ? running : undefined);
    // A crash gets its call one more try (the process may have been killed from outside), unless
    // that application's calls have stopped a process before.
    if (crashed && running && this.breaker.recentKills(running.call.app, this.now()) > 0) running.ranInCrash = true;
    if (culprit && production) {
      // It took the whole process with it: its calls go one at a time from now on.
      this.estimates.observe(culprit.call.app, culprit.timeoutMs * 2, culprit.timeoutMs);
      const error = overdue ? overdueError(culprit.timeoutMs) : crashError(how);
      const suspension = this.breaker.recordKill(culprit.call.app, error, this.now());
      if (suspension) {
        this.counters.suspensions++;
        events.push({ type: 'suspended', suspension });
      }
    }
    for (const pending of unanswered) {
      const { call } = pending;
      if (pending === overdue) {
        pending.settle(failed(call.id, overdueError(pending.timeoutMs)));
      } else if (overdue && call.app === overdue.call.app) {
        pending.settle(failed(call.id, unrunError()), false);
      } else if (pending === running && crashed && pending.ranInCrash) {
        pending.settle(failed(call.id, crashError(how)));
      } else if (this.closed) {
        pending.settle(failed(call.id, { kind: 'runtime', message: 'the plugin is stopping' }), false);
      } else if (!running && pending.resent >= MAX_RESENDS) {
        // Processes that die with nothing running (they do not boot): nobody to blame, so a bound.
        const why = `formatter processes keep failing: ${dead.stderr.trim().slice(-500) || 'no reason given'}`;
        pending.settle(failed(call.id, { kind: 'runtime', message: why }), false);
      } else {
        // Only the running call had started: the others lose nothing by going again.
        if (pending === running) pending.ranInCrash = true;
        if (!running) pending.resent++;
        this.counters.resent++;
        this.submit(slot, pending);
      }
    }
    // A process and a spare stay ready (the scratch process starts again when needed).
    if (!this.closed && slot < this.processes) this.processAt(slot);
    for (const event of events) this.emit(event);
  }

  private emit(event: PoolEvent): void {
    for (const listener of this.listeners) {
      try {
        listener(event);
      } catch {
        // A listener's failure is its own: the pool goes on.
      }
    }
  }
}

function overdueError(timeoutMs: number): FormatterError {
  return { kind: 'timeout', message: `formatter exceeded the time limit of ${timeoutMs} ms and did not stop; its process was killed` };
}

function crashError(how: string): FormatterError {
  return { kind: 'crash', message: `the formatter process died while running this call (${how})` };
}

function unrunError(): FormatterError {
  return { kind: 'timeout', message: 'not run: an earlier call of this formatter did not stop at its time limit, so its process was killed' };
}

function suspendedError(s: Suspension): FormatterError {
  const why =
    s.kills > 0
      ? `its calls stopped ${s.kills} formatter process${s.kills === 1 ? '' : 'es'} and ${s.failures} calls failed in a row`
      : `${s.failures} timeouts or memory errors in a row`;
  return {
    kind: 'suspended',
    message: `formatter suspended until ${new Date(s.until).toISOString()} after ${why} (last: ${s.lastError.message}); saving a new script resumes it`,
  };
}
