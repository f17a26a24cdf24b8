/**
 * FormatterService, the work of a formatter process, driven in-process as the pool drives it:
 * batches of calls as JSON lines (cut anywhere), and the lines it sends back (replies and notices)
 * as the pool reads them, through JSON.
 */
import { afterAll, describe, expect, it, vi } from 'vitest';
import { FormatterService } from '../../sandbox/formatter-service.js';
import { FormatterRuntime, type RuntimeOptions } from '../../sandbox/runtime.js';
import type { WireCall, WireLine } from '../../sandbox/wire.js';

const services: FormatterService[] = [];
afterAll(() => services.forEach((s) => s.dispose()));

/** A service and what it sent, each line as the pool would parse it. */
function serve(options: RuntimeOptions = {}) {
  const lines: WireLine[] = [];
  const service = new FormatterService(options, (line) => lines.push(JSON.parse(JSON.stringify(line)) as WireLine));
  services.push(service);
  /** Writes one batch and waits for every answer. */
  const batch = async (...calls: WireCall[]): Promise<WireLine[]> => {
    const from = lines.length;
    service.push(`${JSON.stringify(calls)}\n`);
    await service.idle();
    return lines.slice(from);
  };
  /** The one reply to a call sent alone. */
  const reply = async (call: WireCall): Promise<WireLine | undefined> => (await batch(call)).find((line) => 'id' in line && !('notice' in line));
  return { service, lines, batch, reply };
}

let nextId = 1;
/** A call carrying its source; `sid` names the source (the pool uses a content hash). */
function call(op: WireCall['op'], app: string, src: string | undefined, extra: Partial<WireCall> = {}): WireCall {
  return { id: nextId++, app, op, sid: `sid:${src}`, ...(src !== undefined ? { src } : {}), t: 200, ...extra };
}

/** Bytes as the wire carries them. */
const b64 = (hex: string) => Buffer.from(hex, 'hex').toString('base64');

const ECHO = 'module.exports.uplink = function (payload) { console.log("echo"); return { payload: payload }; };';
const READS_MESSAGE = 'module.exports.uplink = function (payload, message) { return { message: message }; };';
const TTS_INPUT = 'function decodeUplink(input) { return { data: { bytes: input.bytes, fPort: input.fPort } }; }';
const RECV_TIME = 'function decodeUplink(input) { return { data: { recvTime: input.recvTime.toISOString() } }; }';
const NORMALIZING =
  'function decodeUplink(input) { return { data: { temperature: input.bytes[0] } }; }\n' +
  'function normalizeUplink(input) { return { data: { air: { temperature: input.data.temperature } } }; }';
const COUNTER = 'var n = 0;\nmodule.exports.uplink = function () { n++; return { n: n }; };';
const DOWNLINK = 'module.exports.downlink = function (payload, device) { return { payload: payload, device: device }; };';
const DECODE_DOWNLINK = 'function decodeDownlink(input) { return { data: { bytes: input.bytes, fPort: input.fPort } }; }';
/** Fills a 16 MB isolate on every call. */
const HOG = 'module.exports.uplink = function () { const a = []; for (;;) a.push(new Array(100000).fill(a.length)); };';
const busy = (ms: number) => `module.exports.uplink = function () { const end = Date.now() + ${ms}; while (Date.now() < end) {} return { slept: ${ms} }; };`;

const anyDuration = { durationMs: expect.any(Number) as number };

describe('operations', () => {
  it('answers an uplink with its output, logs, warnings, and whether the script reads the message', async () => {
    const { reply } = serve();
    const up = call('u', 'ops', ECHO, { b: b64('0102'), fPort: 5 });
    expect(await reply(up)).toEqual({
      id: up.id,
      ok: true,
      output: { payload: 'AQI=' },
      logs: [{ level: 'log', message: 'echo' }],
      warnings: [],
      ...anyDuration,
      readsMessage: false,
    });
  });

  it('passes an uplink its bytes and fPort', async () => {
    const { reply } = serve();
    const up = call('u', 'ops', TTS_INPUT, { b: b64('0a0b'), fPort: 9 });
    expect(await reply(up)).toMatchObject({ id: up.id, ok: true, output: { bytes: [10, 11], fPort: 9 } });
  });

  it('gives an uplink without bytes or fPort empty bytes and fPort 0', async () => {
    const { reply } = serve();
    const up = call('u', 'ops', TTS_INPUT);
    expect(await reply(up)).toMatchObject({ id: up.id, ok: true, output: { bytes: [], fPort: 0 } });
  });

  it("passes an uplink TTS's decoded payload, the receive time, and skips normalizeUplink when the network normalized", async () => {
    const { reply } = serve();
    const decoded = call('u', 'pass', ECHO, { decoded: { temperature: 21.5 } });
    expect(await reply(decoded)).toMatchObject({ ok: true, output: { payload: { temperature: 21.5 } } });
    const timed = call('u', 'pass', RECV_TIME, { receivedAt: '2024-05-01T12:34:56.789Z' });
    expect(await reply(timed)).toMatchObject({ ok: true, output: { recvTime: '2024-05-01T12:34:56.789Z' } });
    const normalized = await reply(call('u', 'pass', NORMALIZING, { b: b64('15') }));
    expect(normalized).toMatchObject({ ok: true, output: { temperature: 21 }, normalized: { measurements: [{ air: { temperature: 21 } }] } });
    const already = await reply(call('u', 'pass', NORMALIZING, { b: b64('15'), nn: true }));
    expect(already).toMatchObject({ ok: true, output: { temperature: 21 } });
    expect(already).not.toHaveProperty('normalized');
  });

  it('passes an uplink the message when sent, else an empty one', async () => {
    const { reply } = serve();
    expect(await reply(call('u', 'msg', READS_MESSAGE, { message: '{"end_device_ids":{"device_id":"d1"}}' }))).toMatchObject({
      output: { message: { end_device_ids: { device_id: 'd1' } } },
      readsMessage: true,
    });
    expect(await reply(call('u', 'msg', READS_MESSAGE))).toMatchObject({ output: { message: {} }, readsMessage: true });
  });

  it('says an uplink may read the message when its script did not load (so the pool keeps sending it)', async () => {
    const { reply } = serve();
    const broken = await reply(call('u', 'broken', 'module.exports.uplink = function (payload) {'));
    expect(broken).toMatchObject({ ok: false, error: { kind: 'syntax' }, readsMessage: true });
  });

  it('answers a downlink with the encoded output, passing fPort and device when sent', async () => {
    const { reply } = serve();
    const down = call('d', 'down', DOWNLINK, { payload: { on: true }, fPort: 7, device: { device_id: 'd1' } });
    expect(await reply(down)).toEqual({
      id: down.id,
      ok: true,
      output: { fPort: 7, decodedPayload: { payload: { on: true }, device: { device_id: 'd1' } } },
      logs: [],
      warnings: [],
      ...anyDuration,
    });
    const bare = call('d', 'down', DOWNLINK, { payload: [1, 2] });
    expect(await reply(bare)).toEqual({ id: bare.id, ok: true, output: { decodedPayload: { payload: [1, 2] } }, logs: [], warnings: [], ...anyDuration });
  });

  it('answers a decode downlink with the decoded data, empty bytes and fPort 0 by default', async () => {
    const { reply } = serve();
    const x = call('x', 'dd', DECODE_DOWNLINK, { b: b64('ff'), fPort: 3 });
    expect(await reply(x)).toEqual({ id: x.id, ok: true, output: { bytes: [255], fPort: 3 }, logs: [], warnings: [], ...anyDuration });
    expect(await reply(call('x', 'dd', DECODE_DOWNLINK))).toMatchObject({ ok: true, output: { bytes: [], fPort: 0 } });
  });

  it('answers a check with ok, or with the error found, without loading the script for the application', async () => {
    const { reply } = serve();
    const good = call('c', 'checked', ECHO);
    expect(await reply(good)).toEqual({ id: good.id, ok: true, logs: [], warnings: [], ...anyDuration });
    const bad = call('c', 'checked', 'function nothing() {}');
    expect(await reply(bad)).toEqual({
      id: bad.id,
      ok: false,
      error: { kind: 'contract', message: expect.stringMatching(/^script defines no formatter/) as string },
      logs: [],
      warnings: [],
      ...anyDuration,
    });
    expect(await reply(call('s', '', undefined, { sid: '' }))).toMatchObject({ output: { apps: 0 } });
  });

  it('answers a check with the time the check took', async () => {
    const { reply } = serve();
    const started = performance.now();
    const checked = await reply(call('c', 'timed', ECHO));
    const waited = performance.now() - started;
    const durationMs = (checked as { durationMs: number }).durationMs;
    expect(durationMs).toBeGreaterThanOrEqual(0);
    expect(durationMs).toBeLessThanOrEqual(waited);
  });

  it("answers stats with the runtime's counts, needing no script", async () => {
    const { reply } = serve();
    await reply(call('u', 'counted', COUNTER));
    const stats = call('s', '', undefined, { sid: 'never-sent' });
    expect(await reply(stats)).toEqual({
      id: stats.id,
      ok: true,
      output: { apps: 1, isolates: 1, scripts: 1, heapBytes: expect.any(Number) as number, externalBytes: expect.any(Number) as number },
      logs: [],
      warnings: [],
      durationMs: 0,
    });
  });
});

describe('script sources', () => {
  it('runs an empty source as a script without an uplink function', async () => {
    const { reply } = serve();
    expect(await reply(call('u', 'empty', ''))).toMatchObject({
      ok: false,
      error: { kind: 'contract', message: expect.stringMatching(/^script defines no uplink function/) as string },
    });
  });

  it('keeps the source of a first call for later calls that name only its sid', async () => {
    const { reply } = serve();
    expect(await reply(call('u', 'kept', COUNTER))).toMatchObject({ ok: true, output: { n: 1 } });
    expect(await reply(call('u', 'kept', undefined, { sid: `sid:${COUNTER}` }))).toMatchObject({ ok: true, output: { n: 2 } });
    // Kept by sid, for every application.
    expect(await reply(call('u', 'other', undefined, { sid: `sid:${COUNTER}` }))).toMatchObject({ ok: true, output: { n: 1 } });
  });

  it('answers need: script, and nothing else, for a sid it never had; the call with its source then runs', async () => {
    const { reply, lines } = serve();
    const unknown = call('u', 'needy', undefined, { sid: 'sid:unknown' });
    expect(await reply(unknown)).toEqual({ id: unknown.id, need: 'script' });
    expect(lines).toEqual([{ id: unknown.id, need: 'script' }]);
    expect(await reply(call('d', 'needy', undefined, { sid: 'sid:unknown', payload: 1 }))).toMatchObject({ need: 'script' });
    expect(await reply(call('u', 'needy', COUNTER, { sid: 'sid:unknown' }))).toMatchObject({ ok: true, output: { n: 1 } });
    expect(await reply(call('u', 'needy', undefined, { sid: 'sid:unknown' }))).toMatchObject({ ok: true, output: { n: 2 } });
  });

  it('takes a source sent again for a sid as the one to keep', async () => {
    const { reply } = serve();
    const first = 'module.exports.uplink = function () { return { v: 1 }; };';
    const second = 'module.exports.uplink = function () { return { v: 2 }; };';
    await reply(call('u', 'resent', first, { sid: 'sid:same' }));
    await reply(call('u', 'resent', second, { sid: 'sid:same' }));
    expect(await reply(call('u', 'resent', undefined, { sid: 'sid:same' }))).toMatchObject({ output: { v: 2 } });
  });
});

describe('order', () => {
  const ids = (lines: WireLine[]) => lines.map((line) => ('notice' in line ? `${line.notice} ${'id' in line ? line.id : ''}` : `reply ${line.id}`));

  it('answers the calls of one batch and of successive batches strictly in order, one at a time, a slow call first', async () => {
    const { service, lines } = serve();
    const slow = call('u', 'slow', busy(40));
    const fast = call('u', 'fast', busy(0));
    const next = call('u', 'next', busy(1));
    const last = call('u', 'last', busy(2));
    service.push(`${JSON.stringify([slow, fast])}\n${JSON.stringify([next])}\n`);
    service.push(`${JSON.stringify([last])}\n`);
    await service.idle();
    // Each call's script loads (a notice naming it) after the previous call was answered.
    expect(ids(lines)).toEqual([
      `loaded ${slow.id}`,
      `reply ${slow.id}`,
      `loaded ${fast.id}`,
      `reply ${fast.id}`,
      `loaded ${next.id}`,
      `reply ${next.id}`,
      `loaded ${last.id}`,
      `reply ${last.id}`,
    ]);
    expect(lines[1]).toMatchObject({ ok: true, output: { slept: 40 } });
  });

  it('runs a batch only once its line is whole, however the text was cut', async () => {
    const { service, lines } = serve();
    const a = call('u', 'cut', COUNTER);
    const b = call('u', 'cut', undefined, { sid: `sid:${COUNTER}` });
    const stats = call('s', '', undefined, { sid: '' });
    const first = `${JSON.stringify([a, b])}\n`;
    const text = `${first}${JSON.stringify([stats])}\n`;
    const replies = () => lines.filter((line) => !('notice' in line));
    const feed = async (from: number, to?: number) => {
      service.push(text.slice(from, to));
      await service.idle();
    };
    await feed(0, 5);
    await feed(5, first.length - 1);
    expect(lines).toEqual([]);
    // The first line's end and the start of the next, in one chunk.
    await feed(first.length - 1, first.length + 3);
    expect(replies()).toMatchObject([
      { id: a.id, output: { n: 1 } },
      { id: b.id, output: { n: 2 } },
    ]);
    await feed(first.length + 3);
    expect(replies()).toMatchObject([{ id: a.id }, { id: b.id }, { id: stats.id, ok: true, output: { apps: 1 } }]);
  });

  it('throws on a line that is not a batch, and answers nothing for it (the process dies, the pool sees why)', async () => {
    const { service, lines } = serve();
    expect(() => service.push('{"id":1\n')).toThrow(SyntaxError);
    await service.idle();
    expect(lines).toEqual([]);
  });
});

describe('failures', () => {
  it('answers a call that throws inside the service with a runtime error, cut to 2000 characters, and runs the next call', async () => {
    const { batch } = serve();
    const spy = vi.spyOn(FormatterRuntime.prototype, 'runUplink').mockRejectedValueOnce(new Error('x'.repeat(3000)));
    try {
      const failing = call('u', 'thrown', ECHO);
      const after = call('u', 'thrown', ECHO, { b: b64('01') });
      const replies = (await batch(failing, after)).filter((line) => !('notice' in line));
      const message = `sandbox failure: ${'x'.repeat(2000 - 'sandbox failure: '.length)}`;
      expect(replies).toEqual([
        { id: failing.id, ok: false, error: { kind: 'runtime', message }, logs: [], warnings: [], durationMs: 0 },
        { id: after.id, ok: true, output: { payload: 'AQ==' }, logs: [{ level: 'log', message: 'echo' }], warnings: [], ...anyDuration, readsMessage: false },
      ]);
    } finally {
      spy.mockRestore();
    }
  });

  it('says what was thrown when it is not an Error', async () => {
    const { reply } = serve();
    const spy = vi.spyOn(FormatterRuntime.prototype, 'runDownlink').mockRejectedValueOnce('the bridge is gone');
    try {
      expect(await reply(call('d', 'thrown', DOWNLINK, { payload: 1 }))).toMatchObject({ ok: false, error: { kind: 'runtime', message: 'sandbox failure: the bridge is gone' } });
    } finally {
      spy.mockRestore();
    }
  });

  it('answers a malformed call (bytes that are not a string) with a sandbox failure', async () => {
    const { service, lines } = serve();
    service.push(`[{"id":7,"app":"bad","op":"x","sid":"s","src":${JSON.stringify(DECODE_DOWNLINK)},"t":100,"b":42}]\n`);
    await service.idle();
    expect(lines).toEqual([
      { id: 7, ok: false, error: { kind: 'runtime', message: expect.stringMatching(/^sandbox failure: The first argument must be of type string/) as string }, logs: [], warnings: [], durationMs: 0 },
    ]);
  });
});

describe('notices', () => {
  it("says when the running call's script has loaded, naming the call, only when it loads", async () => {
    const { batch } = serve();
    const first = call('u', 'noticed', COUNTER);
    expect(await batch(first)).toMatchObject([{ notice: 'loaded', id: first.id }, { id: first.id, ok: true }]);
    const second = call('u', 'noticed', undefined, { sid: `sid:${COUNTER}` });
    expect(await batch(second)).toMatchObject([{ id: second.id, ok: true }]);
  });

  it('says when the running call runs again after its shared isolate ran out of memory, and which application is kept alone', async () => {
    const { batch } = serve({ memoryLimitMb: 16 });
    await batch(call('u', 'neighbour', COUNTER));
    const hog = call('u', 'hog', HOG, { t: 5000 });
    expect(await batch(hog)).toEqual([
      { notice: 'loaded', id: hog.id },
      { notice: 'retrying', id: hog.id },
      { notice: 'loaded', id: hog.id },
      { notice: 'isolated', app: 'hog', why: 'it exhausted the 16 MB of an isolate of its own' },
      {
        id: hog.id,
        ok: false,
        error: { kind: 'memory', message: 'formatter exceeded the memory limit of 16 MB; its sandbox was reset' },
        logs: [],
        warnings: [],
        ...anyDuration,
        readsMessage: true,
      },
    ]);
  });
});

describe('warm-up', () => {
  it('says nothing and loads no application', async () => {
    const { service, lines, reply } = serve();
    service.warmUp();
    expect(lines).toEqual([]);
    expect(await reply(call('s', '', undefined, { sid: '' }))).toMatchObject({ output: { apps: 0, scripts: 0 } });
  });
});
