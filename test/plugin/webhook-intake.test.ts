import { createServer, request, type IncomingHttpHeaders, type Server } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { webhookIntake } from '../../plugin/http/webhook-intake.js';
import { PluginHarness } from '../helpers/plugin-harness.js';
import { readBody } from '../helpers/read-body.js';
import { ECHO_UPLINK, messageBody, uplinkBody } from '../helpers/tts-bodies.js';

interface RawAnswer {
  status: number;
  headers: IncomingHttpHeaders;
  body: unknown;
}

interface RawRequest {
  method?: string;
  path?: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
  /** Sends the body with Transfer-Encoding: chunked instead of a Content-Length. */
  chunked?: boolean;
}

/** One request over node:http, so the test decides exactly which headers go out. */
function send(base: string, r: RawRequest): Promise<RawAnswer> {
  const url = new URL(r.path ?? '/tts/webhook', base);
  const body = r.body === undefined ? undefined : Buffer.from(r.body);
  const headers: Record<string, string> = { ...r.headers };
  if (body && !r.chunked) headers['Content-Length'] = String(body.length);
  return new Promise((resolve, reject) => {
    const req = request(url, { method: r.method ?? 'POST', headers }, (res) => {
      readBody(res).then((body) => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }), reject);
    });
    req.on('error', reject);
    if (body && r.chunked) {
      // Two writes before end(): node then sends the body chunked.
      req.write(body.subarray(0, 10));
      req.write(body.subarray(10));
    } else if (body) {
      req.write(body);
    }
    req.end();
  });
}

describe('webhook intake in front of Koa', () => {
  let plugin: PluginHarness;
  let token: string;
  beforeEach(async () => {
    plugin = await new PluginHarness().start();
    await plugin.request('PUT', '/api/profiles/greenhouse-app', { body: { formatter: { type: 'javascript', script: ECHO_UPLINK } } });
    token = await plugin.webhookToken('greenhouse-app');
  });
  afterEach(async () => {
    await plugin.destroy();
  });

  const json = (extra: Record<string, string> = {}) => ({ 'Content-Type': 'application/json', Authorization: `Bearer ${token}`, ...extra });

  describe('which requests it takes', () => {
    let server: Server;
    let base: string;
    beforeEach(async () => {
      const intake = webhookIntake({ webhooks: plugin.app.services.webhooks, logger: pino({ level: 'silent' }) });
      // What the intake leaves gets 418, so the test sees who answered.
      server = createServer((req, res) => {
        if (!intake(req, res)) res.writeHead(418).end();
      }).listen(0, '127.0.0.1');
      await new Promise<void>((resolve) => server.once('listening', () => resolve()));
      base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    });
    afterEach(async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    });

    it.each([
      ['/tts/webhook', {}],
      ['/tts/webhook/uplink-message', {}],
      ['/uplink', {}],
      ['/TTS/Webhook/', {}],
      ['/tts/webhook?source=tts', {}],
      ['/tts/webhook', { 'Content-Type': 'application/json; charset=UTF-8' }],
    ])('answers a plain JSON POST to %s itself', async (path, headers) => {
      const res = await send(base, { path, headers: json(headers), body: JSON.stringify(uplinkBody({ appId: 'greenhouse-app' })) });
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ status: 'stored', device_id: '70B3D57ED0051A2B' });
      expect(res.headers['content-type']).toBe('application/json; charset=utf-8');
    });

    it('answers a body without Content-Type itself, as JSON', async () => {
      const headers = { Authorization: `Bearer ${token}` };
      const res = await send(base, { headers, body: JSON.stringify(uplinkBody({ appId: 'greenhouse-app' })) });
      expect(res.status).toBe(200);
    });

    const body = JSON.stringify(uplinkBody({ appId: 'greenhouse-app' }));
    it.each<[string, RawRequest]>([
      ['a GET', { method: 'GET' }],
      ['a POST to an admin path', { path: '/api/devices', body }],
      ['a POST to a deeper path', { path: '/tts/webhook/uplink-message/extra', body }],
      ['a chunked body', { body, chunked: true }],
      ['a gzip body', { body: gzipSync(body), headers: { 'Content-Encoding': 'gzip' } }],
      ['text/plain', { body, headers: { 'Content-Type': 'text/plain' } }],
      ['another charset', { body, headers: { 'Content-Type': 'application/json; charset=latin1' } }],
      ['a +json type', { body, headers: { 'Content-Type': 'application/vnd.tts+json' } }],
      ['an empty body', { body: '' }],
      ['a body over the limit', { body: `{"x":"${'x'.repeat(1024 * 1024)}"}` }],
    ])('leaves %s to Koa', async (_name, r) => {
      const res = await send(base, { ...r, headers: { ...json(), ...r.headers } });
      expect(res.status).toBe(418);
      expect((await plugin.request('GET', '/api/devices')).body.items).toEqual([]);
    });
  });

  describe('answers as the Koa route does', () => {
    /** The same request once through the intake (Content-Length) and once through Koa (chunked). */
    async function both(r: RawRequest): Promise<[RawAnswer, RawAnswer]> {
      const intake = await send(plugin.url, r);
      const koa = await send(plugin.url, { ...r, chunked: true });
      return [intake, koa];
    }
    const shape = (a: RawAnswer) => ({
      status: a.status,
      body: a.body,
      type: a.headers['content-type'],
      auth: a.headers['www-authenticate'],
    });

    it.each<[string, string, Record<string, string>?]>([
      ['broken JSON', '{"end_device_ids": '],
      ['a __proto__ key', '{"end_device_ids": {"application_ids": {"application_id": "greenhouse-app"}}, "__proto__": {"x": 1}}'],
      ['a JSON array', '[1, 2]'],
      ['JSON null', 'null'],
      ['a field out of range', JSON.stringify({ ...uplinkBody({ appId: 'greenhouse-app' }), uplink_message: { f_port: 300 } })],
      ['an unknown message type', JSON.stringify({ end_device_ids: uplinkBody({ appId: 'greenhouse-app' }).end_device_ids, something_new: {} })],
      ['a wrong token', JSON.stringify(uplinkBody({ appId: 'greenhouse-app' })), { Authorization: 'Bearer wrong' }],
      ['no token', JSON.stringify(uplinkBody({ appId: 'greenhouse-app' })), { Authorization: '' }],
      ['a join_accept', JSON.stringify(messageBody('join_accept.json', { appId: 'greenhouse-app' }))],
    ])('%s', async (_name, raw, headers = {}) => {
      const [intake, koa] = await both({ headers: json(headers), body: raw });
      expect(intake.status).not.toBe(0);
      expect(shape(intake)).toEqual(shape(koa));
    });

    it('stores uplinks and recognises resends across both ways in', async () => {
      const body = (fCnt: number) => JSON.stringify(uplinkBody({ appId: 'greenhouse-app', fCnt }));
      const first = await send(plugin.url, { headers: json(), body: body(5) });
      const resentViaKoa = await send(plugin.url, { headers: json(), body: body(5), chunked: true });
      const nextViaKoa = await send(plugin.url, { headers: json(), body: body(6), chunked: true });
      const resentViaIntake = await send(plugin.url, { headers: json(), body: body(6) });
      expect([first, resentViaKoa, nextViaKoa, resentViaIntake].map((a) => a.body)).toEqual([
        { status: 'stored', device_id: '70B3D57ED0051A2B' },
        { status: 'duplicate', device_id: '70B3D57ED0051A2B' },
        { status: 'stored', device_id: '70B3D57ED0051A2B' },
        { status: 'duplicate', device_id: '70B3D57ED0051A2B' },
      ]);
      const rows = await plugin.request('GET', '/api/buckets/70B3D57ED0051A2B/data?limit=10');
      expect(rows.body.items.map((r: { data: { f_cnt: number } }) => r.data.f_cnt).sort()).toEqual([5, 6]);
    });

    it('drops a byte order mark before the JSON, as Koa does', async () => {
      const raw = `\ufeff${JSON.stringify(uplinkBody({ appId: 'greenhouse-app', fCnt: 9 }))}`;
      const intake = await send(plugin.url, { headers: json(), body: raw });
      expect(intake.body).toEqual({ status: 'stored', device_id: '70B3D57ED0051A2B' });
      const koa = await send(plugin.url, { headers: json(), body: raw, chunked: true });
      expect(koa.body).toEqual({ status: 'duplicate', device_id: '70B3D57ED0051A2B' });
    });
  });

  it('a webhook cut off mid-body stores nothing and the next one is served', async () => {
    const raw = JSON.stringify(uplinkBody({ appId: 'greenhouse-app', fCnt: 1 }));
    const { port } = new URL(plugin.url);
    await new Promise<void>((resolve, reject) => {
      const socket = connect(Number(port), '127.0.0.1', () => {
        socket.write(
          `POST /tts/webhook HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nAuthorization: Bearer ${token}\r\n` +
            `Content-Length: ${raw.length}\r\n\r\n${raw.slice(0, 100)}`,
          () => {
            socket.destroy();
            resolve();
          },
        );
      });
      socket.on('error', reject);
    });
    const res = await send(plugin.url, { headers: json(), body: JSON.stringify(uplinkBody({ appId: 'greenhouse-app', fCnt: 2 })) });
    expect(res.body).toEqual({ status: 'stored', device_id: '70B3D57ED0051A2B' });
    const rows = await plugin.request('GET', '/api/buckets/70B3D57ED0051A2B/data?limit=10');
    expect(rows.body.items.map((r: { data: { f_cnt: number } }) => r.data.f_cnt)).toEqual([2]);
  });
});
