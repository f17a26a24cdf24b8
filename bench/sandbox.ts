/**
 * Formatter sandbox benchmark: `npm run bench:sandbox`.
 *
 * Decodes per second of a typical 4-byte decoder through FormatterRuntime (isolated-vm) next to the
 * same function in plain node:vm (no isolation: the unsafe baseline), the same through the plugin's
 * FormatterPool (formatter processes: what a call costs the plugin's own thread, and all threads),
 * the cost of a synchronous versus an asynchronous isolated-vm call, and the RSS of 100
 * applications' formatters (isolates shared or not).
 * Each measurement runs for a bounded time; figures go to stdout.
 */
import vm from 'node:vm';
import ivm from 'isolated-vm';
import type { FormatterSpec, UplinkCall } from '../formatters/contract.js';
import { templateScript } from '../formatters/templates.js';
import { FormatterPool } from '../sandbox/formatter-pool.js';
import { benchDevice, bodyTemplate, thingerScript } from './uplinks.js';
import { FormatterRuntime } from '../sandbox/runtime.js';

const RUN_MS = 800;
const WARMUP_MS = 200;

/** Calls per second of `step`, run back to back for RUN_MS after a warm-up. */
async function rate(step: () => unknown): Promise<number> {
  for (const until = performance.now() + WARMUP_MS; performance.now() < until; ) await step();
  let calls = 0;
  const started = performance.now();
  let now = started;
  while (now - started < RUN_MS) {
    for (let i = 0; i < 1000; i++) await step();
    calls += 1000;
    now = performance.now();
  }
  return calls / ((now - started) / 1000);
}

const bytes = Uint8Array.from([0x09, 0x29, 0x1a, 0x0a]);
const call: UplinkCall = { bytes, fPort: 2, message: {}, receivedAt: '2025-04-16T11:54:13.995Z' };
const base64 = (): string => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');

/** The same script in a node:vm context with the host's Buffer: what running it unsandboxed costs. */
function nodeVm(script: string): { module: { exports: Record<string, (...args: unknown[]) => unknown> }; decodeUplink?: (input: unknown) => unknown } {
  const context = vm.createContext({ Buffer, module: { exports: {} } });
  vm.runInContext(script, context);
  return context as ReturnType<typeof nodeVm>;
}

async function throughput(runtime: FormatterRuntime): Promise<void> {
  const thinger: FormatterSpec = { type: 'javascript', script: templateScript('thinger-temperature-humidity'), timeoutMs: 100 };
  const tts: FormatterSpec = { type: 'javascript', script: templateScript('tts-temperature-humidity'), timeoutMs: 100 };
  const thingerVm = nodeVm(thinger.script).module.exports.uplink;
  const ttsVm = nodeVm(tts.script).decodeUplink;
  if (!thingerVm || !ttsVm) throw new Error('templates changed: no uplink function');

  const rows: [string, number, number][] = [
    [
      'Thinger uplink (Buffer.readInt16BE)',
      await rate(() => runtime.runUplink('bench-thinger', thinger, call)),
      await rate(() => thingerVm(base64())),
    ],
    [
      'TTS decodeUplink (bytes array)',
      await rate(() => runtime.runUplink('bench-tts', tts, call)),
      await rate(() => ttsVm({ bytes: Array.from(bytes), fPort: call.fPort, recvTime: new Date(call.receivedAt ?? 0) })),
    ],
  ];
  console.log('\nDecodes per second, one core, calls back to back');
  console.log(`${'decoder'.padEnd(38)}${'isolated-vm'.padStart(14)}${'node:vm'.padStart(14)}${'ratio'.padStart(9)}`);
  for (const [name, sandboxed, plain] of rows) {
    console.log(
      `${name.padEnd(38)}${Math.round(sandboxed).toLocaleString('en').padStart(14)}` +
        `${Math.round(plain).toLocaleString('en').padStart(14)}${(plain / sandboxed).toFixed(1).padStart(8)}x`,
    );
  }
}

/**
 * Formatters through formatter processes, as the plugin calls them: awaited one at a time (a round
 * trip each), and 50 in flight (batched per event-loop turn). CPU per call on this process's
 * threads and in all (the formatter processes too). The bench's own formatter reads the webhook's
 * message, so the whole 2.4 KB body crosses to the process; the template's does not.
 */
async function throughProcesses(): Promise<void> {
  const pool = new FormatterPool();
  pool.start();
  const messageJson = (() => {
    const { head, tail } = bodyTemplate(benchDevice(1, 'bench-pool'), 'token');
    return `${head}1${tail}`;
  })();
  const withMessage: UplinkCall = { ...call, message: JSON.parse(messageJson) as UplinkCall['message'], messageJson };
  const formatters: [string, FormatterSpec][] = [
    ['template (no message)', { type: 'javascript', script: templateScript('thinger-temperature-humidity'), timeoutMs: 100 }],
    ["bench's (reads the message)", { type: 'javascript', script: thingerScript(), timeoutMs: 100 }],
  ];
  const ids = Array.from({ length: 10 }, (_, i) => `bench-pool-${i}`);
  console.log(`\nThrough formatter processes (${pool.stats().processes} and a spare; 10 applications)`);
  console.log(`${'formatter, calls'.padEnd(48)}${'per second'.padStart(12)}${'plugin µs'.padStart(11)}${'all µs'.padStart(9)}`);
  for (const [name, spec] of formatters) {
    let next = 0;
    const one = () => pool.runUplink(ids[next++ % ids.length], spec, withMessage);
    await rate(one);
    for (const [how, inFlight] of [['one at a time', 1], ['50 in flight', 50]] as const) {
      const cpu = process.cpuUsage();
      const helpers = pool.usage().cpuUs;
      let calls = 0;
      const perSecond =
        (await rate(() => {
          calls += inFlight;
          return Promise.all(Array.from({ length: inFlight }, one));
        })) * inFlight;
      const own = process.cpuUsage(cpu);
      const ownUs = (own.user + own.system) / calls;
      const allUs = ownUs + (pool.usage().cpuUs - helpers) / calls;
      console.log(
        `${`${name}, ${how}`.padEnd(48)}${Math.round(perSecond).toLocaleString('en').padStart(12)}${ownUs.toFixed(1).padStart(11)}${allUs.toFixed(1).padStart(9)}`,
      );
    }
  }
  const used = pool.usage();
  console.log(`formatter processes with the spare: RSS ${(used.rssBytes / 1024 / 1024).toFixed(1)} MB together`);
  await pool.close();
}

/** Why the runtime calls isolates synchronously: the same trivial call both ways. */
async function callStyles(): Promise<void> {
  const isolate = new ivm.Isolate({ memoryLimit: 32 });
  const context = isolate.createContextSync();
  const fn = context.evalSync('(function (head) { return head; })', { reference: true }) as ivm.Reference<(head: string) => string>;
  const options = { timeout: 100 };
  const rows: [string, number][] = [
    ['applySync, timeout 100 ms', await rate(() => fn.applySync(undefined, ['u2:CSkaCg=='], options))],
    ['apply (async), awaited one by one', await rate(() => fn.apply(undefined, ['u2:CSkaCg=='], options))],
    [
      'apply (async), 100 in flight',
      (await rate(() => Promise.all(Array.from({ length: 100 }, () => fn.apply(undefined, ['u2:CSkaCg=='], options))))) * 100,
    ],
  ];
  console.log('\nisolated-vm call of a trivial function (calls per second)');
  for (const [name, perSecond] of rows) console.log(`${name.padEnd(38)}${Math.round(perSecond).toLocaleString('en').padStart(14)}`);
  isolate.dispose();
}

/** RSS of 100 applications' formatters, loaded and after 300 calls each, packed into shared isolates and one isolate each. */
async function memory(): Promise<void> {
  const spec: FormatterSpec = { type: 'javascript', script: templateScript('thinger-temperature-humidity'), timeoutMs: 100 };
  const mb = (n: number): string => `${(n / 1024 / 1024).toFixed(1)} MB`;
  console.log('\nMemory of 100 applications\' formatters (one script each)');
  console.log(`${'layout'.padEnd(34)}${'isolates'.padStart(9)}${'loaded'.padStart(10)}${'busy'.padStart(10)}${'per app busy'.padStart(14)}${'first call'.padStart(12)}`);
  for (const [name, appsPerIsolate] of [['shared (default, 16 per isolate)', 16], ['one isolate per application', 1]] as const) {
    const runtime = new FormatterRuntime({ appsPerIsolate });
    const before = process.memoryUsage().rss;
    const started = performance.now();
    for (let i = 0; i < 100; i++) await runtime.runUplink(`memory-app-${i}`, spec, call);
    const firstCallMs = (performance.now() - started) / 100;
    const loaded = process.memoryUsage().rss;
    for (let i = 0; i < 30_000; i++) await runtime.runUplink(`memory-app-${i % 100}`, spec, call);
    const busy = process.memoryUsage().rss;
    console.log(
      `${name.padEnd(34)}${String(runtime.stats().isolates).padStart(9)}${mb(loaded - before).padStart(10)}${mb(busy - before).padStart(10)}` +
        `${mb((busy - before) / 100).padStart(14)}${`${firstCallMs.toFixed(2)} ms`.padStart(12)}`,
    );
    runtime.dispose();
  }
}

const runtime = new FormatterRuntime();
await throughput(runtime);
runtime.dispose();
await throughProcesses();
await callStyles();
await memory();
