/**
 * A TTS application and ThingPark applications side by side: the same formatter stores the same
 * data from either network; neither network's credentials reach the other's application, devices
 * or messages (reports signed with another key, TTS tokens naming a ThingPark app, delivery events
 * carrying another application's correlation id).
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { THINGER_DOWNLINK } from '../helpers/downlink-setup.js';
import { fixture } from '../helpers/fixtures.js';
import { PluginHarness, TestClock } from '../helpers/plugin-harness.js';
import { messageBody, uplinkBody } from '../helpers/tts-bodies.js';
import { TtsPeer } from '../helpers/tts-peer.js';
import {
  ThingParkLrc,
  VECTOR,
  downlinkRejectedReport,
  downlinkSentReport,
  postReport,
  putThingParkProfile,
  tpFixture,
  uplinkReport,
  type Report,
} from '../helpers/thingpark-peer.js';

const TTS_APP = 'tts-app';
const TP_APP = 'tp-app';
const TP_B = 'tp-b';
const AS_ID = VECTOR.asId;
const KEY_A = 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa';
const KEY_B = 'bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb';
const TTS_EUI = '70B3D57ED0051A2B';
const TTS_DEVICE = 'eui-70b3d57ed0051a2b';
const TP_EUI = 'A0000000000000E1';
const TP_B_EUI = 'B0000000000000E1';
const TTS_KEY = 'NNSXS.TTSAPPKEY.SECRET';
const CMD = { enabled: true, frequency: 300, threshold: 25 };

/** README's Thinger example: reads only the payload. */
const THINGER = `module.exports.uplink = function (payload) {
  const b = Buffer.from(payload, 'base64');
  return { temperature: b.readInt16BE(0) / 100, humidity: b.readUInt16BE(2) / 100 };
};`;
/** TTS style: bytes, port and time. */
const TTS_STYLE = `function decodeUplink(input) {
  return { data: { bytes: input.bytes, fPort: input.fPort, at: new Date(input.recvTime).toISOString() }, warnings: ['w'] };
}`;

describe('ThingPark and TTS applications side by side', () => {
  let clock: TestClock;
  let plugin: PluginHarness;
  let tts: TtsPeer;
  let lrcA: ThingParkLrc;
  let lrcB: ThingParkLrc;
  let ttsToken: string;
  beforeEach(async () => {
    clock = new TestClock();
    plugin = await new PluginHarness({ clock }).start();
    tts = await new TtsPeer().start();
    lrcA = await new ThingParkLrc(KEY_A).start();
    lrcB = await new ThingParkLrc(KEY_B).start();
  });
  afterEach(async () => {
    await plugin.destroy();
    await tts.stop();
    await lrcA.stop();
    await lrcB.stop();
  });

  async function profiles(script: string): Promise<void> {
    const settings = { uplink: { update_location: true }, formatter: { type: 'javascript', script } };
    expect((await plugin.request('PUT', `/api/profiles/${TTS_APP}`, { body: settings })).status).toBe(201);
    expect((await putThingParkProfile(plugin, TP_APP, { asId: AS_ID, asKey: KEY_A, downlinkUrl: lrcA.downlinkUrl, settings })).status).toBe(201);
    expect((await putThingParkProfile(plugin, TP_B, { asId: AS_ID, asKey: KEY_B, downlinkUrl: lrcB.downlinkUrl, settings })).status).toBe(201);
    ttsToken = await plugin.webhookToken(TTS_APP);
  }
  const tp = (appId: string, r: Report, key: string) => postReport(plugin, appId, r, { asId: AS_ID, asKey: key, now: clock.now() });
  const rows = async (bucket: string) => (await plugin.request('GET', `/api/buckets/${bucket}/data`)).body.items;
  const get = async (path: string) => (await plugin.request('GET', path)).body;

  it.each([
    ['Thinger style (payload only)', THINGER],
    ['TTS style (decodeUplink)', TTS_STYLE],
  ])('the same %s formatter stores the same data from a TTS uplink and a ThingPark uplink of the same bytes', async (_name, script) => {
    await profiles(script);
    const bytes = [0x09, 0x29, 0x10, 0x04];
    const ttsUp = await plugin.webhook(uplinkBody({ appId: TTS_APP, deviceId: TTS_DEVICE, devEui: TTS_EUI, fPort: 2, fCnt: 7, bytes, receivedAt: '2025-04-16T11:59:58.5Z' }));
    const tpUp = await tp(TP_APP, uplinkReport({ devEui: TP_EUI, fPort: 2, fCntUp: 7, bytes, time: '2025-04-16T13:59:58.500+02:00' }), KEY_A);
    expect(ttsUp.body).toMatchObject({ status: 'stored', device_id: TTS_EUI });
    expect(tpUp.status, tpUp.text).toBe(200);
    expect(tpUp.body).toMatchObject({ status: 'stored', device_id: TP_EUI });
    const fromTts = await rows(TTS_EUI);
    expect(fromTts).toHaveLength(1);
    expect(await rows(TP_EUI)).toEqual(fromTts);
    if (script === THINGER) expect(fromTts[0].data).toEqual({ temperature: 23.45, humidity: 41 });
    else expect(fromTts[0].data).toEqual({ bytes, fPort: 2, at: '2025-04-16T11:59:58.500Z' });
    const ttsDevice = await get(`/api/devices/${TTS_EUI}`);
    const tpDevice = await get(`/api/devices/${TP_EUI}`);
    expect([ttsDevice.network, tpDevice.network]).toEqual(['tts', 'thingpark']);
  });

  describe('neither reaches the other', () => {
    beforeEach(async () => {
      await profiles(`${THINGER_DOWNLINK}\nmodule.exports.uplink = function (p) { return { p: p }; };`);
      const ttsUp = await plugin.webhook(uplinkBody({ appId: TTS_APP, deviceId: TTS_DEVICE, devEui: TTS_EUI, fCnt: 1 }), {
        headers: tts.downlinkHeaders(TTS_APP, TTS_DEVICE, TTS_KEY),
      });
      expect(ttsUp.body).toMatchObject({ status: 'stored', device_id: TTS_EUI });
      expect((await tp(TP_APP, uplinkReport({ devEui: TP_EUI, fCntUp: 1 }), KEY_A)).body).toMatchObject({ status: 'stored', device_id: TP_EUI });
      expect((await tp(TP_B, uplinkReport({ devEui: TP_B_EUI, fCntUp: 1 }), KEY_B)).body).toMatchObject({ status: 'stored', device_id: TP_B_EUI });
    });

    async function state() {
      const devices = (await get('/api/devices')).items;
      const data = await Promise.all([TTS_EUI, TP_EUI, TP_B_EUI].map((b) => rows(b)));
      const messages = await Promise.all([TTS_EUI, TP_EUI, TP_B_EUI].map(async (d) => (await get(`/api/devices/${d}/messages`)).messages));
      return { devices, data, messages, deadLetters: (await get('/api/dead-letters')).items };
    }

    it("a ThingPark report signed with B's key to A's URL is 401; signed with A's key to the TTS app's URL is 401", async () => {
      const before = await state();
      for (const r of [uplinkReport({ devEui: TP_EUI, fCntUp: 2 }), uplinkReport({ devEui: TP_B_EUI, fCntUp: 2 }), tpFixture('DevEUI_location')]) {
        const toA = await tp(TP_APP, r, KEY_B);
        expect(toA.status, toA.text).toBe(401);
        expect(toA.body.error.code).toBe('unauthorized');
        const toTts = await tp(TTS_APP, r, KEY_A);
        expect(toTts.status, toTts.text).toBe(401);
        // to the TTS app's device
        const toTtsDevice = await tp(TTS_APP, uplinkReport({ devEui: TTS_EUI, fCntUp: 2 }), KEY_A);
        expect(toTtsDevice.status).toBe(401);
      }
      expect(await state()).toEqual(before);
    });

    it('a TTS webhook with a TTS token (the TTS app\'s or Default\'s) naming the ThingPark app id is 401', async () => {
      const before = await state();
      const defaultToken = await plugin.webhookToken('default');
      const bodies = [
        uplinkBody({ appId: TP_APP, deviceId: 'eui-a0000000000000e1', devEui: TP_EUI, fCnt: 2 }),
        messageBody('join_accept.json', { appId: TP_APP, deviceId: 'eui-a0000000000000e1', devEui: TP_EUI }),
        messageBody('location_solved.json', { appId: TP_APP, deviceId: 'eui-a0000000000000e1', devEui: TP_EUI }),
        messageBody('downlink_sent.json', { appId: TP_APP, deviceId: 'eui-a0000000000000e1', devEui: TP_EUI }),
      ];
      for (const body of bodies) {
        for (const token of [ttsToken, defaultToken]) {
          const res = await plugin.webhook(body, { token, headers: tts.downlinkHeaders(TP_APP, 'eui-a0000000000000e1', 'NNSXS.ATTACKER.KEY') });
          expect({ status: res.status, code: res.body?.error?.code }).toEqual({ status: 401, code: 'unauthorized' });
        }
      }
      expect(await state()).toEqual(before);
      // the ThingPark device's downlinks still go to its LRC, never to TTS
      await plugin.request('POST', `/api/devices/${TP_EUI}/messages`, { body: { message_id: 'after', message: CMD, f_port: 15 } });
      expect(lrcA.requests).toHaveLength(1);
      expect(tts.requests).toHaveLength(0);
    });

    it("a ThingPark uplink or location for the TTS app's device id is kept apart (dead letter / ignored)", async () => {
      const ttsRows = await rows(TTS_EUI);
      const ttsDevice = await get(`/api/devices/${TTS_EUI}`);
      const up = await tp(TP_APP, uplinkReport({ devEui: TTS_EUI, fCntUp: 50 }), KEY_A);
      expect(up.status).toBe(200);
      expect(up.body).toMatchObject({ status: 'dead_letter', device_id: TTS_EUI });
      expect((await get('/api/dead-letters')).items[0]).toMatchObject({ app_id: TP_APP, reason: 'device_id_conflict', network: 'thingpark' });
      const location = tpFixture('DevEUI_location');
      location.DevEUI_location!.DevEUI = TTS_EUI;
      const loc = await tp(TP_APP, location, KEY_A);
      expect(loc.status).toBe(202);
      expect(loc.body).toMatchObject({ status: 'ignored', reason: 'device_of_another_application' });
      expect(await rows(TTS_EUI)).toEqual(ttsRows);
      expect(await get(`/api/devices/${TTS_EUI}`)).toEqual(ttsDevice);
      // its downlinks still go to TTS with its own key
      await plugin.request('POST', `/api/devices/${TTS_EUI}/messages`, { body: { message_id: 'tts-after', message: CMD, f_port: 15 } });
      expect(tts.requests).toHaveLength(1);
      expect(tts.requests[0]!.headers.authorization).toBe(`Bearer ${TTS_KEY}`);
      expect(lrcA.requests).toHaveLength(0);
    });

    it("a TTS uplink for the ThingPark app's device id is a dead letter; the device stays ThingPark's", async () => {
      const tpDevice = await get(`/api/devices/${TP_EUI}`);
      const res = await plugin.webhook(uplinkBody({ appId: TTS_APP, deviceId: 'eui-a0000000000000e1', devEui: TP_EUI, fCnt: 9 }), {
        headers: tts.downlinkHeaders(TTS_APP, 'eui-a0000000000000e1', 'NNSXS.OTHER.KEY'),
      });
      expect(res.body).toMatchObject({ status: 'dead_letter', device_id: TP_EUI });
      expect(await get(`/api/devices/${TP_EUI}`)).toEqual(tpDevice);
      await plugin.request('POST', `/api/devices/${TP_EUI}/messages`, { body: { message_id: 'tp-after', message: CMD, f_port: 15 } });
      expect(lrcA.requests).toHaveLength(1);
      expect(lrcA.requests[0]!.tokenOk).toBe(true);
      expect(tts.requests).toHaveLength(0);
    });

    it("delivery events of one application move none of another's messages", async () => {
      // A ThingPark message (CorrelationID from the LRC request) and a TTS message (correlation id from the push).
      expect((await plugin.request('POST', `/api/devices/${TP_EUI}/messages`, { body: { message_id: 'tp-msg', message: CMD, f_port: 15 } })).status).toBe(201);
      expect((await plugin.request('POST', `/api/devices/${TTS_EUI}/messages`, { body: { message_id: 'tts-msg', message: CMD, f_port: 15 } })).status).toBe(201);
      const tpCorrelation = lrcA.requests[0]!.query.CorrelationID!;
      const ttsCorrelation = (tts.requests[0]!.body as any).downlinks[0].correlation_ids[0] as string;
      const tpMsg = async () => get(`/api/devices/${TP_EUI}/messages/tp-msg`);
      const ttsMsg = async () => get(`/api/devices/${TTS_EUI}/messages/tts-msg`);
      const tpBefore = await tpMsg();
      const ttsBefore = await ttsMsg();
      expect(tpBefore).toMatchObject({ status: 'PENDING', detail: 'submitted' });

      // TTS downlink events (TTS app's token) carrying the ThingPark CorrelationID
      for (const type of ['downlink_queued', 'downlink_sent', 'downlink_ack']) {
        const body = fixture(`tts/${type}.json`) as Record<string, any>;
        body.end_device_ids = { device_id: TTS_DEVICE, application_ids: { application_id: TTS_APP }, dev_eui: TTS_EUI };
        body[type].correlation_ids = [tpCorrelation, tpCorrelation.toLowerCase(), `lorawan-bridge:msg:${tpCorrelation}`];
        expect((await plugin.webhook(body, { token: ttsToken })).status).toBeLessThan(300);
      }
      const failed = fixture('tts/downlink_failed.json') as Record<string, any>;
      failed.end_device_ids = { device_id: TTS_DEVICE, application_ids: { application_id: TTS_APP }, dev_eui: TTS_EUI };
      failed.downlink_failed.downlink.correlation_ids = [tpCorrelation];
      expect((await plugin.webhook(failed, { token: ttsToken })).status).toBeLessThan(300);

      // Application B's ThingPark reports (B's key, B's URL) carrying A's CorrelationID, for A's device and B's
      for (const eui of [TP_EUI, TP_B_EUI]) {
        expect((await tp(TP_B, downlinkSentReport({ devEui: eui, correlationId: tpCorrelation, fPort: 15, deliveryStatus: 1 }), KEY_B)).status).toBeLessThan(300);
        expect((await tp(TP_B, downlinkSentReport({ devEui: eui, correlationId: tpCorrelation, fPort: 15, deliveryStatus: 0 }), KEY_B)).status).toBeLessThan(300);
        expect((await tp(TP_B, downlinkRejectedReport({ devEui: eui, correlationId: tpCorrelation, fPort: 15 }), KEY_B)).status).toBeLessThan(300);
      }
      // ThingPark A's reports carrying the TTS correlation id (not 16 hex: taken or refused, either way nothing moves)
      for (const r of [
        downlinkSentReport({ devEui: TP_EUI, correlationId: ttsCorrelation, fPort: 15, deliveryStatus: 1 }),
        downlinkRejectedReport({ devEui: TP_EUI, correlationId: ttsCorrelation, fPort: 15 }),
      ]) {
        expect((await tp(TP_APP, r, KEY_A)).status).toBeLessThan(500);
      }
      expect(await tpMsg()).toEqual(tpBefore);
      expect(await ttsMsg()).toEqual(ttsBefore);
      expect(lrcA.requests).toHaveLength(1);
      expect(lrcB.requests).toHaveLength(0);

      // Each application's own report still moves its own message.
      const sent = fixture('tts/downlink_sent.json') as Record<string, any>;
      sent.end_device_ids = { device_id: TTS_DEVICE, application_ids: { application_id: TTS_APP }, dev_eui: TTS_EUI };
      sent.downlink_sent.correlation_ids = [ttsCorrelation];
      expect((await plugin.webhook(sent, { token: ttsToken })).status).toBe(200);
      expect(await ttsMsg()).toMatchObject({ status: 'DELIVERED' });
      expect((await tp(TP_APP, downlinkSentReport({ devEui: TP_EUI, correlationId: tpCorrelation, fPort: 15, deliveryStatus: 1 }), KEY_A)).status).toBe(200);
      expect(await tpMsg()).toMatchObject({ status: 'DELIVERED' });
    });
  });
});
