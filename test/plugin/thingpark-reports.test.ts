/**
 * ThingPark reports in: the published token vector, the three content types (typed JSON, untyped
 * JSON, XML) storing the same data, the device a report provisions, what formatters are given,
 * resends, and every report type. The LRC is played by test/helpers/thingpark-peer.ts, which signs
 * each report from the reference alone (A.2.2 / A.2.3).
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PluginHarness, TestClock } from '../helpers/plugin-harness.js';
import {
  VECTOR,
  bodyElements,
  downlinkRejectedReport,
  downlinkSentReport,
  encodeReportQuery,
  lrcTime,
  postReport,
  putThingParkProfile,
  reportToken,
  tpFixture,
  tpFixtureText,
  uplinkReport,
  type BodyFormat,
  type Report,
} from '../helpers/thingpark-peer.js';

const AS_ID = VECTOR.asId;
const AS_KEY = '0123456789abcdef0123456789abcdef';
const LRC_URL = 'http://127.0.0.1:9/thingpark/lrc/rest/downlink'; // never called here

/** TTS style: what it was given, as data. */
const ECHO_BYTES = `function decodeUplink(input) {
  return { data: { bytes: input.bytes, fPort: input.fPort, recv: new Date(input.recvTime).toISOString() } };
}`;

/** Thinger style: the base64 payload and what it reads of the report (`message`). */
const THINGER_READS_MESSAGE = `module.exports.uplink = function (payload, message) {
  var r = message.DevEUI_uplink;
  return {
    payload: payload,
    root: Object.keys(message),
    dev_eui: String(r.DevEUI),
    f_port: String(r.FPort),
    f_cnt: String(r.FCntUp),
    payload_hex: String(r.payload_hex),
    customer: String(r.CustomerID)
  };
};`;

describe('ThingPark reports', () => {
  let clock: TestClock;
  let plugin: PluginHarness;
  beforeEach(async () => {
    clock = new TestClock();
    plugin = await new PluginHarness({ clock }).start();
  });
  afterEach(async () => {
    await plugin.destroy();
  });

  const profile = async (appId: string, settings: Record<string, unknown> = {}, o: { asKey?: string; skew?: number } = {}) => {
    const res = await putThingParkProfile(plugin, appId, {
      asId: AS_ID,
      asKey: o.asKey ?? AS_KEY,
      downlinkUrl: LRC_URL,
      maxClockSkewS: o.skew ?? 60,
      settings,
    });
    expect(res.status, res.text).toBe(201);
  };
  const send = (appId: string, report: Report, format: BodyFormat = 'typed', extra: { contentType?: string } = {}) =>
    postReport(plugin, appId, report, { asId: AS_ID, asKey: AS_KEY, now: clock.now(), format, ...extra });
  const rows = async (bucket: string) => (await plugin.request('GET', `/api/buckets/${bucket}/data`)).body.items;
  const device = async (id: string) => (await plugin.request('GET', `/api/devices/${id}`)).body;

  describe('the published vector (reference A.2.4)', () => {
    const vectorPath = (appId: string) => `/thingpark/${appId}?${encodeReportQuery(VECTOR.query, VECTOR.token)}`;
    const post = (appId: string, raw: string, contentType: string) =>
      plugin.request('POST', vectorPath(appId), { raw, token: null, headers: { 'Content-Type': contentType } });

    it('the stand-in computes the published bodyElements and Token', () => {
      const report = tpFixture('DevEUI_uplink');
      expect(bodyElements(report)).toBe(VECTOR.bodyElements);
      expect(reportToken(report, { ...VECTOR.query }, VECTOR.asKey)).toBe(VECTOR.token);
      // the percent-encoded Time would give another token (A.2.2 "Decoding matters")
      expect(reportToken(report, { ...VECTOR.query, Time: '2021-04-07T08:49:51.551%2B00:00' }, VECTOR.asKey)).not.toBe(VECTOR.token);
    });

    it('is accepted with that AS_ID and key and no time check, and stores the uplink', async () => {
      await profile('vector-app', { formatter: { type: 'javascript', script: ECHO_BYTES } }, { asKey: VECTOR.asKey, skew: 0 });
      const res = await post('vector-app', tpFixtureText('DevEUI_uplink.json'), 'application/json');
      expect(res.status, res.text).toBe(200);
      expect(res.body).toMatchObject({ status: 'stored', device_id: '20635F0108000496' });
      const bytes = [...Buffer.from(tpFixture('DevEUI_uplink').DevEUI_uplink!.payload_hex, 'hex')];
      expect(await rows('20635F0108000496')).toEqual([
        { ts: '2021-04-07T08:49:45.235Z', data: { bytes, fPort: 17, recv: '2021-04-07T08:49:45.235Z' } },
      ]);
      const d = await device('20635F0108000496');
      expect(d).toMatchObject({ id: '20635F0108000496', app_id: 'vector-app', network: 'thingpark', bucket_id: '20635F0108000496' });
      expect(d.ids).toEqual({
        network: 'thingpark',
        app_id: 'vector-app',
        network_device_id: '20635F0108000496',
        dev_eui: '20635F0108000496',
        dev_addr: '05AE3D2F',
      });
      const stored = (await plugin.request('GET', '/api/events?device_id=20635F0108000496&category=uplink')).body.items;
      expect(stored).toHaveLength(1);
      expect(stored[0].details).toMatchObject({ f_port: 17, f_cnt: 18 });
    });

    it('the same uplink as untyped JSON and as XML carries the same token: accepted, and a resend (one row)', async () => {
      await profile('vector-app', { formatter: { type: 'javascript', script: ECHO_BYTES } }, { asKey: VECTOR.asKey, skew: 0 });
      const typed = await post('vector-app', tpFixtureText('DevEUI_uplink.json'), 'application/json');
      const untyped = await post('vector-app', tpFixtureText('DevEUI_uplink.untyped.json'), 'application/json');
      const xml = await post('vector-app', tpFixtureText('DevEUI_uplink.xml'), 'application/xml');
      const textXml = await post('vector-app', tpFixtureText('DevEUI_uplink.xml'), 'text/xml; charset=utf-8');
      expect([typed.status, untyped.status, xml.status, textXml.status], `${untyped.text} ${xml.text} ${textXml.text}`).toEqual([200, 200, 200, 200]);
      expect(typed.body.status).toBe('stored');
      for (const r of [untyped, xml, textXml]) expect(r.body).toMatchObject({ status: 'duplicate', device_id: '20635F0108000496' });
      expect(await rows('20635F0108000496')).toHaveLength(1);
    });

    it('with a 60 s clock check, its 2021 Time is refused (403 stale_time)', async () => {
      await profile('vector-app', {}, { asKey: VECTOR.asKey, skew: 60 });
      const res = await post('vector-app', tpFixtureText('DevEUI_uplink.json'), 'application/json');
      expect(res.status).toBe(403);
      expect(res.body.error.code).toBe('stale_time');
      expect((await plugin.request('GET', '/api/devices')).body.items).toEqual([]);
    });
  });

  it('typed JSON, untyped JSON and XML bodies store the same data (values that look like numbers stay text)', async () => {
    // An all-digit DevEUI, DevAddr and payload_hex, and a payload_hex that reads as a float
    // (01231e10): a parser that turns text into numbers would change them (and break the token).
    const report = uplinkReport({
      devEui: '0018000000000123',
      devAddr: '00000001',
      fPort: 2,
      fCntUp: 7,
      bytes: [0x01, 0x23, 0x1e, 0x10],
      time: '2025-04-16T13:59:58.500+02:00',
    });
    const formats: BodyFormat[] = ['typed', 'untyped', 'xml'];
    for (const format of formats) {
      await profile(`tp-${format}`, {
        uplink: { device_id_prefix: `${format}-`, bucket_id_prefix: `${format}-` },
        formatter: { type: 'javascript', script: THINGER_READS_MESSAGE },
      });
      const res = await send(`tp-${format}`, report, format);
      expect({ format, status: res.status, body: res.body }).toEqual({
        format,
        status: 200,
        body: expect.objectContaining({ status: 'stored', device_id: `${format}-0018000000000123` }),
      });
    }
    const expected = [
      {
        ts: '2025-04-16T11:59:58.500Z',
        data: {
          payload: Buffer.from([0x01, 0x23, 0x1e, 0x10]).toString('base64'),
          root: ['DevEUI_uplink'],
          dev_eui: '0018000000000123',
          f_port: '2',
          f_cnt: '7',
          payload_hex: '01231e10',
          customer: '100002167',
        },
      },
    ];
    for (const format of formats) {
      expect({ format, rows: await rows(`${format}-0018000000000123`) }).toEqual({ format, rows: expected });
      const d = await device(`${format}-0018000000000123`);
      expect({ format, ids: d.ids, network: d.network }).toEqual({
        format,
        network: 'thingpark',
        ids: { network: 'thingpark', app_id: `tp-${format}`, network_device_id: '0018000000000123', dev_eui: '0018000000000123', dev_addr: '00000001' },
      });
    }
  });

  it('the TTS-style formatter gets the bytes, FPort and the body Time as recvTime; f_cnt is FCntUp', async () => {
    await profile('tp-app', { formatter: { type: 'javascript', script: ECHO_BYTES } });
    const res = await send('tp-app', uplinkReport({ devEui: 'A000000000000001', fPort: 5, fCntUp: 1234, bytes: [9, 41, 16, 4], time: '2025-04-16T11:59:50.000+00:00' }), 'untyped');
    expect(res.status, res.text).toBe(200);
    expect(await rows('A000000000000001')).toEqual([
      { ts: '2025-04-16T11:59:50.000Z', data: { bytes: [9, 41, 16, 4], fPort: 5, recv: '2025-04-16T11:59:50.000Z' } },
    ]);
    const stored = (await plugin.request('GET', '/api/events?device_id=A000000000000001&category=uplink')).body.items;
    expect(stored[0].details).toMatchObject({ f_port: 5, f_cnt: 1234 });
  });

  it('the device id is the prefix and the upper-case DevEUI, whatever case the report uses', async () => {
    await profile('tp-app', { uplink: { device_id_prefix: 'tp-', bucket_id_prefix: 'b-' }, formatter: { type: 'javascript', script: ECHO_BYTES } });
    const lower = await send('tp-app', uplinkReport({ devEui: 'a0000000000000ff', fCntUp: 1 }));
    expect(lower.status, lower.text).toBe(200);
    expect(lower.body).toMatchObject({ device_id: 'tp-A0000000000000FF' });
    const upper = await send('tp-app', uplinkReport({ devEui: 'A0000000000000FF', fCntUp: 2 }));
    expect(upper.body).toMatchObject({ status: 'stored', device_id: 'tp-A0000000000000FF' });
    const devices = (await plugin.request('GET', '/api/devices?app_id=tp-app')).body.items;
    expect(devices.map((d: { id: string }) => d.id)).toEqual(['tp-A0000000000000FF']);
    expect(devices[0]).toMatchObject({ network: 'thingpark', bucket_id: 'b-A0000000000000FF' });
    expect(await rows('b-A0000000000000FF')).toHaveLength(2);
  });

  it('a resend (same DevEUI, DevAddr, FCntUp and payload) is stored once; another payload or session is new data', async () => {
    await profile('tp-app', { formatter: { type: 'javascript', script: ECHO_BYTES } });
    const eui = 'A000000000000002';
    const first = await send('tp-app', uplinkReport({ devEui: eui, devAddr: '01020304', fCntUp: 10, bytes: [1] }));
    clock.advance(5_000);
    const again = await send('tp-app', uplinkReport({ devEui: eui, devAddr: '01020304', fCntUp: 10, bytes: [1] }), 'xml');
    expect(first.body).toMatchObject({ status: 'stored' });
    expect(again.status).toBe(200);
    expect(again.body).toMatchObject({ status: 'duplicate', device_id: eui });
    expect(await rows(eui)).toHaveLength(1);
    // same counter, other payload: new data; same counter and payload in a new session (DevAddr): new data
    expect((await send('tp-app', uplinkReport({ devEui: eui, devAddr: '01020304', fCntUp: 10, bytes: [2] }))).body).toMatchObject({ status: 'stored' });
    expect((await send('tp-app', uplinkReport({ devEui: eui, devAddr: '0A0B0C0D', fCntUp: 10, bytes: [1] }))).body).toMatchObject({ status: 'stored' });
    expect(await rows(eui)).toHaveLength(3);
  });

  it('an uplink without FPort is signed with FPort 0 and accepted', async () => {
    await profile('tp-app', { formatter: { type: 'javascript', script: ECHO_BYTES } });
    const report = uplinkReport({ devEui: 'A000000000000003', fCntUp: 3 });
    delete report.DevEUI_uplink!.FPort;
    const res = await send('tp-app', report);
    expect(res.status, res.text).toBe(200);
    expect((await device('A000000000000003')).network).toBe('thingpark');
  });

  describe('every report type', () => {
    it('DevEUI_location (token over lower-case DevEUI) moves the device when update_location is on', async () => {
      await profile('tp-app', { uplink: { update_location: true }, formatter: { type: 'javascript', script: ECHO_BYTES } });
      const eui = '0059AC0000000001';
      expect((await send('tp-app', uplinkReport({ devEui: eui, devAddr: '14204399' }))).status).toBe(200);
      const location = tpFixture('DevEUI_location');
      for (const format of ['typed', 'xml'] as const) {
        const res = await send('tp-app', location, format);
        expect({ format, status: res.status, text: res.text }).toMatchObject({ format, status: 200 });
      }
      expect((await device(eui)).properties.location).toMatchObject({ latitude: 51.907218, longitude: 4.489303 });
      expect(await rows(eui)).toHaveLength(1); // a location is no data row
    });

    it('DevEUI_location leaves the device where it was without update_location', async () => {
      await profile('tp-app', { formatter: { type: 'javascript', script: ECHO_BYTES } });
      const eui = '0059AC0000000001';
      await send('tp-app', uplinkReport({ devEui: eui }));
      const res = await send('tp-app', tpFixture('DevEUI_location'));
      expect(res.status, res.text).toBe(200);
      expect((await device(eui)).properties.location).toBeUndefined();
    });

    it('DevEUI_notification is taken unsigned (its token is not verifiable): one event a minute per connection, marked unsigned, and no data', async () => {
      await profile('tp-app', { formatter: { type: 'javascript', script: ECHO_BYTES } });
      const eui = 'F03D291E001001C9';
      await send('tp-app', uplinkReport({ devEui: eui, devAddr: '007E074F' }));
      const notification = tpFixture('DevEUI_notification');
      const signed = await send('tp-app', notification);
      const unsigned = await postReport(plugin, 'tp-app', notification, { asId: AS_ID, asKey: AS_KEY, now: clock.now(), token: 'f'.repeat(64) });
      const xml = await send('tp-app', notification, 'xml');
      expect([signed.status, unsigned.status, xml.status], `${signed.text} ${unsigned.text} ${xml.text}`).toEqual([200, 202, 202]);
      expect(JSON.parse(unsigned.text)).toEqual({ status: 'ignored', reason: 'unsigned_notification_throttled' });
      expect(await rows(eui)).toHaveLength(1);
      const events = (await plugin.request('GET', '/api/events?app_id=tp-app&category=webhook')).body.items;
      expect(events.filter((e: { title: string }) => e.title.startsWith('ThingPark: device notification'))).toEqual([
        expect.objectContaining({ title: 'ThingPark: device notification: reset (unsigned)', details: expect.objectContaining({ unsigned: true, received_since_last_event: 1 }) }),
      ]);
    });

    it('DevEUI_downlink_Sent and DevEUI_downlink_Rejected of no known message are taken (2xx), nothing changes', async () => {
      await profile('tp-app', { formatter: { type: 'javascript', script: ECHO_BYTES } });
      const eui = '0018B20000000D48';
      await send('tp-app', uplinkReport({ devEui: eui }));
      const sent = await send('tp-app', tpFixture('DevEUI_downlink_Sent'));
      const sentUntyped = await send('tp-app', downlinkSentReport({ devEui: eui, correlationId: '00000000000000AA' }), 'untyped');
      const rejected = await send('tp-app', tpFixture('DevEUI_downlink_Rejected'));
      const rejectedXml = await send('tp-app', downlinkRejectedReport({ devEui: eui, correlationId: '00000000000000BB' }), 'xml');
      for (const res of [sent, sentUntyped, rejected, rejectedXml]) {
        expect(res.status, res.text).toBeGreaterThanOrEqual(200);
        expect(res.status, res.text).toBeLessThan(300);
      }
      expect(await rows(eui)).toHaveLength(1);
      expect((await plugin.request('GET', `/api/devices/${eui}/messages`)).body.total).toBe(0);
    });
  });

  it('an LRC Time with another offset is read as the instant it names (query Time 14:00+02:00 = 12:00Z)', async () => {
    await profile('tp-app', { formatter: { type: 'javascript', script: ECHO_BYTES } });
    const res = await postReport(plugin, 'tp-app', uplinkReport({ devEui: 'A000000000000004' }), {
      asId: AS_ID,
      asKey: AS_KEY,
      time: lrcTime(new Date(clock.now().getTime() + 30_000), -300),
    });
    expect(res.status, res.text).toBe(200);
  });
});
