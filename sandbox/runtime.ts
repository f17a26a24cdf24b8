/**
 * FormatterRuntime: runs an application's formatter (javascript in contexts of its own inside a
 * shared isolate, cayennelpp and none on the host) and reports the outcome. Runs never throw for
 * user-script problems.
 *
 * Applications are packed into isolates, `appsPerIsolate` at most each (see shared-isolate.ts for
 * why); one whose formatter exhausts its isolate's heap gets an isolate of its own from then on, so
 * it cannot reset its neighbours twice.
 *
 * Calls into isolates are synchronous (applySync with a timeout): ~3 µs per call against 20-50 µs
 * for an awaited async apply (bench/sandbox.ts), and the time limit bounds how long the event loop
 * is held either way. That bound holds because no user code can run after the limit has ended:
 * user exceptions never leave the isolate (prelude.ts) and promises do not exist (sync-only.ts).
 */
import { LRUCache } from 'lru-cache';
import { bytesToBase64 } from '../formatters/base64.js';
import { cayenneDecodeDownlink, cayenneDownlink, cayenneUplink } from '../formatters/cayennelpp.js';
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
} from '../formatters/contract.js';
import { decodeDownlinkOutput, downlinkOutput, uplinkOutput } from '../formatters/javascript-output.js';
import { noneDecodeDownlink, noneDownlink, noneUplink } from '../formatters/none.js';
import { failure, type Outcome } from '../formatters/outcome.js';
import { AppSandbox, type BridgeCall, type EntryPoints } from './app-sandbox.js';
import { contractError, limitError } from './errors.js';
import { callTimeout, resolveOptions, type ResolvedOptions, type RuntimeOptions } from './options.js';
import { Prelude } from './prelude.js';
import { SharedIsolate } from './shared-isolate.js';

export type { RuntimeOptions } from './options.js';

const MAX_OUTPUT_DEPTH = 100;

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

function report<T>(started: number, outcome: Outcome<T>, logs: LogEntry[] = []): RunReport<T> {
  const durationMs = performance.now() - started;
  if (outcome.ok) return { ok: true, output: outcome.output, logs, warnings: outcome.warnings, durationMs };
  return { ok: false, error: outcome.error, logs, warnings: outcome.warnings, durationMs };
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
  /** Applications that exhausted a shared isolate's heap: they get isolates of their own. */
  private readonly solo = new LRUCache<string, true>({ max: 1000 });
  /** Used by check(); never holds a script after a check. */
  private checker: AppSandbox | undefined;

  constructor(options: RuntimeOptions = {}) {
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
    if (!this.checker || this.checker.disposed) this.checker = this.newSandbox(this.newIsolate(1));
    const slot = this.checker.loadOnce(spec.script, callTimeout(this.options, spec.timeoutMs));
    if (!slot.ok) return slot.error;
    const { uplink, downlink, decodeDownlink } = slot.script.entries;
    return uplink || downlink || decodeDownlink ? null : contractError(NO_ENTRY_POINT);
  }

  async runUplink(appId: string, spec: FormatterSpec, call: UplinkCall): Promise<RunReport<JsonObject>> {
    const started = performance.now();
    switch (spec.type) {
      case 'none':
        return report(started, noneUplink(call));
      case 'cayennelpp':
        return report(started, cayenneUplink(call));
      case 'javascript':
        return this.runScript(started, appId, spec, {
          missing: (entries) =>
            entries.uplink ? undefined : 'script defines no uplink function (module.exports.uplink, decodeUplink or Decoder)',
          input: (entries) => ({
            op: 'u',
            b64: bytesToBase64(call.bytes),
            fPort: call.fPort,
            receivedAt: entries.uplink === 'tts' ? call.receivedAt : undefined,
            // Thinger uplinks get decoded_payload when TTS decoded the message; TTS styles get bytes.
            first:
              entries.uplink === 'thinger' && call.decodedPayload !== undefined ? JSON.stringify(call.decodedPayload) : undefined,
            second: entries.uplinkReadsMessage ? (call.messageJson ?? JSON.stringify(call.message)) : undefined,
          }),
          interpret: (entries, value) => uplinkOutput(entries.uplink ?? 'thinger', value),
        });
    }
  }

  async runDownlink(appId: string, spec: FormatterSpec, call: DownlinkCall): Promise<RunReport<DownlinkOutput>> {
    const started = performance.now();
    switch (spec.type) {
      case 'none':
        return report(started, noneDownlink(call));
      case 'cayennelpp':
        return report(started, cayenneDownlink(call));
      case 'javascript':
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
  }

  async runDecodeDownlink(appId: string, spec: FormatterSpec, call: DecodeDownlinkCall): Promise<RunReport<JsonObject>> {
    const started = performance.now();
    switch (spec.type) {
      case 'none':
        return report(started, noneDecodeDownlink(call));
      case 'cayennelpp':
        return report(started, cayenneDecodeDownlink(call));
      case 'javascript':
        return this.runScript(started, appId, spec, {
          missing: (entries) => (entries.decodeDownlink ? undefined : 'script defines no decodeDownlink function'),
          input: () => ({ op: 'x', b64: bytesToBase64(call.bytes), fPort: call.fPort }),
          interpret: (_entries, value) => decodeDownlinkOutput(value),
        });
    }
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
    if (tooLarge) return report(started, failure(tooLarge));
    const timeoutMs = callTimeout(this.options, spec.timeoutMs);
    const sandbox = this.sandboxFor(appId);
    const slot = sandbox.prepare(spec.script, timeoutMs);
    if (!slot.ok) {
      this.afterFailure(appId, sandbox, slot.error);
      return report(started, failure(slot.error));
    }
    const { script } = slot;
    const missing = operation.missing(script.entries);
    if (missing !== undefined) return report(started, failure(contractError(missing)));
    let input: BridgeCall;
    try {
      input = operation.input(script.entries);
    } catch (err) {
      // Only JSON.stringify of the caller's payload/message can throw (cycles, BigInt).
      return report(started, failure(contractError(`input is not JSON: ${err instanceof Error ? err.message : String(err)}`)));
    }
    const reply = sandbox.call(script, input, timeoutMs);
    if (!reply.ok) {
      this.afterFailure(appId, sandbox, reply.error);
      return report(started, failure(reply.error), reply.logs);
    }
    return report(started, operation.interpret(script.entries, reply.value), reply.logs);
  }

  private sandboxFor(appId: string): AppSandbox {
    let sandbox = this.sandboxes.get(appId);
    if (!sandbox || sandbox.disposed) {
      // Whoever leaves (the old sandbox of a disposed isolate, or the least recently used
      // application when all places are taken) does so before the new sandbox takes a place.
      if (sandbox) this.sandboxes.delete(appId);
      else if (this.sandboxes.size >= this.options.maxApps) this.sandboxes.pop();
      sandbox = this.newSandbox(this.solo.has(appId) ? this.newIsolate(1) : this.sharedIsolate());
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

  private newSandbox(host: SharedIsolate): AppSandbox {
    return new AppSandbox({ host, maxScripts: this.options.maxScriptsPerApp });
  }

  /**
   * An application whose formatter (top level or call) exhausted the heap gets an isolate of its own
   * from now on; an isolate killed by its memory limit is dropped, the next call creates a fresh one.
   */
  private afterFailure(appId: string, sandbox: AppSandbox, error: FormatterError): void {
    if (error.kind === 'memory') this.solo.set(appId, true);
    if (sandbox.disposed && this.sandboxes.peek(appId) === sandbox) this.sandboxes.delete(appId);
  }

  private sizeError(script: string): FormatterError | undefined {
    const max = this.options.maxScriptBytes;
    // UTF-8 needs at most 3 bytes per UTF-16 unit: short scripts skip the byte count.
    if (script.length * 3 <= max) return undefined;
    const bytes = Buffer.byteLength(script, 'utf8');
    return bytes > max ? limitError(`script is ${bytes} bytes, over the limit of ${max} bytes`) : undefined;
  }
}
