/**
 * The review of the ThingPark connection, finding by finding: each test replays what the reviewer
 * did (against the LRC stand-in and reports signed as Actility documents) and checks what a user
 * sees after the fix — API answers, stored messages and events, requests the LRC received.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DEVICE as TTS_DEVICE_ID, THINGER_DOWNLINK, deviceWithDownlinks, ttsDownlinkEvent } from '../helpers/downlink-setup.js';
import { PluginHarness, TestClock, type HarnessOptions } from '../helpers/plugin-harness.js';
import { uplinkBody } from '../helpers/tts-bodies.js';
import { TtsPeer } from '../helpers/tts-peer.js';
import {
  QUEUED_BODY,
  ThingParkLrc,
  VECTOR,
  downlinkSentReport,
  lrcTime,
  postReport,
  putThingParkProfile,
  tpFixture,
  uplinkReport,
  type BodyFormat,
  type Report,
} from '../helpers/thingpark-peer.js';

const APP = 'tp-app';
const OTHER = 'tp-b';
const AS_ID = VECTOR.asId;
const AS_KEY = '5ca1ab1e5ca1ab1e5ca1ab1e5ca1ab1e';
const OTHER_KEY = 'bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb';
const EUI = 'A0000000000000D1';
const CMD = { enabled: true, frequency: 300, threshold: 25 }; // -> 01 01 2C 19
const SCRIPT = `${THINGER_DOWNLINK}
module.exports.uplink = function (payload) { return { payload: payload }; };`;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('ThingPark review findings, fixed', () => {
  let clock: TestClock;
  let plugin: PluginHarness;
  let lrc: ThingParkLrc;

  const startPlugin = async (options: HarnessOptions = {}) => {
    plugin = await new PluginHarness({ clock, ...options }).start();
  };
  beforeEach(async () => {
    clock = new TestClock();
    lrc = await new ThingParkLrc(AS_KEY).start();
  });
  afterEach(async () => {
    await plugin?.destroy();
    await lrc.stop();
  });

  const putProfile = (appId: string, asKey: string, settings: Record<string, unknown> = {}) =>
    putThingParkProfile(plugin, appId, {
      asId: AS_ID,
      asKey,
      downlinkUrl: lrc.downlinkUrl,
      maxClockSkewS: 60,
      settings: { formatter: { type: 'javascript', script: SCRIPT }, ...settings },
    });
  const report = (r: Report, o: { appId?: string; asKey?: string; format?: BodyFormat } = {}) =>
    postReport(plugin, o.appId ?? APP, r, { asId: AS_ID, asKey: o.asKey ?? AS_KEY, now: clock.now(), format: o.format ?? 'typed' });
  /** A ThingPark application with its device known (one uplink). */
  async function setup(settings: Record<string, unknown> = {}, options: HarnessOptions = {}): Promise<void> {
    await startPlugin(options);
    const put = await putProfile(APP, AS_KEY, settings);
    expect(put.status, put.text).toBe(201);
    const up = await report(uplinkReport({ devEui: EUI, fCntUp: 1 }));
    expect(up.status, up.text).toBe(200);
    expect(up.body).toMatchObject({ device_id: EUI });
  }
  const create = (body: Record<string, unknown>) => plugin.request('POST', `/api/devices/${EUI}/messages`, { body });
  const show = async (id: string) => (await plugin.request('GET', `/api/devices/${EUI}/messages/${id}`)).body;
  const tick = () => plugin.app.services.downlinks.tick();
  const events = async (appId = APP) => (await plugin.request('GET', `/api/events?app_id=${appId}&limit=1000`)).body.items as any[];
  const sent = (correlationId: string, deliveryStatus = 1) =>
    report(downlinkSentReport({ devEui: EUI, correlationId, fPort: 15, fCntDn: 3, deliveryStatus, causes: ['00', '00', '00'] }));
  /** Polls the message until `done` holds (background work such as acks), or gives its last state. */
  async function showUntil(id: string, done: (m: any) => boolean, ms = 3000): Promise<any> {
    const end = Date.now() + ms;
    let m = await show(id);
    while (!done(m) && Date.now() < end) {
      await sleep(25);
      m = await show(id);
    }
    return m;
  }

  it('1: unsigned DevEUI_notification is at most one event per connection per minute, marked unsigned', async () => {
    await setup();
    await putProfile(OTHER, OTHER_KEY).then((r) => expect(r.status, r.text).toBe(201));
    const isNotification = (e: any) => String(e.title).startsWith('ThingPark: device notification');
    const before = (await events()).filter(isNotification).length;
    expect(before).toBe(0);
    const notification = tpFixture('DevEUI_notification') as Report;
    notification.DevEUI_notification!.DevEUI = EUI;
    notification.DevEUI_notification!.Type = 'reset (spoofed, no Token at all)';
    // As the reviewer: no Token, only the AS ID (which is no secret) and a fresh Time.
    const spoof = (appId: string, devEui = EUI) => {
      notification.DevEUI_notification!.DevEUI = devEui;
      const q = `LrnDevEui=${devEui}&LrnFPort=0&LrnInfos=x&AS_ID=${encodeURIComponent(AS_ID)}&Time=${encodeURIComponent(lrcTime(clock.now()))}`;
      return plugin.request('POST', `/thingpark/${appId}?${q}`, { raw: JSON.stringify(notification), token: null, headers: { 'Content-Type': 'application/json' } });
    };

    const answers = [];
    for (let i = 0; i < 30; i++) answers.push(await spoof(APP));
    expect(answers[0]!.status, answers[0]!.text).toBe(200);
    for (const a of answers.slice(1)) {
      expect(a.status, a.text).toBe(202);
      expect(a.body).toEqual({ status: 'ignored', reason: 'unsigned_notification_throttled' });
    }
    let stored = (await events()).filter(isNotification);
    expect(stored).toHaveLength(1);
    expect(stored[0].title.endsWith(' (unsigned)'), stored[0].title).toBe(true);
    expect(stored[0].details).toMatchObject({ unsigned: true, received_since_last_event: 1 });

    // Per connection: another one has its own minute.
    const other = await spoof(OTHER, 'B0000000000000E1');
    expect(other.status, other.text).toBe(200);
    expect((await events(OTHER)).filter(isNotification)).toHaveLength(1);

    // Still within the minute: ignored; a minute after the first: one event counting all since.
    clock.advance(59_000);
    expect((await spoof(APP)).status).toBe(202);
    clock.advance(1_000);
    const next = await spoof(APP);
    expect(next.status, next.text).toBe(200);
    stored = (await events()).filter(isNotification);
    expect(stored).toHaveLength(2);
    const latest = stored.find((e) => e.details.received_since_last_event !== 1) ?? stored[0];
    expect(latest.title.endsWith(' (unsigned)')).toBe(true);
    expect(latest.details).toMatchObject({ unsigned: true, received_since_last_event: 31 });
  });

  it('2: ThingPark report bodies are limited to 64 KiB (413 payload_too_large), before any parsing', async () => {
    await setup();
    // The reviewer's ~1 MiB XML of siblings, four at once: each read and parsed before auth, blocking the loop.
    const xml = '<DevEUI_uplink>' + Array.from({ length: 110000 }, (_, i) => `<x${i}/>`).join('') + '</DevEUI_uplink>';
    expect(xml.length).toBeLessThan(1024 * 1024);
    const posts = Array.from({ length: 4 }, () => plugin.request('POST', `/thingpark/${APP}?AS_ID=x`, { raw: xml, token: null, headers: { 'Content-Type': 'application/xml' } }));
    await sleep(50);
    const h0 = Date.now();
    const health = await plugin.request('GET', '/healthz', { token: null });
    const healthMs = Date.now() - h0;
    expect(health.status).toBe(200);
    for (const r of await Promise.all(posts)) {
      expect(r.status, r.text).toBe(413);
      expect(r.body.error.code).toBe('payload_too_large');
    }
    expect(healthMs, 'the event loop stayed free').toBeLessThan(2000);

    // The limit is 64 KiB: a signed uplink padded to exactly 64 KiB is taken, one byte more is not.
    const up = uplinkReport({ devEui: EUI, fCntUp: 2 });
    const json = JSON.stringify(up);
    const exact = json + ' '.repeat(64 * 1024 - json.length);
    const opts = { asId: AS_ID, asKey: AS_KEY, now: clock.now() };
    const ok = await postReport(plugin, APP, up, { ...opts, raw: exact });
    expect(ok.status, ok.text).toBe(200);
    const over = await postReport(plugin, APP, uplinkReport({ devEui: EUI, fCntUp: 3 }), { ...opts, raw: exact + ' ' });
    expect(over.status, over.text).toBe(413);
    expect(over.body.error.code).toBe('payload_too_large');

    // Without a Content-Length (chunked) too.
    const chunks = [Buffer.from(json), Buffer.alloc(70 * 1024, 0x20)];
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        const c = chunks.shift();
        if (c) controller.enqueue(c);
        else controller.close();
      },
    });
    const chunked = await fetch(`${plugin.url}/thingpark/${APP}?AS_ID=x`, { method: 'POST', body: stream, headers: { 'Content-Type': 'application/json' }, duplex: 'half' } as RequestInit);
    expect(chunked.status).toBe(413);
    expect((await chunked.json()).error.code).toBe('payload_too_large');
    // Nothing of the refused ones was stored: the device has the first uplink and the 64 KiB one.
    const device = (await plugin.request('GET', `/api/devices/${EUI}`)).body;
    expect(device.properties.device.f_cnt).toBe(2);
  });

  it('3: a DevEUI_downlink_Sent that arrives while the LRC has not answered yet is not overwritten', async () => {
    await setup();
    lrc.respond({ status: 200, body: QUEUED_BODY, delayMs: 1000 });
    const pending = create({ message_id: 'r1', message: CMD, f_port: 15 });
    while (lrc.requests.length === 0) await sleep(10);
    const correlationId = lrc.requests[0]!.query.CorrelationID!;
    clock.advance(2_000);
    const report3 = await sent(correlationId);
    expect(report3.status, report3.text).toBe(200);
    expect(await show('r1')).toMatchObject({ status: 'DELIVERED', finished_time: '20250416T120002Z' });

    const res = await pending; // the LRC's "Request queued" comes after the report
    expect(res.status, res.text).toBe(201);
    // the creator's answer tells what the report left, not the state before the send
    expect(res.body.result).toMatchObject({ status: 'DELIVERED', detail: 'sent' });
    const after = await show('r1');
    expect(after).toMatchObject({ status: 'DELIVERED', detail: 'sent', finished_time: '20250416T120002Z' });
    expect(after.error ?? null).toBeNull();

    // Nothing left to time out or resend.
    clock.advance(1441 * 60_000);
    await tick();
    expect(await show('r1')).toMatchObject({ status: 'DELIVERED', detail: 'sent' });
    expect(lrc.requests).toHaveLength(1);

    // The same with TTS: downlink_sent while the push awaits TTS's answer.
    const tts = await new TtsPeer().start();
    try {
      await deviceWithDownlinks(plugin, tts);
      tts.respond({ status: 200, delayMs: 1000 });
      const ttsShow = async () => (await plugin.request('GET', `/api/devices/${TTS_DEVICE_ID}/messages/r2`)).body;
      const ttsPending = plugin.request('POST', `/api/devices/${TTS_DEVICE_ID}/messages`, { body: { message_id: 'r2', message: CMD, f_port: 15 } });
      while (tts.requests.length === 0) await sleep(10);
      const { correlation_id } = await ttsShow();
      clock.advance(1_000);
      expect((await plugin.webhook(ttsDownlinkEvent('downlink_sent', correlation_id))).status).toBe(200);
      const ttsMid = await ttsShow();
      expect(ttsMid).toMatchObject({ status: 'DELIVERED', detail: 'sent' });
      expect(ttsMid.finished_time).toEqual(expect.any(String));
      expect((await ttsPending).status).toBe(201);
      expect(await ttsShow()).toMatchObject({ status: 'DELIVERED', detail: 'sent', finished_time: ttsMid.finished_time });
      clock.advance(1441 * 60_000);
      await tick();
      expect(await ttsShow()).toMatchObject({ status: 'DELIVERED', detail: 'sent' });
      expect(tts.requests).toHaveLength(1);
    } finally {
      await tts.stop();
    }
  });

  it('4: an LRC timeout is not resent: PENDING submitted (thingpark_timeout) until DevEUI_downlink_Sent or the TTL', async () => {
    await setup({}, { ttsTimeoutMs: 200 });
    lrc.respond({ status: 200, body: QUEUED_BODY, delayMs: 800 }, { status: 200, body: QUEUED_BODY, delayMs: 800 });
    const res = await create({ message_id: 't1', message: CMD, f_port: 15 });
    expect(res.status, res.text).toBe(201);
    expect(res.body.result).toMatchObject({ status: 'PENDING', detail: 'submitted', error: { code: 'thingpark_timeout' } });
    const ttl = await create({ message_id: 't2', message: CMD, f_port: 15, ttl: 5 });
    expect(ttl.body.result).toMatchObject({ status: 'PENDING', detail: 'submitted', error: { code: 'thingpark_timeout' } });
    expect(lrc.requests).toHaveLength(2);

    // Past every backoff: no second request for either.
    for (let i = 0; i < 3; i++) {
      clock.advance(2 * 60_000);
      await tick();
    }
    expect(lrc.requests).toHaveLength(2);
    expect(await show('t1')).toMatchObject({ status: 'PENDING', detail: 'submitted', error: { code: 'thingpark_timeout' } });
    expect(await show('t2')).toMatchObject({ status: 'TIMEOUT' });

    // The LRC had queued it after all: its delivery report ends it.
    const report4 = await sent(lrc.requests[0]!.query.CorrelationID!);
    expect(report4.status, report4.text).toBe(200);
    expect(await show('t1')).toMatchObject({ status: 'DELIVERED' });
    clock.advance(1441 * 60_000);
    await tick();
    expect(lrc.requests).toHaveLength(2);
    expect(lrc.requests.map((r) => r.query.CorrelationID)).toEqual([...new Set(lrc.requests.map((r) => r.query.CorrelationID))]);
    await sleep(700); // let the stand-in's late answers go out before it stops
  });

  it('5: an uplink with ACKbit 1 acknowledges the oldest confirmed message sent (same application, not on a duplicate)', async () => {
    await setup({ downlink: { confirmed: true } });
    const other = await putProfile(OTHER, OTHER_KEY);
    expect(other.status, other.text).toBe(201);
    const ackUplink = (fCntUp: number, ack: number) => {
      const r = uplinkReport({ devEui: EUI, fCntUp });
      r.DevEUI_uplink!.ACKbit = ack;
      return r;
    };

    expect((await create({ message_id: 'c1', message: CMD, f_port: 15 })).status).toBe(201);
    expect((await sent(lrc.requests[0]!.query.CorrelationID!)).status).toBe(200);
    expect(await show('c1')).toMatchObject({ status: 'PENDING', detail: 'sent' });

    // Another application's uplink with the same DevEUI (hence device id) acknowledges nothing here.
    const foreign = await report(ackUplink(2, 1), { appId: OTHER, asKey: OTHER_KEY });
    expect(foreign.status, foreign.text).toBe(200);
    await sleep(300);
    expect(await show('c1')).toMatchObject({ status: 'PENDING', detail: 'sent' });

    // The device's own ack (typed ACKbit 1).
    clock.advance(5_000);
    const a1 = await report(ackUplink(2, 1));
    expect(a1.status, a1.text).toBe(200);
    expect(await showUntil('c1', (m) => m.status !== 'PENDING')).toMatchObject({ status: 'DELIVERED', detail: 'acknowledged', finished_time: '20250416T120005Z' });

    // Two more confirmed messages sent; the oldest is the one acked.
    clock.advance(1_000);
    await create({ message_id: 'c2', message: CMD, f_port: 15 });
    clock.advance(1_000);
    await create({ message_id: 'c3', message: CMD, f_port: 15 });
    expect(lrc.requests).toHaveLength(3);
    for (const r of lrc.requests.slice(1)) expect((await sent(r.query.CorrelationID!)).status).toBe(200);
    // The same uplink again (a resend): a duplicate, it acks nothing.
    const dup = await report(ackUplink(2, 1));
    expect(dup.status, dup.text).toBe(200);
    expect(dup.body.status).toBe('duplicate');
    // ACKbit 0 acks nothing.
    expect((await report(ackUplink(3, 0))).status).toBe(200);
    await sleep(300);
    expect(await show('c2')).toMatchObject({ status: 'PENDING', detail: 'sent' });
    expect(await show('c3')).toMatchObject({ status: 'PENDING', detail: 'sent' });

    // Untyped JSON: ACKbit "1".
    const a2 = await report(ackUplink(4, 1), { format: 'untyped' });
    expect(a2.status, a2.text).toBe(200);
    expect(await showUntil('c2', (m) => m.status !== 'PENDING')).toMatchObject({ status: 'DELIVERED', detail: 'acknowledged' });
    await sleep(200);
    expect(await show('c3')).toMatchObject({ status: 'PENDING', detail: 'sent' });
    expect(await show('c1')).toMatchObject({ status: 'DELIVERED', detail: 'acknowledged', finished_time: '20250416T120005Z' });
  });

  it('6: a profile\'s network cannot change while the application has devices (409 network_in_use)', async () => {
    await startPlugin();
    // A TTS application with a device.
    const put = await plugin.request('PUT', `/api/profiles/${APP}`, { body: { formatter: { type: 'javascript', script: SCRIPT } } });
    expect(put.status, put.text).toBe(201);
    const w = await plugin.webhook(uplinkBody({ appId: APP, deviceId: 'dev1', devEui: EUI }));
    expect(w.status, w.text).toBe(200);
    const deviceId = w.body.device_id as string;
    const profileBefore = (await plugin.request('GET', `/api/profiles/${APP}`)).body;

    const sw = await putProfile(APP, AS_KEY);
    expect(sw.status, sw.text).toBe(409);
    expect(sw.body.error.code).toBe('network_in_use');
    expect((await plugin.request('GET', `/api/profiles/${APP}`)).body).toEqual(profileBefore);
    expect((await plugin.request('GET', `/api/devices/${deviceId}`)).body).toMatchObject({ network: 'tts' });
    // ThingPark reports for it are still refused, as for any TTS profile.
    const tp = await report(uplinkReport({ devEui: EUI, fCntUp: 5 }));
    expect(tp.status, tp.text).toBe(401);

    // The other way round: a ThingPark application with a device stays ThingPark.
    const tpPut = await putProfile(OTHER, OTHER_KEY);
    expect(tpPut.status).toBe(201);
    const tpUp = await report(uplinkReport({ devEui: 'B0000000000000E1', fCntUp: 1 }), { appId: OTHER, asKey: OTHER_KEY });
    expect(tpUp.status, tpUp.text).toBe(200);
    const back = await plugin.request('PUT', `/api/profiles/${OTHER}`, { body: { network: 'tts', formatter: { type: 'javascript', script: SCRIPT } } });
    expect(back.status, back.text).toBe(409);
    expect(back.body.error.code).toBe('network_in_use');
    expect((await plugin.request('GET', `/api/profiles/${OTHER}`)).body).toMatchObject({ network: 'thingpark' });

    // Without devices the switch is allowed.
    expect((await plugin.request('DELETE', `/api/devices/${deviceId}`)).status).toBeLessThan(300);
    const again = await putProfile(APP, AS_KEY);
    expect(again.status, again.text).toBe(200);
    expect(again.body).toMatchObject({ network: 'thingpark' });
  });

  it('7: a downlink formatter returning a decoded payload for a ThingPark device: FAILED formatter_needs_bytes, 422 on /downlink', async () => {
    await setup({ formatter: { type: 'javascript', script: 'module.exports.uplink = function (p) { return {p: p}; }; module.exports.downlink = function (p) { return { cmd: p }; };' } });
    const r = await plugin.request('POST', `/downlink/${EUI}`, { body: { a: 1 } });
    expect(r.status, r.text).toBe(422);
    expect(r.body.error.code).toBe('formatter_needs_bytes');
    const messageId = r.body.error.details.message_id as string;
    expect(await show(messageId)).toMatchObject({ status: 'FAILED', error: { code: 'formatter_needs_bytes' } });
    const api = await create({ message_id: 'd1', message: { a: 2 }, f_port: 15 });
    expect(api.status, api.text).toBe(201);
    expect(api.body.result).toMatchObject({ status: 'FAILED', error: { code: 'formatter_needs_bytes' } });
    expect(lrc.requests).toHaveLength(0);
  });

  it('8: token rotation on a ThingPark profile is 409 not_a_tts_profile; a failed clear reports details.http_status', async () => {
    await setup();
    const before = (await plugin.request('GET', `/api/profiles/${APP}`)).body;
    const rot = await plugin.request('POST', `/api/profiles/${APP}/webhook`);
    expect(rot.status, rot.text).toBe(409);
    expect(rot.body.error.code).toBe('not_a_tts_profile');
    expect(JSON.stringify(rot.body)).not.toMatch(/NNSXS|token"\s*:\s*"/i);
    expect((await plugin.request('GET', `/api/profiles/${APP}`)).body).toEqual(before);
    expect((await events()).filter((e) => e.title === 'Webhook token rotated')).toHaveLength(0);
    // Reports signed with the AS key still come in.
    expect((await report(uplinkReport({ devEui: EUI, fCntUp: 2 }))).status).toBe(200);

    lrc.respond({ status: 403, body: '<html><body>Forbidden</body></html>' });
    const clear = await plugin.request('POST', `/downlink/${EUI}/clear`);
    expect(clear.status, clear.text).toBe(502);
    expect(clear.body.error.details).toMatchObject({ http_status: 403 });
    expect(clear.body.error.details).not.toHaveProperty('tts_status');
  });
});
