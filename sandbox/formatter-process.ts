/**
 * A formatter process: the entry FormatterPool spawns. Only the process wiring is here; what it
 * does with the calls (runs them one at a time in the order they came, answers each as soon as it
 * ends) is FormatterService (formatter-service.ts). Batches of calls come on stdin; each reply goes
 * to fd 3 with a blocking write, so it leaves before the next call starts: the pool always knows
 * which call is running, and when this process does not answer, which call to blame.
 *
 * Argument: the RuntimeOptions as JSON. Started with --expose-gc so the runtime can measure what a
 * tenant holds (the prelude removes `gc` from every formatter's context).
 */
import { writeSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import { FormatterService } from './formatter-service.js';
import type { RuntimeOptions } from './runtime.js';
import type { WireLine } from './wire.js';

const REPLY_FD = 3;

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
const service = new FormatterService(options, send);

guardAgainstOrphaning();
service.warmUp();
process.stdin.setEncoding('utf8');
process.stdin.on('data', (chunk: string) => service.push(chunk));
process.stdin.on('end', () => process.exit(0));
send({ notice: 'ready' });
