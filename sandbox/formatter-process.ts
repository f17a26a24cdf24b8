/**
 * A formatter process: the entry FormatterPool spawns. It runs calls with a FormatterRuntime, one
 * at a time in the order they came, batches from stdin, and writes each reply to fd 3 as soon as
 * the call ends, with a blocking write: so the pool always knows which call is running, and when
 * this process does not answer, which call to blame.
 *
 * Argument: the RuntimeOptions as JSON. Started with --expose-gc so the runtime can measure what a
 * tenant holds (the prelude removes `gc` from every formatter's context).
 */
import { writeSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import { LRUCache } from 'lru-cache';
import type { FormatterSpec, RunReport } from '../formatters/contract.js';
import { FormatterRuntime, type RuntimeOptions } from './runtime.js';
import { LineReader, type WireCall, type WireLine, type WireReply } from './wire.js';

const REPLY_FD = 3;
/** Script sources kept by id, in characters: enough for every loaded application many times over. */
const MAX_SOURCE_CHARS = 64 * 1024 * 1024;

const sleeper = new Int32Array(new SharedArrayBuffer(4));

/** A whole line to the pool; waits while the pipe is full (the pool reads it on its own loop). */
function send(line: WireLine): void {
  const bytes = Buffer.from(`${JSON.stringify(line)}\n`, 'utf8');
  let at = 0;
  while (at < bytes.length) {
    try {
      at += writeSync(REPLY_FD, bytes, at, bytes.length - at);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EAGAIN') throw err;
      Atomics.wait(sleeper, 0, 0, 1);
    }
  }
}

/**
 * A thread that ends this process when the plugin is gone: the plugin's exit closes stdin, but a
 * call stuck in a built-in never lets this thread's own loop see that.
 */
function guardAgainstOrphaning(): void {
  const source = `
    const { workerData } = require('node:worker_threads');
    setInterval(() => { if (process.ppid !== workerData) process.kill(process.pid, 'SIGKILL'); }, 500);`;
  new Worker(source, { eval: true, workerData: process.ppid, resourceLimits: { maxOldGenerationSizeMb: 8, maxYoungGenerationSizeMb: 1 } }).unref();
}

const options = JSON.parse(process.argv[2] ?? '{}') as RuntimeOptions;
let running = 0;
const runtime = new FormatterRuntime(options, {
  retrying: () => send({ notice: 'retrying', id: running }),
  loaded: () => send({ notice: 'loaded', id: running }),
  isolated: (app, why) => send({ notice: 'isolated', app, why }),
});
const sources = new LRUCache<string, string>({ maxSize: MAX_SOURCE_CHARS, sizeCalculation: (source) => Math.max(1, source.length) });

function bytesOf(b64: string | undefined): Uint8Array {
  return new Uint8Array(Buffer.from(b64 ?? '', 'base64'));
}

async function run(call: WireCall): Promise<WireReply> {
  if (call.op === 's') return { id: call.id, ok: true, output: runtime.stats(), logs: [], warnings: [], durationMs: 0 };
  if (call.src !== undefined) sources.set(call.sid, call.src);
  const script = call.src ?? sources.get(call.sid);
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

let queue: Promise<void> = Promise.resolve();

function onBatch(line: string): void {
  const calls = JSON.parse(line) as WireCall[];
  queue = queue.then(async () => {
    for (const call of calls) {
      running = call.id;
      let reply: WireReply;
      try {
        reply = await run(call);
      } catch (err) {
        const message = `sandbox failure: ${err instanceof Error ? err.message : String(err)}`.slice(0, 2000);
        reply = { id: call.id, ok: false, error: { kind: 'runtime', message }, logs: [], warnings: [], durationMs: 0 };
      }
      send(reply);
    }
  });
}

guardAgainstOrphaning();
// Warm up (the prelude's code cache, the first isolate) before the pool starts timing calls.
runtime.check({ type: 'javascript', script: 'module.exports.uplink = function () { return {}; };', timeoutMs: 1000 });
const reader = new LineReader(Number.MAX_SAFE_INTEGER, onBatch);
process.stdin.setEncoding('utf8');
process.stdin.on('data', (chunk: string) => reader.push(chunk));
process.stdin.on('end', () => process.exit(0));
send({ notice: 'ready' });
