/**
 * Downlinks (and the TTS API key) go only where the operator allows: TTS-shaped URLs of the device,
 * on one origin, on the application's first TTS host, PLUGIN_TTS_HOSTS or the profile's
 * downlink.tts_hosts; loopback/private/link-local addresses only with PLUGIN_TTS_ALLOW_PRIVATE (or
 * a listed host). A refused URL is an event with the host (never the key), never a request, and
 * the stored credentials stay.
 */
import { lookup } from 'node:dns/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { hostname } from 'node:os';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig, ttsUrlPolicyOptions } from '../../plugin/config.js';
import { TtsDownlinkClient } from '../../plugin/networks/tts/downlink-client.js';
import { isNonPublicAddress, TtsUrlPolicy } from '../../plugin/networks/tts/push-urls.js';
import { API_KEY, APP, DEVICE, THINGER_DOWNLINK, TTS_DEVICE } from '../helpers/downlink-setup.js';
import { PluginHarness, TestClock } from '../helpers/plugin-harness.js';
import { uplinkBody } from '../helpers/tts-bodies.js';
import { TtsPeer } from '../helpers/tts-peer.js';

const CMD = { enabled: true, frequency: 300, threshold: 25 };
const ATTACKER_KEY = 'NNSXS.ATTACKER.KEY-MUST-NOT-APPEAR';
const path = (appId: string, deviceId: string, kind: 'push' | 'replace', webhook = 'bridge') =>
  `/api/v3/as/applications/${appId}/webhooks/${webhook}/devices/${deviceId}/down/${kind}`;
const headersAt = (base: string, apiKey = ATTACKER_KEY, appId = APP, deviceId = TTS_DEVICE) => ({
  'X-Downlink-Apikey': apiKey,
  'X-Downlink-Push': `${base}${path(appId, deviceId, 'push')}`,
  'X-Downlink-Replace': `${base}${path(appId, deviceId, 'replace')}`,
});

/** A server that must get nothing: counts every connection and request. */
class Decoy {
  private servers: Server[] = [];
  connections = 0;
  requests = 0;
  port = 0;
  v6 = false;

  async start(): Promise<this> {
    const make = () =>
      createServer((_req, res) => {
        this.requests++;
        res.end();
      }).on('connection', () => this.connections++);
    const v4 = make();
    await new Promise<void>((resolve) => v4.listen(0, '127.0.0.1', resolve));
    this.servers.push(v4);
    this.port = (v4.address() as AddressInfo).port;
    // the same port on ::1 when the machine has IPv6 loopback
    const v6 = make();
    this.v6 = await new Promise<boolean>((resolve) => {
      v6.once('error', () => resolve(false));
      v6.listen(this.port, '::1', () => resolve(true));
    });
    if (this.v6) this.servers.push(v6);
    return this;
  }

  async stop(): Promise<void> {
    for (const s of this.servers) {
      s.closeAllConnections();
      await new Promise<void>((resolve) => s.close(() => resolve()));
    }
  }
}

describe('push-URL policy, private addresses not allowed', () => {
  let clock: TestClock;
  let plugin: PluginHarness;
  let tts: TtsPeer;
  let decoy: Decoy;
  let ttsBase: string;
  let fCnt = 1;
  beforeEach(async () => {
    clock = new TestClock();
    // As in production (PLUGIN_TTS_ALLOW_PRIVATE unset); the operator lists the TTS stand-in's host.
    plugin = await new PluginHarness({ clock, ttsAllowPrivate: false, ttsHosts: ['localhost'] }).start();
    tts = await new TtsPeer().start();
    decoy = await new Decoy().start();
    ttsBase = tts.baseUrl.replace('127.0.0.1', 'localhost');
    const put = await plugin.request('PUT', `/api/profiles/${APP}`, { body: { formatter: { type: 'javascript', script: THINGER_DOWNLINK } } });
    expect(put.status).toBe(201);
    const up = await plugin.webhook(uplinkBody({ fCnt: fCnt++ }), { headers: headersAt(ttsBase, API_KEY) });
    expect(up.status).toBe(200);
  });
  afterEach(async () => {
    await plugin.destroy();
    await tts.stop();
    await decoy.stop();
  });

  const refusals = async () =>
    (await plugin.request('GET', `/api/events?app_id=${APP}&category=webhook&severity=warning`)).body.items as {
      title: string;
      details: Record<string, unknown>;
    }[];
  const sendDownlink = async (id: string) => {
    const res = await plugin.request('POST', `/api/devices/${DEVICE}/messages`, { body: { message_id: id, message: CMD, f_port: 15 } });
    expect(res.status).toBe(201);
    return res.body.result;
  };

  it('an allowed host works: the downlink goes to the listed TTS host with its key', async () => {
    expect((await plugin.request('GET', `/api/devices/${DEVICE}`)).body.downlink_ready).toBe(true);
    expect(await sendDownlink('ok-1')).toMatchObject({ status: 'PENDING', detail: 'submitted' });
    expect(tts.requests).toHaveLength(1);
    expect(tts.requests[0].path).toBe(path(APP, TTS_DEVICE, 'push'));
    expect(tts.requests[0].headers.authorization).toBe(`Bearer ${API_KEY}`);
    expect(await refusals()).toEqual([]);
  });

  it('127.0.0.1, 10.0.0.1, 169.254.169.254 and [::1] are refused with an event; nothing reaches them; the stored URL stays', async () => {
    const hostile = [
      ['127.0.0.1', `http://127.0.0.1:${decoy.port}`],
      ['10.0.0.1', 'http://10.0.0.1'],
      ['169.254.169.254', 'http://169.254.169.254'],
      ['::1', `http://[::1]:${decoy.port}`],
      ['::ffff:7f00:1', `https://[::ffff:127.0.0.1]:${decoy.port}`],
      ['127.0.0.1', `http://2130706433:${decoy.port}`],
    ] as const;
    for (const [, base] of hostile) {
      const res = await plugin.webhook(uplinkBody({ fCnt: fCnt++ }), { headers: headersAt(base) });
      // the webhook itself is taken (the uplink has no formatter: a dead letter, as without the headers)
      expect(res.status).toBe(200);
      expect(res.body.device_id).toBe(DEVICE);
    }
    const events = await refusals();
    const hosts = events.map((e) => e.details.host);
    for (const [host] of hostile) expect(hosts).toContain(host);
    for (const e of events) {
      expect(e.details.reason).toBe('private_address');
      expect(e.title).toMatch(/^Downlink URLs refused: .* is a loopback, private or link-local address/);
    }
    const all = JSON.stringify((await plugin.request('GET', '/api/events?limit=500')).body);
    expect(all).not.toContain(ATTACKER_KEY);
    expect(all).not.toContain(API_KEY);

    // the next downlink and a queue clear still go to the stored, allowed URL with its key
    expect(await sendDownlink('after')).toMatchObject({ status: 'PENDING', detail: 'submitted' });
    expect((await plugin.request('POST', `/downlink/${DEVICE}/clear`)).body).toEqual({ status: 'cleared' });
    expect(tts.requests.map((r) => r.path)).toEqual([path(APP, TTS_DEVICE, 'push'), path(APP, TTS_DEVICE, 'replace')]);
    for (const r of tts.requests) expect(r.headers.authorization).toBe(`Bearer ${API_KEY}`);
    expect(decoy.connections).toBe(0);
    expect(decoy.requests).toBe(0);
  });

  it('a public host the application never used is refused (the first host is pinned); so are malformed sets', async () => {
    const cases: [string, Record<string, string>][] = [
      ['host_not_allowed', headersAt('https://tts.attacker.example')],
      ['http_not_allowed', headersAt('http://eu1.cloud.thethings.network')],
      ['credentials_in_url', headersAt(`http://user:pass@localhost:${decoy.port}`)],
      ['not_a_tts_path', { ...headersAt(ttsBase), 'X-Downlink-Push': `${ttsBase}/admin/push` }],
      ['query_in_url', { ...headersAt(ttsBase), 'X-Downlink-Push': `${ttsBase}${path(APP, TTS_DEVICE, 'push')}?to=elsewhere` }],
      ['origin_mismatch', { ...headersAt(ttsBase), 'X-Downlink-Replace': `https://tts.attacker.example${path(APP, TTS_DEVICE, 'replace')}` }],
      ['ids_mismatch', headersAt(ttsBase, ATTACKER_KEY, APP, 'eui-0000000000000001')],
      ['ids_mismatch', headersAt(ttsBase, ATTACKER_KEY, 'other-app')],
      ['not_a_tts_path', { ...headersAt(ttsBase), 'X-Downlink-Push': `${ttsBase}${path(APP, TTS_DEVICE, 'replace')}` }],
      ['unsupported_scheme', { ...headersAt(ttsBase), 'X-Downlink-Push': 'file:///etc/passwd' }],
      ['invalid_url', { ...headersAt(ttsBase), 'X-Downlink-Push': 'not a url' }],
    ];
    for (const [, headers] of cases) {
      clock.advance(61_000); // one refusal event per application, host and reason per minute
      expect((await plugin.webhook(uplinkBody({ fCnt: fCnt++ }), { headers })).status).toBe(200);
    }
    const reasons = (await refusals()).map((e) => e.details.reason);
    for (const [reason] of cases) expect(reasons).toContain(reason);
    expect((await refusals()).find((e) => e.details.reason === 'host_not_allowed')!.title).toContain(
      "tts.attacker.example is not a TTS host of application 'greenhouse-app' (it uses localhost",
    );
    await sendDownlink('after');
    expect(tts.requests).toHaveLength(1);
    expect(tts.requests[0].headers.authorization).toBe(`Bearer ${API_KEY}`);
    expect(decoy.connections).toBe(0);
  });

  it('refusals of one host are one event a minute, carrying how many there were', async () => {
    for (let i = 0; i < 5; i++) await plugin.webhook(uplinkBody({ fCnt: fCnt++ }), { headers: headersAt('http://10.0.0.1') });
    expect(await refusals()).toHaveLength(1);
    clock.advance(61_000);
    await plugin.webhook(uplinkBody({ fCnt: fCnt++ }), { headers: headersAt('http://10.0.0.1') });
    const events = await refusals();
    expect(events).toHaveLength(2);
    expect(events[0].details).toMatchObject({ host: '10.0.0.1', refused: 5 });
  });

  it('credentials stored before the policy (a private URL) are refused when sending: FAILED, no request', async () => {
    await plugin.store.putCredentials(DEVICE, {
      apiKey: API_KEY,
      pushUrl: `http://127.0.0.1:${decoy.port}${path(APP, TTS_DEVICE, 'push')}`,
      replaceUrl: `http://127.0.0.1:${decoy.port}${path(APP, TTS_DEVICE, 'replace')}`,
    });
    const result = await sendDownlink('stale');
    expect(result).toMatchObject({ status: 'FAILED', error: { code: 'tts_url_refused' } });
    expect(result.error.message).toContain('127.0.0.1 is a loopback, private or link-local address');
    expect(decoy.connections).toBe(0);
    const errors = (await plugin.request('GET', `/api/events?device_id=${DEVICE}&category=downlink&severity=error`)).body.items;
    expect(errors[0].title).toMatch(/^Downlink not sent: downlink URL refused: 127\.0\.0\.1 is/);
  });
});

describe('push-URL policy with PLUGIN_TTS_ALLOW_PRIVATE (the harness default)', () => {
  let clock: TestClock;
  let plugin: PluginHarness;
  let tts: TtsPeer;
  let decoy: Decoy;
  beforeEach(async () => {
    clock = new TestClock();
    plugin = await new PluginHarness({ clock }).start();
    tts = await new TtsPeer().start();
    decoy = await new Decoy().start();
    const put = await plugin.request('PUT', `/api/profiles/${APP}`, { body: { formatter: { type: 'javascript', script: THINGER_DOWNLINK } } });
    expect(put.status).toBe(201);
    expect((await plugin.webhook(uplinkBody({ fCnt: 1 }), { headers: tts.downlinkHeaders(APP, TTS_DEVICE, API_KEY) })).status).toBe(200);
  });
  afterEach(async () => {
    await plugin.destroy();
    await tts.stop();
    await decoy.stop();
  });

  const webhookAt = (base: string, fCnt: number) => plugin.webhook(uplinkBody({ fCnt }), { headers: headersAt(base) });
  const reasons = async () =>
    ((await plugin.request('GET', `/api/events?app_id=${APP}&category=webhook&severity=warning`)).body.items as { details: { reason: string; host: string } }[]).map(
      (e) => `${e.details.reason} ${e.details.host}`,
    );

  it('the application is pinned to its first TTS host, also after a restart (from the stored credentials)', async () => {
    const info = (await plugin.request('GET', `/api/events?app_id=${APP}&category=webhook&severity=info`)).body.items;
    expect(info.map((e: { title: string }) => e.title)).toContain('Downlinks of this application go to TTS at 127.0.0.1');
    await webhookAt(`http://localhost:${decoy.port}`, 2);
    expect(await reasons()).toEqual(['host_not_allowed localhost']);

    await plugin.stop();
    plugin = await new PluginHarness({ clock, dataDir: plugin.dataDir }).start();
    clock.advance(61_000);
    await webhookAt(`http://localhost:${decoy.port}`, 3);
    expect(await reasons()).toEqual(['host_not_allowed localhost', 'host_not_allowed localhost']);
    // the pinned host itself is still taken (a new key, say)
    expect((await plugin.webhook(uplinkBody({ fCnt: 4 }), { headers: tts.downlinkHeaders(APP, TTS_DEVICE, 'NNSXS.ROTATED.KEY') })).status).toBe(200);
    await plugin.request('POST', `/api/devices/${DEVICE}/messages`, { body: { message_id: 'm1', message: CMD, f_port: 15 } });
    expect(tts.requests.at(-1)!.headers.authorization).toBe('Bearer NNSXS.ROTATED.KEY');
    expect(decoy.connections).toBe(0);
  });

  it('the profile\'s downlink.tts_hosts adds a host (a cluster move)', async () => {
    const put = await plugin.request('PUT', `/api/profiles/${APP}`, {
      body: { formatter: { type: 'javascript', script: THINGER_DOWNLINK }, downlink: { tts_hosts: 'nam1.cloud.thethings.network, localhost' } },
    });
    expect(put.status).toBe(200);
    expect(put.body.downlink.tts_hosts).toBe('nam1.cloud.thethings.network, localhost');
    await webhookAt(`http://localhost:${decoy.port}`, 2);
    expect(await reasons()).toEqual([]);
    await plugin.request('POST', `/api/devices/${DEVICE}/messages`, { body: { message_id: 'm1', message: CMD, f_port: 15 } });
    expect(decoy.requests).toBe(1);
  });

  it('credentials stored before the upgrade on a public TTS host keep working: the host is the pin', async () => {
    const eu1 = 'https://eu1.cloud.thethings.network';
    await plugin.store.putCredentials(DEVICE, {
      apiKey: API_KEY,
      pushUrl: `${eu1}${path(APP, TTS_DEVICE, 'push')}`,
      replaceUrl: `${eu1}${path(APP, TTS_DEVICE, 'replace')}`,
    });
    // a restart: pins come from what is stored
    await plugin.stop();
    plugin = await new PluginHarness({ clock, dataDir: plugin.dataDir, ttsAllowPrivate: false }).start();
    expect((await webhookAt(eu1, 2)).status).toBe(200);
    expect(await reasons()).toEqual([]);
    await webhookAt('https://nam1.cloud.thethings.network', 3);
    expect(await reasons()).toEqual(['host_not_allowed nam1.cloud.thethings.network']);
    expect(plugin.app.services.ttsUrlPolicy).toEqual({ allowPrivate: false, hosts: [] });
  });
});

describe('TtsUrlPolicy rules', () => {
  const policy = new TtsUrlPolicy({ allowPrivate: false, hosts: ['tts.example.net'] });
  const check = (url: string) => policy.checkUrl(new URL(url), null)?.reason ?? 'ok';
  const p = path('app-one', 'dev-one', 'push');

  it.each([
    [`https://eu1.cloud.thethings.network${p}`, 'ok'],
    [`https://EU1.Cloud.TheThings.Network.${p}`, 'ok'],
    [`http://tts.example.net:1885${p}`, 'ok'], // listed: http and any address
    [`http://eu1.cloud.thethings.network${p}`, 'http_not_allowed'],
    [`https://127.0.0.1${p}`, 'private_address'],
    [`https://127.1${p}`, 'private_address'],
    [`https://0x7f.1${p}`, 'private_address'],
    [`https://0.0.0.0${p}`, 'private_address'],
    [`https://10.1.2.3${p}`, 'private_address'],
    [`https://172.16.0.1${p}`, 'private_address'],
    [`https://192.168.1.1${p}`, 'private_address'],
    [`https://100.64.0.1${p}`, 'private_address'],
    [`https://169.254.169.254${p}`, 'private_address'],
    [`https://[::1]${p}`, 'private_address'],
    [`https://[::]${p}`, 'private_address'],
    [`https://[::ffff:10.0.0.1]${p}`, 'private_address'],
    [`https://[::127.0.0.1]${p}`, 'private_address'],
    [`https://[64:ff9b::10.0.0.1]${p}`, 'private_address'],
    [`https://[fe80::1]${p}`, 'private_address'],
    [`https://[fd00::1]${p}`, 'private_address'],
    [`https://localhost${p}`, 'private_address'],
    [`https://localhost.${p}`, 'private_address'],
    [`https://tts.localhost${p}`, 'private_address'],
    [`https://8.8.8.8${p}`, 'ok'],
    [`https://[2a00:1450::1]${p}`, 'ok'],
    [`https://u:p@eu1.cloud.thethings.network${p}`, 'credentials_in_url'],
    [`https://eu1.cloud.thethings.network${p}#x`, 'query_in_url'],
    ['https://eu1.cloud.thethings.network/api/v3/as/applications/a/webhooks/bridge/devices/dev-one/down/push', 'not_a_tts_path'],
    [`https://eu1.cloud.thethings.network/x${p}`, 'not_a_tts_path'],
    [`https://eu1.cloud.thethings.network${p}/`, 'not_a_tts_path'],
    [`https://eu1.cloud.thethings.network${p.replace('dev-one', '..%2f..')}`, 'not_a_tts_path'],
    [`ftp://eu1.cloud.thethings.network${p}`, 'unsupported_scheme'],
  ])('%s: %s', (url, reason) => {
    expect(check(url)).toBe(reason);
  });

  it('with PLUGIN_TTS_ALLOW_PRIVATE, private addresses pass, over http too; public http does not', () => {
    const open = new TtsUrlPolicy({ allowPrivate: true, hosts: [] });
    expect(open.checkUrl(new URL(`http://10.0.0.1:1885${p}`), 'push')).toBeNull();
    expect(open.checkUrl(new URL(`http://[fd00::1]${p}`), 'push')).toBeNull();
    expect(open.checkUrl(new URL(`http://eu1.cloud.thethings.network${p}`), 'push')?.reason).toBe('http_not_allowed');
  });

  it('non-public address ranges', () => {
    for (const a of ['127.0.0.1', '10.0.0.1', '172.31.255.255', '192.168.0.1', '169.254.169.254', '100.127.0.1', '::1', 'fe80::1', 'fd12::1', '::ffff:192.168.0.1', '255.255.255.255', '224.0.0.1']) {
      expect(isNonPublicAddress(a), a).toBe(true);
    }
    for (const a of ['8.8.8.8', '52.212.223.226', '172.32.0.1', '2a05:d018::1', '::ffff:8.8.8.8']) expect(isNonPublicAddress(a), a).toBe(false);
  });

  it('PLUGIN_TTS_HOSTS and PLUGIN_TTS_ALLOW_PRIVATE: defaults, parsing, refusal of wrong values', () => {
    expect(ttsUrlPolicyOptions(loadConfig({}))).toEqual({ allowPrivate: false, hosts: [] });
    expect(ttsUrlPolicyOptions(loadConfig({ PLUGIN_TTS_HOSTS: 'eu1.cloud.thethings.network, TTS.Example.com.,[::1],10.0.0.5', PLUGIN_TTS_ALLOW_PRIVATE: 'TRUE' }))).toEqual({
      allowPrivate: true,
      hosts: ['eu1.cloud.thethings.network', 'tts.example.com', '::1', '10.0.0.5'],
    });
    expect(() => loadConfig({ PLUGIN_TTS_ALLOW_PRIVATE: 'yes' })).toThrow(/^invalid configuration: PLUGIN_TTS_ALLOW_PRIVATE /);
    expect(() => loadConfig({ PLUGIN_TTS_HOSTS: 'https://eu1.example/path' })).toThrow(/^invalid configuration: PLUGIN_TTS_HOSTS /);
    expect(() => loadConfig({ PLUGIN_TTS_HOSTS: 'eu1 example' })).toThrow(/^invalid configuration: PLUGIN_TTS_HOSTS 'eu1 example' is not a host name/);
  });

  it('a name that resolves to a non-public address is refused when connecting (DNS checked on the connection)', async () => {
    const name = hostname();
    const addresses = await lookup(name, { all: true }).catch(() => []);
    if (addresses.length === 0 || !addresses.every((a) => isNonPublicAddress(a.address)) || name.endsWith('localhost')) return; // no such name here
    const decoy = await new Decoy().start();
    try {
      const client = new TtsDownlinkClient({ userAgent: 'test', timeoutMs: 2000, policy: new TtsUrlPolicy({ allowPrivate: false, hosts: [] }) });
      const outcome = await client.send(`https://${name}:${decoy.port}${p}`, 'key', { downlinks: [] });
      expect(outcome).toMatchObject({ ok: false, retryable: false, code: 'tts_url_refused' });
      if (!outcome.ok) expect(outcome.message).toContain(`${name.toLowerCase()} resolves to`);
      expect(decoy.connections).toBe(0);
      client.close();
    } finally {
      await decoy.stop();
    }
  });
});
