/**
 * FormatterRuntime: runs an application's formatter (javascript in contexts of its own inside a
 * shared isolate, cayennelpp and none on the host) and reports the outcome. Runs never throw for
 * user-script problems.
 *
 * This is the engine of one formatter process (formatter-service.ts): the plugin never runs it on
 * its own event loop, because some V8 built-ins (a default sort, `includes` on a huge array-like)
 * do not stop at the time limit. FormatterPool supervises the processes and kills one whose call
 * does not end.
 *
 * Applications are packed into isolates, `appsPerIsolate` at most each (see shared-isolate.ts for
 * why). When a shared isolate runs out of memory, the call that was running is not blamed for it:
 * every tenant of that isolate goes on probation in an isolate of its own, the call runs once more
 * there, and each tenant's heap is measured after each of its next PROBATION_CALLS successful
 * calls. The one that holds more than its share stays alone; the others go back to sharing. An application that exhausts an
 * isolate of its own, or is a tenant of two isolates that ran out, stays alone too.
 *
 * Calls into isolates are synchronous (applySync with a timeout): ~3 µs per call against 20-50 µs
 * for an awaited async apply (bench/sandbox.ts).
 */
import { LRUCache } from 'lru-cache';
import { bytesToBase64 } from '../formatters/base64.js';
import type {
  DecodeDownlinkCall,
  DownlinkCall,
  DownlinkOutput,
  FormatterError,
  FormatterSpec,
  JsonObject,
  LogEntry,
  RunReport,
  UplinkCall,
  UplinkReport,
} from '../formatters/contract.js';
import { decodeDownlinkOutput, downlinkOutput } from '../formatters/javascript-output.js';
import { decodedUplink, type DecodedUplink } from '../formatters/normalized-payload.js';
import { failure, type Outcome } from '../formatters/outcome.js';
import { builtinDecodeDownlink, builtinDownlink, builtinUplink } from './builtins.js';
import { AppSandbox, type BridgeCall, type EntryPoints } from './app-sandbox.js';
import { contractError, limitError, runtimeError } from './errors.js';
import { callTimeout, resolveOptions, type ResolvedOptions, type RuntimeOptions } from './options.js';
import { Prelude } from './prelude.js';
import { runReport, uplinkReport } from './run-report.js';
import { SharedIsolate } from './shared-isolate.js';

export type { RuntimeOptions } from './options.js';

const MAX_OUTPUT_DEPTH = 100;
const MIB = 1024 * 1024;
/** Successful calls an application on probation is measured after. */
const PROBATION_CALLS = 5;

/** What the runtime tells its owner (the formatter process passes it on to the plugin). */
export interface RuntimeHooks {
  /** The running call failed with its shared isolate and runs again in an isolate of its own. */
  retrying?(): void;
  /** The running call's script was loaded (its top level ran): the call's own time limit starts. */
  loaded?(): void;
  /** An application is kept in an isolate of its own from now on, and why. */
  isolated?(appId: string, why: string): void;
}

/** One try of a call: its outcome, and whether it failed with a shared isolate that ran out of memory. */
interface Attempt<T> {
  outcome: Outcome<T>;
  logs: LogEntry[];
  sharedDeath: boolean;
}

const NO_ENTRY_POINT =
  'script defines no formatter: set module.exports.uplink / module.exports.downlink (Thinger style) ' +
  'or define decodeUplink, encodeDownlink, decodeDownlink, Decoder or Encoder (TTS style)';

/** How one operation uses a loaded script: its entry point, bridge arguments and output contract. */
interface Operation<T> {
  /** The missing-entry-point message, or undefined when the script serves this operation. */
  missing(entries: EntryPoints): string | undefined;
  input(entries: EntryPoints): BridgeCall;
  interpret(entries: EntryPoints, value: unknown): Outcome<T>;
}

/** JSON text for the isolate; a top-level `undefined` downlink payload is sent as null. */
function jsonArgument(value: unknown): string {
  return JSON.stringify(value) ?? 'null';
}

export class FormatterRuntime {
  private readonly options: ResolvedOptions;
  private readonly prelude: Prelude;
  private readonly sandboxes: LRUCache<string, AppSandbox>;
  /** The isolates applications share (disposed ones are dropped when met). */
  private shared: SharedIsolate[] = [];
  /** Applications kept in isolates of their own (they held, or exhausted, the memory). */
  private readonly solo = new LRUCache<string, true>({ max: 1000 });
  /** Tenants of a shared isolate that ran out of memory, alone until measured. */
  private readonly probation = new LRUCache<string, { calls: number }>({ max: 1000 });
  /** How many shared isolates each application was in when they ran out of memory. */
  private readonly deaths = new LRUCache<string, number>({ max: 10_000 });
  /** The heap of an isolate holding one trivial formatter, after a full collection. */
  private baselineBytes: number | undefined;
  /** Used by check(); never holds a script after a check. */
  private checker: AppSandbox | undefined;

  constructor(
    options: RuntimeOptions = {},
    private readonly hooks: RuntimeHooks = {},
  ) {
    this.options = resolveOptions(options);
    this.prelude = new Prelude({
      maxLogEntries: this.options.maxLogEntries,
      maxLogChars: this.options.maxLogChars,
      maxOutputChars: this.options.maxOutputChars,
      maxDepth: MAX_OUTPUT_DEPTH,
    });
    this.sandboxes = new LRUCache<string, AppSandbox>({
      max: this.options.maxApps,
      dispose: (sandbox) => sandbox.dispose(),
    });
  }

  check(spec: FormatterSpec): FormatterError | null {
    if (spec.type !== 'javascript') return null;
    const tooLarge = this.sizeError(spec.script);
    if (tooLarge) return tooLarge;
    if (!this.checker || this.checker.disposed) this.checker = this.newSandbox('', this.newIsolate(1));
    const slot = this.checker.loadOnce(spec.script, callTimeout(this.options, spec.timeoutMs));
    if (!slot.ok) return slot.error;
    const { uplink, downlink, decodeDownlink } = slot.script.entries;
    return uplink || downlink || decodeDownlink ? null : contractError(NO_ENTRY_POINT);
  }

  async runUplink(appId: string, spec: FormatterSpec, call: UplinkCall): Promise<UplinkReport> {
    const started = performance.now();
    if (spec.type !== 'javascript') return builtinUplink(spec.type, call);
    // Told apart by the script's entry points, once loaded: only a TTS-style normalizeUplink changes the reply.
    const normalizing = (entries: EntryPoints) => entries.normalizes && call.networkNormalized !== true;
    const report = this.runScript<DecodedUplink>(started, appId, spec, {
      missing: (entries) =>
        entries.uplink ? undefined : 'script defines no uplink function (module.exports.uplink, decodeUplink or Decoder)',
      input: (entries) => ({
        op: call.networkNormalized ? 'p' : 'u',
        b64: bytesToBase64(call.bytes),
        fPort: call.fPort,
        receivedAt: entries.uplink === 'tts' ? call.receivedAt : undefined,
        // Thinger uplinks get decoded_payload when TTS decoded the message; TTS styles get bytes.
        first:
          entries.uplink === 'thinger' && call.decodedPayload !== undefined ? JSON.stringify(call.decodedPayload) : undefined,
        second: entries.uplinkReadsMessage ? (call.messageJson ?? JSON.stringify(call.message)) : undefined,
      }),
      interpret: (entries, value) => decodedUplink(entries.uplink ?? 'thinger', normalizing(entries), value, runtimeError),
    });
    return uplinkReport(report);
  }

  async runDownlink(appId: string, spec: FormatterSpec, call: DownlinkCall): Promise<RunReport<DownlinkOutput>> {
    const started = performance.now();
    if (spec.type !== 'javascript') return builtinDownlink(spec.type, call);
    return this.runScript(started, appId, spec, {
      missing: (entries) =>
        entries.downlink ? undefined : 'script defines no downlink function (module.exports.downlink, encodeDownlink or Encoder)',
      input: (entries) => ({
        op: 'd',
        fPort: call.fPort,
        first: jsonArgument(call.payload),
        second: entries.downlinkReadsDevice && call.device !== undefined ? JSON.stringify(call.device) : undefined,
      }),
      interpret: (entries, value) => downlinkOutput(entries.downlink ?? 'thinger', value, call.fPort),
    });
  }

  async runDecodeDownlink(appId: string, spec: FormatterSpec, call: DecodeDownlinkCall): Promise<RunReport<JsonObject>> {
    const started = performance.now();
    if (spec.type !== 'javascript') return builtinDecodeDownlink(spec.type, call);
    return this.runScript(started, appId, spec, {
      missing: (entries) => (entries.decodeDownlink ? undefined : 'script defines no decodeDownlink function'),
      input: () => ({ op: 'x', b64: bytesToBase64(call.bytes), fPort: call.fPort }),
      interpret: (_entries, value) => decodeDownlinkOutput(value),
    });
  }

  /** Whether the uplink function of this application's loaded script may read the message; undefined when not loaded. */
  uplinkReadsMessage(appId: string, script: string): boolean | undefined {
    return this.sandboxes.peek(appId)?.entriesOf(script)?.uplinkReadsMessage;
  }

  /**
   * Applications loaded, the isolates they are in, their compiled scripts, and the isolates' memory
   * (heap committed, and held outside the heap).
   */
  stats(): { apps: number; isolates: number; scripts: number; heapBytes: number; externalBytes: number } {
    const isolates = new Set<SharedIsolate>();
    let apps = 0;
    let scripts = 0;
    for (const sandbox of this.sandboxes.values()) {
      if (sandbox.disposed) continue;
      apps++;
      scripts += sandbox.scriptCount;
      isolates.add(sandbox.host);
    }
    const stats = { apps, isolates: isolates.size, scripts, heapBytes: 0, externalBytes: 0 };
    for (const isolate of isolates) {
      const memory = isolate.memory();
      stats.heapBytes += memory.heapBytes;
      stats.externalBytes += memory.externalBytes;
    }
    return stats;
  }

  dispose(): void {
    this.sandboxes.clear();
    this.shared = [];
    this.checker?.dispose();
    this.checker = undefined;
  }

  private runScript<T>(started: number, appId: string, spec: FormatterSpec, operation: Operation<T>): RunReport<T> {
    const tooLarge = this.sizeError(spec.script);
    if (tooLarge) return runReport(started, failure(tooLarge));
    const timeoutMs = callTimeout(this.options, spec.timeoutMs);
    let attempt = this.attempt(appId, spec, operation, timeoutMs);
    if (attempt.sharedDeath) {
      // Not blamed yet: the call runs again with this application on probation, alone.
      this.hooks.retrying?.();
      attempt = this.attempt(appId, spec, operation, timeoutMs);
    }
    return runReport(started, attempt.outcome, attempt.logs);
  }

  private attempt<T>(appId: string, spec: FormatterSpec, operation: Operation<T>, timeoutMs: number): Attempt<T> {
    const sandbox = this.sandboxFor(appId);
    const slot = sandbox.prepare(spec.script, timeoutMs);
    if (!slot.ok) return this.failed(appId, sandbox, slot.error, []);
    const { script } = slot;
    const missing = operation.missing(script.entries);
    if (missing !== undefined) return { outcome: failure(contractError(missing)), logs: [], sharedDeath: false };
    let input: BridgeCall;
    try {
      input = operation.input(script.entries);
    } catch (err) {
      // Only JSON.stringify of the caller's payload/message can throw (cycles, BigInt).
      const message = `input is not JSON: ${err instanceof Error ? err.message : String(err)}`;
      return { outcome: failure(contractError(message)), logs: [], sharedDeath: false };
    }
    const reply = sandbox.call(script, input, timeoutMs);
    if (!reply.ok) return this.failed(appId, sandbox, reply.error, reply.logs);
    if (this.probation.has(appId)) this.measure(appId, sandbox);
    return { outcome: operation.interpret(script.entries, reply.value), logs: reply.logs, sharedDeath: false };
  }

  /** Whether an application's sandbox would be created in an isolate of its own. */
  private alone(appId: string): boolean {
    return this.solo.has(appId) || this.probation.has(appId);
  }

  private sandboxFor(appId: string): AppSandbox {
    let sandbox = this.sandboxes.get(appId);
    if (!sandbox || sandbox.disposed) {
      // Whoever leaves (the old sandbox of a disposed isolate, or the least recently used
      // application when all places are taken) does so before the new sandbox takes a place.
      if (sandbox) this.sandboxes.delete(appId);
      else if (this.sandboxes.size >= this.options.maxApps) this.sandboxes.pop();
      sandbox = this.newSandbox(appId, this.alone(appId) ? this.newIsolate(1) : this.sharedIsolate());
      this.sandboxes.set(appId, sandbox);
    }
    return sandbox;
  }

  /** The first isolate with room, else a new one. */
  private sharedIsolate(): SharedIsolate {
    this.shared = this.shared.filter((isolate) => !isolate.disposed);
    const found = this.shared.find((isolate) => isolate.open);
    if (found) return found;
    const created = this.newIsolate(this.options.appsPerIsolate);
    this.shared.push(created);
    return created;
  }

  private newIsolate(capacity: number): SharedIsolate {
    return new SharedIsolate(this.prelude, this.options.memoryLimitMb, capacity);
  }

  private newSandbox(appId: string, host: SharedIsolate): AppSandbox {
    const loaded = this.hooks.loaded;
    return new AppSandbox({ appId, host, maxScripts: this.options.maxScriptsPerApp, ...(loaded ? { loaded } : {}) });
  }

  /**
   * After a failed try: a shared isolate that ran out of memory puts its tenants on probation (and
   * the call is tried again); an isolate of its own that ran out keeps the application alone.
   */
  private failed<T>(appId: string, sandbox: AppSandbox, error: FormatterError, logs: LogEntry[]): Attempt<T> {
    let sharedDeath = false;
    if (error.kind === 'memory') {
      if (sandbox.host.shared) {
        this.sharedIsolateDied(sandbox.host);
        sharedDeath = true;
      } else {
        this.keepAlone(appId, `it exhausted the ${this.options.memoryLimitMb} MB of an isolate of its own`);
      }
    }
    if (sandbox.disposed && this.sandboxes.peek(appId) === sandbox) this.sandboxes.delete(appId);
    return { outcome: failure(error), logs, sharedDeath };
  }

  private sharedIsolateDied(host: SharedIsolate): void {
    for (const tenant of host.tenants) {
      const deaths = (this.deaths.get(tenant) ?? 0) + 1;
      this.deaths.set(tenant, deaths);
      if (deaths >= 2) this.keepAlone(tenant, `it was in ${deaths} shared isolates that ran out of memory`);
      else if (!this.solo.has(tenant)) this.probation.set(tenant, { calls: 0 });
    }
  }

  /**
   * One measurement of an application on probation, after a successful call: what its isolate holds
   * after a full collection, less what a trivial formatter's holds, against its share of a shared
   * isolate. Several calls, so a formatter that builds its hoard after its first call is seen too.
   */
  private measure(appId: string, sandbox: AppSandbox): void {
    const probation = this.probation.get(appId);
    if (!probation || sandbox.host.shared) return;
    const held = Math.max(0, sandbox.host.retainedBytes() - this.baseline());
    const share = (this.options.memoryLimitMb * MIB) / this.options.appsPerIsolate;
    if (held > share) {
      this.keepAlone(appId, `it held ${(held / MIB).toFixed(1)} MB, over its ${(share / MIB).toFixed(1)} MB share of a shared isolate`);
    } else if (++probation.calls >= PROBATION_CALLS) {
      // Innocent: back to a shared isolate with its next call.
      this.probation.delete(appId);
      this.sandboxes.delete(appId);
    }
  }

  private baseline(): number {
    if (this.baselineBytes === undefined) {
      const sandbox = this.newSandbox('', this.newIsolate(1));
      sandbox.prepare('module.exports.uplink = function () { return {}; };', this.options.maxTimeoutMs);
      this.baselineBytes = sandbox.host.retainedBytes();
      sandbox.dispose();
    }
    return this.baselineBytes;
  }

  private keepAlone(appId: string, why: string): void {
    this.probation.delete(appId);
    if (this.solo.has(appId)) return;
    this.solo.set(appId, true);
    this.hooks.isolated?.(appId, why);
  }

  private sizeError(script: string): FormatterError | undefined {
    const max = this.options.maxScriptBytes;
    // UTF-8 needs at most 3 bytes per UTF-16 unit: short scripts skip the byte count.
    if (script.length * 3 <= max) return undefined;
    const bytes = Buffer.byteLength(script, 'utf8');
    return bytes > max ? limitError(`script is ${bytes} bytes, over the limit of ${max} bytes`) : undefined;
  }
}
