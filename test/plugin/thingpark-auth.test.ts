/**
 * A ThingPark report is taken only with the right Token (A.2.2 / A.2.3), the profile's AS_ID and a
 * query Time within max_clock_skew_s of the plugin's clock. Each refusal stores nothing (no device,
 * bucket, row, dead letter, message change) and costs at most one aggregated event.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PluginHarness, TestClock } from '../helpers/plugin-harness.js';
import { expectError } from '../helpers/tts-bodies.js';
import {
  VECTOR,
  lrcTime,
  postReport,
  putThingParkProfile,
  queryParameters,
  reportQuery,
  reportToken,
  sha256Hex,
  toXml,
  tpFixture,
  untyped,
  uplinkReport,
  type BodyFormat,
  type PostReportOptions,
  type Report,
} from '../helpers/thingpark-peer.js';

const APP = 'tp-app';
const AS_ID = VECTOR.asId;
const AS_KEY = '00112233445566778899aabbccddeeff';
const OTHER_KEY = 'ffeeddccbbaa99887766554433221100';
const EUI = 'A0000000000000C1';
const FORMATTER = 'function decodeUplink(input) { return { data: { bytes: input.bytes } }; }';

describe('ThingPark report authentication', () => {
  let clock: TestClock;
  let plugin: PluginHarness;
  beforeEach(async () => {
    clock = new TestClock();
    plugin = await new PluginHarness({ clock }).start();
    const put = await putThingParkProfile(plugin, APP, {
      asId: AS_ID,
      asKey: AS_KEY,
      downlinkUrl: 'http://127.0.0.1:9/thingpark/lrc/rest/downlink',
      maxClockSkewS: 60,
      settings: { uplink: { update_location: true }, formatter: { type: 'javascript', script: FORMATTER } },
    });
    expect(put.status, put.text).toBe(201);
  });
  afterEach(async () => {
    await plugin.destroy();
  });

  const good = (): PostReportOptions => ({ asId: AS_ID, asKey: AS_KEY, now: clock.now() });
  const send = (report: Report, o: Partial<PostReportOptions> = {}, appId = APP) => postReport(plugin, appId, report, { ...good(), ...o });

  /** Everything the API shows, to compare before and after refused reports. */
  async function snapshot() {
    const get = async (path: string) => (await plugin.request('GET', path)).body;
    const devices = (await get('/api/devices')).items;
    const buckets = (await get('/api/buckets')).items;
    const data = await Promise.all(buckets.map((b: { id: string }) => get(`/api/buckets/${b.id}/data`)));
    const messages = await Promise.all(devices.map((d: { id: string }) => get(`/api/devices/${d.id}/messages`)));
    return { devices, buckets, data, messages, deadLetters: (await get('/api/dead-letters')).items };
  }
  const events = async () => (await plugin.request('GET', '/api/events?limit=1000')).body.items as { category: string; title: string }[];

  /** Sends a refused report 5 times: the same answer each time, nothing stored, at most one event. */
  async function expectRefused(attempt: () => Promise<{ status: number; body: any; text: string; headers: Headers }>, status: number, code: string) {
    const before = await snapshot();
    const eventsBefore = (await events()).length;
    for (let i = 0; i < 5; i++) expectError(await attempt(), status, code);
    expect(await snapshot()).toEqual(before);
    const after = await events(); // newest first
    const added = after.slice(0, after.length - eventsBefore);
    expect(added.length, JSON.stringify(added)).toBeLessThanOrEqual(1);
    expect(added.filter((e) => ['uplink', 'formatter', 'provisioning', 'downlink'].includes(e.category))).toEqual([]);
  }

  describe.each<BodyFormat>(['typed', 'untyped', 'xml'])('an uplink as %s', (format) => {
    const report = () => uplinkReport({ devEui: EUI, fCntUp: 5 });

    it('with the right token is stored', async () => {
      expect((await send(report(), { format })).status).toBe(200);
      expect((await snapshot()).devices).toHaveLength(1);
    });

    it('without a Token: 401 unauthorized', async () => {
      await expectRefused(() => send(report(), { format, token: null }), 401, 'unauthorized');
    });

    it('with a wrong Token (other key, or one changed digit): 401 unauthorized', async () => {
      await expectRefused(() => send(report(), { format, asKey: OTHER_KEY }), 401, 'unauthorized');
      await expectRefused(() => send(report(), { format, token: '0'.repeat(64) }), 401, 'unauthorized');
    });

    it('with a body changed after signing (other payload, counter or CustomerID): 401', async () => {
      const signedFor = report();
      for (const change of [
        (f: Record<string, any>) => (f.payload_hex = '00'),
        (f: Record<string, any>) => (f.FCntUp = 6),
        (f: Record<string, any>) => (f.CustomerID = '100002168'),
      ]) {
        const tampered = report();
        change(tampered.DevEUI_uplink!);
        const raw = format === 'xml' ? toXml(tampered) : JSON.stringify(format === 'untyped' ? untyped(tampered) : tampered);
        await expectRefused(() => send(signedFor, { format, raw }), 401, 'unauthorized');
      }
    });

    it('with a query parameter changed after signing (LrnInfos): 401', async () => {
      // Signed over LrnInfos A, sent with LrnInfos B: the token sent is A's.
      const signed = uplinkReport({ devEui: EUI, fCntUp: 5 });
      const tokenA = reportToken(signed, reportQuery(signed, { ...good(), lrnInfos: 'TWA_100002167.1111.AS-1-1' }), AS_KEY);
      await expectRefused(() => send(signed, { format, lrnInfos: 'TWA_100002167.1111.AS-1-2', token: tokenA }), 401, 'unauthorized');
    });

    it("with another AS_ID (correctly signed): 403 wrong_as_id", async () => {
      await expectRefused(() => send(report(), { format, asId: 'TWA_100002167.2222.AS' }), 403, 'wrong_as_id');
    });

    it('with a query Time 61 s off (past or future, correctly signed): 403 stale_time', async () => {
      await expectRefused(() => send(report(), { format, time: lrcTime(new Date(clock.now().getTime() - 61_000)) }), 403, 'stale_time');
      await expectRefused(() => send(report(), { format, time: lrcTime(new Date(clock.now().getTime() + 61_000), 0) }), 403, 'stale_time');
    });
  });

  it('AS_ID is compared without regard to case', async () => {
    const res = await send(uplinkReport({ devEui: EUI }), { asId: AS_ID.toLowerCase() });
    expect(res.status, res.text).toBe(200);
  });

  it('a query Time within the skew (59 s either way) is taken; the body Time (radio time) is not checked', async () => {
    const old = uplinkReport({ devEui: EUI, fCntUp: 1, time: '2020-01-01T00:00:00.000+00:00' });
    expect((await send(old, { time: lrcTime(new Date(clock.now().getTime() - 59_000)) })).status).toBe(200);
    expect((await send(uplinkReport({ devEui: EUI, fCntUp: 2 }), { time: lrcTime(new Date(clock.now().getTime() + 59_000)) })).status).toBe(200);
  });

  it('a query Time that is no time at all is refused (403 stale_time or 400), storing nothing', async () => {
    const before = await snapshot();
    const res = await send(uplinkReport({ devEui: EUI }), { time: 'yesterday' });
    expect([400, 403]).toContain(res.status);
    if (res.status === 403) expect(res.body.error.code).toBe('stale_time');
    expect(await snapshot()).toEqual(before);
  });

  it('max_clock_skew_s 0 turns the time check off', async () => {
    const put = await plugin.request('PUT', `/api/profiles/${APP}`, {
      body: { network: 'thingpark', thingpark: { as_id: AS_ID, downlink_url: 'http://127.0.0.1:9/thingpark/lrc/rest/downlink', max_clock_skew_s: 0 } },
    });
    expect(put.status, put.text).toBe(200);
    const res = await send(uplinkReport({ devEui: EUI }), { time: '2016-07-05T08:58:26.911+02:00' });
    expect(res.status, res.text).toBe(200);
  });

  it.each([
    ['an application without a profile (Default is TTS)', 'no-profile-app'],
    ['a TTS profile\'s application', 'tts-app'],
  ])('a signed report to %s is 401, storing nothing', async (_name, appId) => {
    expect((await plugin.request('PUT', '/api/profiles/tts-app', { body: { formatter: { type: 'none' } } })).status).toBe(201);
    await expectRefused(() => send(uplinkReport({ devEui: EUI }), {}, appId), 401, 'unauthorized');
  });

  describe('the other report types', () => {
    beforeEach(async () => {
      expect((await send(uplinkReport({ devEui: EUI, fCntUp: 1 }))).status).toBe(200);
    });

    it('DevEUI_location: wrong token 401, wrong AS_ID 403, stale 403; the location stays', async () => {
      const location = tpFixture('DevEUI_location');
      location.DevEUI_location!.DevEUI = EUI;
      await expectRefused(() => send(location, { asKey: OTHER_KEY }), 401, 'unauthorized');
      // signed over the DevEUI as it is (not lower-cased, A.2.3): wrong
      const q = reportQuery(location, good());
      const asIs = sha256Hex(`${location.DevEUI_location!.CustomerID}${EUI}${queryParameters(q)}${AS_KEY}`);
      await expectRefused(() => send(location, { token: asIs }), 401, 'unauthorized');
      await expectRefused(() => send(location, { asId: 'OTHER.AS' }), 403, 'wrong_as_id');
      await expectRefused(() => send(location, { time: lrcTime(new Date(clock.now().getTime() - 3_600_000)) }), 403, 'stale_time');
      expect((await plugin.request('GET', `/api/devices/${EUI}`)).body.properties.location).toBeUndefined();
      expect((await send(location)).status).toBe(200);
      expect((await plugin.request('GET', `/api/devices/${EUI}`)).body.properties.location).toMatchObject({ latitude: 51.907218 });
    });

    it('DevEUI_notification: its token is not checked, but AS_ID and Time are (403)', async () => {
      const notification = tpFixture('DevEUI_notification');
      notification.DevEUI_notification!.DevEUI = EUI;
      expect((await send(notification, { token: '1'.repeat(64) })).status).toBe(200);
      await expectRefused(() => send(notification, { asId: 'OTHER.AS' }), 403, 'wrong_as_id');
      await expectRefused(() => send(notification, { time: lrcTime(new Date(clock.now().getTime() + 3_600_000)) }), 403, 'stale_time');
    });

    it('DevEUI_downlink_Sent and DevEUI_downlink_Rejected: wrong token 401, wrong AS_ID 403, stale 403', async () => {
      for (const type of ['DevEUI_downlink_Sent', 'DevEUI_downlink_Rejected']) {
        const report = tpFixture(type);
        report[type]!.DevEUI = EUI;
        await expectRefused(() => send(report, { asKey: OTHER_KEY }), 401, 'unauthorized');
        await expectRefused(() => send(report, { asId: 'OTHER.AS' }), 403, 'wrong_as_id');
        await expectRefused(() => send(report, { time: lrcTime(new Date(clock.now().getTime() - 120_000)) }), 403, 'stale_time');
        expect((await send(report)).status).toBeLessThan(300);
      }
    });
  });

  it('refusals of a flood stay at one event a minute', async () => {
    const report = uplinkReport({ devEui: EUI });
    for (let i = 0; i < 20; i++) expect((await send(report, { asKey: OTHER_KEY })).status).toBe(401);
    const auth = (await events()).filter((e) => e.category !== 'profile');
    expect(auth.length, JSON.stringify(auth)).toBeLessThanOrEqual(1);
  });
});
