/**
 * One application's formatter scripts in a SharedIsolate: its compiled script versions (one
 * context each, never shared with another application) and the synchronous calls into them.
 *
 * Each script version gets its own context because top-level `let`/`const`/`function` of one
 * version would otherwise clash with, or linger into, the next version of the same script.
 */
import { createHash } from 'node:crypto';
import type ivm from 'isolated-vm';
import { LRUCache } from 'lru-cache';
import type { FormatterError, LogEntry, LogLevel } from '../formatters/contract.js';
import type { ScriptStyle } from '../formatters/javascript-output.js';
import { BRIDGE_OPS, type Bridge, type BridgeOpName } from './bridge.js';
import { fromIsolateException, runtimeError, SCRIPT_FILENAME, syntaxError } from './errors.js';
import type { SharedIsolate } from './shared-isolate.js';
import { ASYNC_FEATURE_MESSAGE, asyncFeaturePosition, asyncFeatureProbe } from './sync-only.js';

export interface SandboxConfig {
  appId: string;
  /** Called when a script's top level has run (or failed), before the call itself: a new time limit starts. */
  loaded?: () => void;
  /** The isolate this application joins (and leaves on dispose). */
  host: SharedIsolate;
  maxScripts: number;
}

/** Which entry point serves each direction, as the bridge resolved them after the top level ran. */
export interface EntryPoints {
  uplink: ScriptStyle | null;
  downlink: ScriptStyle | null;
  decodeDownlink: boolean;
  /** A TTS-style script with normalizeUplink: its uplink replies carry the normalization (see prelude.js). */
  normalizes: boolean;
  /** Thinger functions that may read their second argument (message / device). */
  uplinkReadsMessage: boolean;
  downlinkReadsDevice: boolean;
}

type BridgeFunction = (...args: (string | number | null | undefined)[]) => string;

export interface LoadedScript {
  readonly entries: EntryPoints;
  readonly context: ivm.Context;
  readonly run: ivm.Reference<BridgeFunction>;
  readonly drain: ivm.Reference<BridgeFunction>;
}

export type ScriptSlot = { ok: true; script: LoadedScript } | { ok: false; error: FormatterError };

/** What one bridge `run` does: uplink, uplink without normalizing, downlink (encode), decode downlink. */
export type RunOp = 'u' | 'p' | 'd' | 'x';

/** Inputs of one bridge `run`; `first`/`second` are JSON texts (payload, message, device). */
export interface BridgeCall {
  op: RunOp;
  b64?: string;
  fPort?: number;
  receivedAt?: string;
  first?: string;
  second?: string;
}

export type BridgeReply =
  | { ok: true; value: unknown; logs: LogEntry[] }
  | { ok: false; error: FormatterError; logs: LogEntry[] };

const LOG_LEVELS: ReadonlySet<string> = new Set<LogLevel>(['log', 'info', 'warn', 'error']);
const DRAIN_TIMEOUT_MS = 50;

function scriptHash(script: string): string {
  return createHash('sha256').update('javascript\0').update(script).digest('base64url');
}

/**
 * Checks the bridge's log array. The bridge builds it, but user code runs in the same realm, so the
 * host relies on nothing it has not checked.
 */
function parseLogs(value: unknown): LogEntry[] {
  if (!Array.isArray(value)) return [];
  const logs: LogEntry[] = [];
  for (const entry of value as unknown[]) {
    if (typeof entry !== 'object' || entry === null) continue;
    const { level, message } = entry as { level?: unknown; message?: unknown };
    if (typeof level === 'string' && LOG_LEVELS.has(level) && typeof message === 'string') {
      logs.push({ level: level as LogLevel, message });
    }
  }
  return logs;
}

interface Envelope {
  k?: unknown;
  r?: unknown;
  m?: unknown;
  s?: unknown;
  l?: unknown;
  u?: unknown;
  d?: unknown;
  x?: unknown;
  n?: unknown;
  um?: unknown;
  dm?: unknown;
}

function parseEnvelope(reply: unknown): Envelope | undefined {
  if (typeof reply !== 'string') return undefined;
  try {
    const parsed: unknown = JSON.parse(reply);
    return typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed) ? (parsed as Envelope) : undefined;
  } catch {
    return undefined;
  }
}

const MALFORMED: FormatterError = { kind: 'contract', message: 'the sandbox returned a malformed reply' };

function envelopeError(envelope: Envelope): FormatterError {
  const message = typeof envelope.m === 'string' ? envelope.m : 'unknown error';
  switch (envelope.k) {
    case 'runtime':
      return runtimeError(message, typeof envelope.s === 'string' ? envelope.s : '');
    case 'contract':
    case 'limit':
      return { kind: envelope.k, message };
    default:
      return MALFORMED;
  }
}

function styleOf(value: unknown): ScriptStyle | null {
  return value === 'thinger' || value === 'tts' || value === 'legacy' ? value : null;
}

export class AppSandbox {
  readonly host: SharedIsolate;
  readonly appId: string;
  private readonly isolate: ivm.Isolate;
  private readonly scripts: LRUCache<string, ScriptSlot>;
  /** The last script text and its slot: skips hashing while an application keeps one script. */
  private last: { source: string; slot: ScriptSlot } | undefined;
  private left = false;
  private readonly loaded: (() => void) | undefined;

  constructor(config: SandboxConfig) {
    this.host = config.host;
    this.appId = config.appId;
    this.loaded = config.loaded;
    this.isolate = config.host.isolate;
    config.host.join(config.appId);
    this.scripts = new LRUCache<string, ScriptSlot>({
      max: config.maxScripts,
      dispose: (slot) => {
        if (this.last?.slot === slot) this.last = undefined;
        if (slot.ok && !this.isolate.isDisposed) release(slot.script);
      },
    });
  }

  get disposed(): boolean {
    return this.left || this.isolate.isDisposed;
  }

  /** Compiled script versions held (failed ones included: they are cached too). */
  get scriptCount(): number {
    return this.scripts.size;
  }

  /** The entry points of the script last prepared, when it is this text and loaded. */
  entriesOf(source: string): EntryPoints | undefined {
    const last = this.last;
    return last?.source === source && last.slot.ok ? last.slot.script.entries : undefined;
  }

  /**
   * The loaded script for this text: cached by content hash, else compiled, evaluated (top level
   * bounded by timeoutMs) and cached. Timeouts and memory errors are not cached.
   */
  prepare(source: string, timeoutMs: number): ScriptSlot {
    if (this.last?.source === source) return this.last.slot;
    const hash = scriptHash(source);
    let slot = this.scripts.get(hash);
    if (!slot) {
      slot = this.load(source, timeoutMs);
      this.loaded?.();
      if (!slot.ok && (slot.error.kind === 'timeout' || slot.error.kind === 'memory')) return slot;
      this.scripts.set(hash, slot);
    }
    this.last = { source, slot };
    return slot;
  }

  /** Compiles and evaluates a script in a fresh context without caching it (profile checks). */
  loadOnce(source: string, timeoutMs: number): ScriptSlot {
    const slot = this.load(source, timeoutMs);
    if (slot.ok && !this.disposed) release(slot.script);
    return slot;
  }

  private load(source: string, timeoutMs: number): ScriptSlot {
    // The script alone must compile: this reports syntax errors at the user's own line/column, and
    // guarantees it cannot swallow the suffix the bridge appends when evaluating it.
    try {
      this.isolate.compileScriptSync(source, { filename: SCRIPT_FILENAME }).release();
    } catch (err) {
      if (this.disposed) return { ok: false, error: this.exceptionError(err, timeoutMs) };
      return { ok: false, error: syntaxError(err) };
    }
    const probe = asyncFeatureProbe(source);
    if (probe !== undefined) {
      try {
        this.isolate.compileScriptSync(probe, { filename: SCRIPT_FILENAME }).release();
      } catch (err) {
        if (this.disposed) return { ok: false, error: this.exceptionError(err, timeoutMs) };
        const { line, column } = syntaxError(err);
        const position = line !== undefined && column !== undefined ? asyncFeaturePosition(source, line, column) : {};
        return { ok: false, error: { kind: 'contract', message: ASYNC_FEATURE_MESSAGE, ...position } };
      }
    }
    // Everything created for this context, released together if loading fails.
    const held: { release(): void }[] = [];
    try {
      const context = this.isolate.createContextSync();
      held.push(context);
      const bridge = this.host.prelude.runSync(context, { reference: true }) as ivm.Reference<Bridge>;
      held.push(bridge);
      const ops = {} as Record<BridgeOpName, ivm.Reference<BridgeFunction>>;
      for (const name of BRIDGE_OPS) {
        const ref = bridge.getSync(name, { reference: true }) as ivm.Reference<BridgeFunction>;
        held.push(ref);
        ops[name] = ref;
      }
      const { load, run, drain } = ops;
      const envelope = parseEnvelope(load.applySync(undefined, [source], { timeout: timeoutMs }));
      if (envelope?.k !== 'ok') {
        releaseAll(held);
        return { ok: false, error: envelope ? envelopeError(envelope) : MALFORMED };
      }
      load.release();
      bridge.release();
      const entries: EntryPoints = {
        uplink: styleOf(envelope.u),
        downlink: styleOf(envelope.d),
        decodeDownlink: envelope.x === true,
        normalizes: envelope.n === true,
        uplinkReadsMessage: envelope.um === true,
        downlinkReadsDevice: envelope.dm === true,
      };
      return { ok: true, script: { entries, context, run, drain } };
    } catch (err) {
      const error = this.exceptionError(err, timeoutMs);
      if (!this.disposed) releaseAll(held);
      return { ok: false, error };
    }
  }

  /** One synchronous call into the bridge, bounded by timeoutMs; never throws. */
  call(script: LoadedScript, input: BridgeCall, timeoutMs: number): BridgeReply {
    // Every argument crossing into the isolate costs ~0.3 µs, so the small ones travel as one
    // string (see the prelude's invoke); the JSON texts follow in pieces, `null` between the two.
    let head = `${input.op}${input.fPort ?? ''}:${input.b64 ?? ''}`;
    if (input.receivedAt !== undefined) head += `:${input.receivedAt}`;
    const args: (string | null)[] = [head];
    if (input.first !== undefined) pushPieces(args, input.first);
    if (input.second !== undefined) {
      args.push(null);
      pushPieces(args, input.second);
    }
    let reply: unknown;
    try {
      reply = script.run.applySync(undefined, args, { timeout: timeoutMs });
    } catch (err) {
      return { ok: false, error: this.exceptionError(err, timeoutMs), logs: this.drainLogs(script) };
    }
    const envelope = parseEnvelope(reply);
    if (!envelope) return { ok: false, error: MALFORMED, logs: [] };
    const logs = envelope.l === undefined ? [] : parseLogs(envelope.l);
    if (envelope.k === undefined) return { ok: true, value: envelope.r, logs };
    return { ok: false, error: envelopeError(envelope), logs };
  }

  /** Logs of a call that never returned; empty when the isolate is gone or does not answer. */
  private drainLogs(script: LoadedScript): LogEntry[] {
    if (this.disposed) return [];
    try {
      const reply = script.drain.applySync(undefined, [], { timeout: DRAIN_TIMEOUT_MS });
      return typeof reply === 'string' ? parseLogs(JSON.parse(reply)) : [];
    } catch {
      return [];
    }
  }

  private exceptionError(err: unknown, timeoutMs: number): FormatterError {
    return fromIsolateException(err, this.disposed, { timeoutMs, memoryLimitMb: this.host.memoryLimitMb });
  }

  /** Releases this application's contexts and leaves the isolate (the last tenant disposes it). */
  dispose(): void {
    if (this.left) return;
    this.left = true;
    this.scripts.clear();
    this.last = undefined;
    this.host.leave(this.appId);
  }
}

/**
 * isolated-vm hands a string of 1 KiB or more to the isolate as an external string: its copy lives
 * outside the isolate's heap, which does not count it when deciding to collect. An application that
 * gets one uplink in a hundred then keeps thousands of messages alive (2.4 MB per isolate seen in
 * the bench). Pieces under 1 KiB, even as two-byte strings, are plain heap strings, freed by the
 * isolate's next minor GC; the prelude joins them.
 */
const PIECE = 511;

function pushPieces(args: (string | null)[], text: string): void {
  for (let at = 0; at < text.length; at += PIECE) args.push(text.slice(at, at + PIECE));
}

function releaseAll(handles: { release(): void }[]): void {
  for (const handle of handles) handle.release();
}

function release(script: LoadedScript): void {
  releaseAll([script.run, script.drain, script.context]);
}
