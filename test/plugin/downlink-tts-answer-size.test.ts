/**
 * What a push URL answers is read up to 64 KiB, then the connection is dropped: an endless (or 5 MB)
 * answer does not grow the plugin, on the first push or on retries, and the message still gets the
 * status TTS answered (a 4xx fails it with TTS's error when the first 64 KiB carry it, a 5xx is retried).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { TtsDownlinkClient } from '../../plugin/networks/tts/downlink-client.js';
import { MAX_ANSWER_BYTES } from '../../plugin/networks/peer-post.js';
import { TtsUrlPolicy } from '../../plugin/networks/tts/push-urls.js';
import { API_KEY, APP, DEVICE, THINGER_DOWNLINK, TTS_DEVICE } from '../helpers/downlink-setup.js';
import { fixture } from '../helpers/fixtures.js';
import { PluginHarness, TestClock } from '../helpers/plugin-harness.js';
import { readBody } from '../helpers/read-body.js';
import { uplinkBody } from '../helpers/tts-bodies.js';

const CMD = { enabled: true, frequency: 300, threshold: 25 };
const MB = 1024 * 1024;

interface Answer {
  status: number;
  /** Written first. */
  head: string;
  /** Then this many bytes of padding (Infinity: until the client goes away), then `tail`. */
  padding: number;
  tail: string;
}

interface Served {
  /** Bytes the server got into the socket (the kernel buffers part of it: not all were read). */
  written: number;
  /** The client closed the connection before the answer was complete. */
  cutByClient: boolean;
  done: Promise<void>;
}

/** A TTS stand-in on loopback whose answers are as long as the test wants, written with backpressure. */
class LongWindedTts {
  private server: Server | null = null;
  private readonly script: Answer[] = [];
  readonly served: Served[] = [];
  baseUrl = '';

  async start(): Promise<this> {
    const chunk = Buffer.alloc(64 * 1024, 'x');
    this.server = createServer((req: IncomingMessage, res: ServerResponse) => {
      void readBody(req).then(() => {
        const answer = this.script.shift() ?? { status: 200, head: '', padding: 0, tail: '' };
        let finished!: () => void;
        const served: Served = { written: 0, cutByClient: false, done: new Promise<void>((r) => (finished = r)) };
        this.served.push(served);
        res.on('close', () => {
          served.cutByClient = !res.writableFinished;
          finished();
        });
        res.writeHead(answer.status, { 'Content-Type': 'application/json' });
        res.write(answer.head);
        let left = answer.padding;
        const pump = () => {
          while (left > 0 && !res.destroyed) {
            const piece = left >= chunk.length ? chunk : chunk.subarray(0, left);
            left -= piece.length;
            served.written += piece.length;
            if (!res.write(piece)) return void res.once('drain', pump);
          }
          if (!res.destroyed) res.end(answer.tail);
        };
        pump();
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.baseUrl = `http://127.0.0.1:${(this.server!.address() as AddressInfo).port}`;
    return this;
  }

  respond(...answers: Answer[]): void {
    this.script.push(...answers);
  }

  downlinkHeaders(appId: string, deviceId: string, apiKey: string): Record<string, string> {
    const base = `${this.baseUrl}/api/v3/as/applications/${appId}/webhooks/bridge/devices/${deviceId}/down`;
    return { 'X-Downlink-Apikey': apiKey, 'X-Downlink-Push': `${base}/push`, 'X-Downlink-Replace': `${base}/replace` };
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}

/** A 503 as TTS writes it, with an attribute that never ends. */
const endless503 = (): Answer => ({
  status: 503,
  head: '{"code":14,"message":"error:pkg/applicationserver:unavailable (unavailable)","details":[{"namespace":"pkg/applicationserver","name":"unavailable","attributes":{"padding":"',
  padding: Infinity,
  tail: '',
});

/** RSS after a full GC (the forks run with --expose-gc): garbage not yet collected is not growth. */
const rss = () => {
  (globalThis as { gc?: () => void }).gc?.();
  return process.memoryUsage().rss;
};

describe('answers of the TTS push URL are read up to 64 KiB', () => {
  let clock: TestClock;
  let plugin: PluginHarness;
  let tts: LongWindedTts;
  beforeEach(async () => {
    clock = new TestClock();
    // A long timeout: an answer that ended by the timeout would show in the durations.
    plugin = await new PluginHarness({ clock, ttsTimeoutMs: 15_000 }).start();
    tts = await new LongWindedTts().start();
    const put = await plugin.request('PUT', `/api/profiles/${APP}`, { body: { formatter: { type: 'javascript', script: THINGER_DOWNLINK } } });
    expect(put.status).toBe(201);
    const up = await plugin.webhook(uplinkBody({ fCnt: 1 }), { headers: tts.downlinkHeaders(APP, TTS_DEVICE, API_KEY) });
    expect(up.status).toBe(200);
  });
  afterEach(async () => {
    await plugin.destroy();
    await tts.stop();
  });

  const create = (id: string) => plugin.request('POST', `/api/devices/${DEVICE}/messages`, { body: { message_id: id, message: CMD, f_port: 15 } });
  const show = async (id: string) => (await plugin.request('GET', `/api/devices/${DEVICE}/messages/${id}`)).body;

  it('an endless 5xx: each attempt reads 64 KiB, drops the connection, is retried; RSS stays flat', async () => {
    // warm-up (a final 4xx, so no tick retries it): code paths compiled, agents and buffers allocated
    tts.respond({ status: 400, head: '{', padding: Infinity, tail: '' });
    expect((await create('warm-up')).body.result).toMatchObject({ status: 'FAILED', error: { code: 'tts_http_400' } });
    await tts.served[0].done;

    tts.respond(endless503(), endless503(), endless503(), endless503(), endless503());
    const before = rss();
    const started = Date.now();
    const res = await create('r1');
    expect(res.status).toBe(201);
    expect(res.body.result).toMatchObject({ status: 'PENDING', detail: 'retrying', error: { code: 'tts_unavailable' } });
    for (let i = 0; i < 4; i++) {
      clock.advance(400_000); // past any backoff
      await plugin.app.services.downlinks.tick();
    }
    const elapsed = Date.now() - started;
    await Promise.all(tts.served.map((s) => s.done));
    const grown = rss() - before;
    console.log(`RSS growth over 5 endless answers: ${(grown / MB).toFixed(1)} MB in ${elapsed} ms`);

    const m = await show('r1');
    expect(m).toMatchObject({ status: 'PENDING', detail: 'retrying', attempts: 5, error: { code: 'tts_unavailable', message: 'error:pkg/applicationserver:unavailable (unavailable)' } });
    // every answer, all endless, was cut by the plugin
    expect(tts.served).toHaveLength(6);
    for (const s of tts.served) expect(s.cutByClient).toBe(true);
    // read whole, an endless answer ends only by the 15 s timeout, with GBs read
    expect(elapsed).toBeLessThan(5_000);
    expect(grown).toBeLessThan(8 * MB);
  });

  it('a 5 MB 4xx fails the message with TTS\'s error from the first 64 KiB, without reading the rest', async () => {
    const error = fixture<Record<string, any>>('tts/down_push_error_responses.json').http_400_too_long_from_ns;
    const text = JSON.stringify({ ...error, details: [{ ...error.details[0], attributes: { ...error.details[0].attributes, padding: '' } }] });
    const cut = text.indexOf('"padding":"') + '"padding":"'.length;
    tts.respond({ status: 400, head: text.slice(0, cut), padding: 5 * MB, tail: text.slice(cut) });
    const before = rss();
    const res = await create('x1');
    await tts.served[0].done;
    expect(rss() - before).toBeLessThan(8 * MB);
    expect(res.body.result).toMatchObject({ status: 'FAILED', error: { code: 'tts_application_downlink_too_long' } });
    expect(res.body.result.error.message).toBe("error:pkg/networkserver:application_downlink_too_long (application downlink payload length `60` exceeds maximum '51')");
    expect(tts.served[0].cutByClient).toBe(true);
    expect(tts.served[0].written).toBeLessThan(5 * MB);
  });

  it('an endless 200: submitted, the connection dropped after 64 KiB', async () => {
    tts.respond({ status: 200, head: '{}', padding: Infinity, tail: '' });
    const res = await create('ok1');
    expect(res.body.result).toMatchObject({ status: 'PENDING', detail: 'submitted' });
    await tts.served[0].done;
    expect(tts.served[0].cutByClient).toBe(true);
  });

  it('a short answer is still read whole (no cut below the limit), and the connection is kept', async () => {
    tts.respond({ status: 500, head: 'plain text error ', padding: MAX_ANSWER_BYTES - 100, tail: 'end' });
    await create('s1');
    expect(await show('s1')).toMatchObject({ status: 'PENDING', detail: 'retrying', error: { code: 'tts_http_500' } });
    expect((await show('s1')).error.message).not.toContain('cut');
    expect(tts.served[0].cutByClient).toBe(false);
  });
});

describe('TtsDownlinkClient on its own', () => {
  let tts: LongWindedTts;
  beforeEach(async () => {
    tts = await new LongWindedTts().start();
  });
  afterEach(async () => {
    await tts.stop();
  });

  it('20 endless answers in a row cost no memory and no timeout', async () => {
    const client = new TtsDownlinkClient({ userAgent: 'test', timeoutMs: 15_000, policy: new TtsUrlPolicy({ allowPrivate: true, hosts: [] }) });
    const url = tts.downlinkHeaders('app-one', 'dev-one', 'k')['X-Downlink-Push'];
    tts.respond(endless503());
    await client.send(url, 'k', { downlinks: [] });
    const before = rss();
    const started = Date.now();
    for (let i = 0; i < 20; i++) {
      tts.respond(i % 2 ? endless503() : { status: 502, head: '<html>', padding: Infinity, tail: '' });
      const outcome = await client.send(url, 'k', { downlinks: [] });
      expect(outcome).toMatchObject({ ok: false, status: i % 2 ? 503 : 502, retryable: true });
      if (!outcome.ok) expect(outcome.message.length).toBeLessThan(2000);
    }
    expect(Date.now() - started).toBeLessThan(10_000);
    await Promise.all(tts.served.map((s) => s.done));
    const grown = rss() - before;
    console.log(`RSS growth over 20 endless answers: ${(grown / MB).toFixed(1)} MB`);
    expect(grown).toBeLessThan(8 * MB);
    client.close();
  });
});
