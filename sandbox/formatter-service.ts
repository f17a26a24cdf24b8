/**
 * What a formatter process does with the calls the pool sends it (formatter-process.ts keeps only
 * the process wiring, so this runs, and is tested, in any process): it runs them with a
 * FormatterRuntime, one at a time in the order they came, and hands each reply to `send` as soon as
 * the call ends: so the pool always knows which call is running, and when the process does not
 * answer, which call to blame.
 *
 * Scripts travel by content hash: a call carries its source only when the process may not have it
 * yet, and a call for a source this service no longer has is answered `need: 'script'`.
 */
import { LRUCache } from 'lru-cache';
import type { FormatterSpec, RunReport } from '../formatters/contract.js';
import { FormatterRuntime, type RuntimeOptions } from './runtime.js';
import { LineReader, type WireCall, type WireLine, type WireReply } from './wire.js';

/** Script sources kept by id, in characters: enough for every loaded application many times over. */
const MAX_SOURCE_CHARS = 64 * 1024 * 1024;
/** Longest part of a failure's message sent: a thrown message may be any size. */
const MAX_FAILURE_CHARS = 2000;

function bytesOf(b64: string | undefined): Uint8Array {
  return new Uint8Array(Buffer.from(b64 ?? '', 'base64'));
}

export class FormatterService {
  private readonly runtime: FormatterRuntime;
  private readonly sources = new LRUCache<string, string>({ maxSize: MAX_SOURCE_CHARS, sizeCalculation: (source) => Math.max(1, source.length) });
  /** No limit of its own: the pool writes what it chose to send. */
  private readonly reader = new LineReader(Number.MAX_SAFE_INTEGER, (line) => this.onBatch(line));
  /** Every batch received so far, run in order. */
  private queue: Promise<void> = Promise.resolve();
  /** The id of the call running now: the runtime's notices are about it. */
  private running = 0;

  constructor(
    options: RuntimeOptions,
    private readonly send: (line: WireLine) => void,
  ) {
    this.runtime = new FormatterRuntime(options, {
      retrying: () => send({ notice: 'retrying', id: this.running }),
      loaded: () => send({ notice: 'loaded', id: this.running }),
      isolated: (app, why) => send({ notice: 'isolated', app, why }),
    });
  }

  /** Warms up (the prelude's code cache, the first isolate) before the pool starts timing calls. */
  warmUp(): void {
    this.runtime.check({ type: 'javascript', script: 'module.exports.uplink = function () { return {}; };', timeoutMs: 1000 });
  }

  /** Text from the pool, cut anywhere: each whole line is a JSON array of calls. */
  push(chunk: string): void {
    this.reader.push(chunk);
  }

  /** Settles once every call received so far has been answered. */
  idle(): Promise<void> {
    return this.queue;
  }

  dispose(): void {
    this.runtime.dispose();
  }

  private onBatch(line: string): void {
    const calls = JSON.parse(line) as WireCall[];
    this.queue = this.queue.then(async () => {
      for (const call of calls) {
        this.running = call.id;
        let reply: WireReply;
        try {
          reply = await this.run(call);
        } catch (err) {
          const message = `sandbox failure: ${err instanceof Error ? err.message : String(err)}`.slice(0, MAX_FAILURE_CHARS);
          reply = { id: call.id, ok: false, error: { kind: 'runtime', message }, logs: [], warnings: [], durationMs: 0 };
        }
        this.send(reply);
      }
    });
  }

  private async run(call: WireCall): Promise<WireReply> {
    const runtime = this.runtime;
    if (call.op === 's') return { id: call.id, ok: true, output: runtime.stats(), logs: [], warnings: [], durationMs: 0 };
    if (call.src !== undefined) this.sources.set(call.sid, call.src);
    const script = call.src ?? this.sources.get(call.sid);
    if (script === undefined) return { id: call.id, need: 'script' };
    const spec: FormatterSpec = { type: 'javascript', script, timeoutMs: call.t };
    const started = performance.now();
    let report: RunReport<unknown>;
    switch (call.op) {
      case 'u':
        report = await runtime.runUplink(call.app, spec, {
          bytes: bytesOf(call.b),
          fPort: call.fPort ?? 0,
          ...(call.decoded ? { decodedPayload: call.decoded } : {}),
          ...(call.receivedAt !== undefined ? { receivedAt: call.receivedAt } : {}),
          ...(call.nn ? { networkNormalized: true } : {}),
          message: {},
          // Left out only for scripts this process said do not read it.
          messageJson: call.message ?? '{}',
        });
        return { id: call.id, ...report, readsMessage: runtime.uplinkReadsMessage(call.app, script) ?? true };
      case 'd':
        report = await runtime.runDownlink(call.app, spec, {
          payload: call.payload,
          ...(call.fPort !== undefined ? { fPort: call.fPort } : {}),
          ...(call.device ? { device: call.device } : {}),
        });
        return { id: call.id, ...report };
      case 'x':
        report = await runtime.runDecodeDownlink(call.app, spec, { bytes: bytesOf(call.b), fPort: call.fPort ?? 0 });
        return { id: call.id, ...report };
      case 'c': {
        const error = runtime.check(spec);
        return { id: call.id, ok: error === null, ...(error ? { error } : {}), logs: [], warnings: [], durationMs: performance.now() - started };
      }
    }
  }
}
