/**
 * ThingPark profiles: the network and its settings, the write-only AS key (kept across updates,
 * shown by no API, event or log line), the connection settings for ThingPark, and what is refused.
 */
import { Writable } from 'node:stream';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PluginHarness, TestClock } from '../helpers/plugin-harness.js';
import { expectError } from '../helpers/tts-bodies.js';
import { ThingParkLrc, VECTOR, postReport, putThingParkProfile, thingParkProfileBody, uplinkReport } from '../helpers/thingpark-peer.js';

const APP = 'tp-app';
const AS_ID = VECTOR.asId;
const AS_KEY = 'c0ffee00c0ffee00c0ffee00c0ffee00';
const NEW_KEY = 'deadbeefdeadbeefdeadbeefdeadbeef';
const DOWNLINK_URL = 'http://127.0.0.1:9/thingpark/lrc/rest/downlink';
const FORMATTER = { type: 'javascript', script: 'function decodeUplink(i) { return { data: { n: i.bytes.length } }; }' };

describe('ThingPark profiles', () => {
  let clock: TestClock;
  let plugin: PluginHarness;
  let logs: string[];
  beforeEach(async () => {
    logs = [];
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        logs.push(chunk.toString('utf8'));
        done();
      },
    });
    clock = new TestClock();
    plugin = await new PluginHarness({ clock, logger: pino({ level: 'trace' }, sink) }).start();
  });
  afterEach(async () => {
    await plugin.destroy();
  });

  const create = (o: { asKey?: string; skew?: number; settings?: Record<string, unknown> } = {}) =>
    putThingParkProfile(plugin, APP, { asId: AS_ID, asKey: o.asKey ?? AS_KEY, downlinkUrl: DOWNLINK_URL, maxClockSkewS: o.skew ?? 60, settings: o.settings ?? { formatter: FORMATTER } });
  const report = (key: string, fCntUp = 1) => postReport(plugin, APP, uplinkReport({ devEui: 'A000000000000A01', fCntUp }), { asId: AS_ID, asKey: key, now: clock.now() });

  it('is created with its settings; the key is write-only (as_key_set)', async () => {
    const put = await create();
    expect(put.status, put.text).toBe(201);
    const got = await plugin.request('GET', `/api/profiles/${APP}`);
    expect(got.status).toBe(200);
    expect(got.body).toMatchObject({ app_id: APP, network: 'thingpark' });
    expect(got.body.thingpark).toEqual({ as_id: AS_ID, downlink_url: DOWNLINK_URL, max_clock_skew_s: 60, as_key_set: true });
    for (const res of [put, got, await plugin.request('GET', '/api/profiles')]) {
      expect(res.text).not.toContain(AS_KEY);
      expect(res.text.toLowerCase()).not.toContain(AS_KEY);
    }
  });

  it('an update without as_key keeps the stored key; one with a new key replaces it', async () => {
    await create();
    const body = thingParkProfileBody({ asId: AS_ID, asKey: AS_KEY, downlinkUrl: DOWNLINK_URL, maxClockSkewS: 30, settings: { formatter: FORMATTER } });
    delete (body.thingpark as Record<string, unknown>).as_key;
    const update = await plugin.request('PUT', `/api/profiles/${APP}`, { body });
    expect(update.status, update.text).toBe(200);
    expect(update.body.thingpark).toEqual({ as_id: AS_ID, downlink_url: DOWNLINK_URL, max_clock_skew_s: 30, as_key_set: true });
    expect((await report(AS_KEY, 1)).status).toBe(200);

    const rekey = await create({ asKey: NEW_KEY });
    expect(rekey.status, rekey.text).toBe(200);
    expect((await report(AS_KEY, 2)).status).toBe(401);
    expect((await report(NEW_KEY, 3)).status).toBe(200);
  });

  it('an upper-case key is the same key (the token uses it in lower case)', async () => {
    expect((await create({ asKey: AS_KEY.toUpperCase() })).status).toBe(201);
    const res = await report(AS_KEY);
    expect(res.status, res.text).toBe(200);
  });

  it.each([
    ['without as_key', { network: 'thingpark', thingpark: { as_id: AS_ID, downlink_url: DOWNLINK_URL, max_clock_skew_s: 60 } }],
    ['network thingpark without a thingpark object', { network: 'thingpark', formatter: FORMATTER }],
    ['an as_key that is not 32 hex digits', { network: 'thingpark', thingpark: { as_id: AS_ID, as_key: 'not-a-key', downlink_url: DOWNLINK_URL, max_clock_skew_s: 60 } }],
    ['an as_key of 31 hex digits', { network: 'thingpark', thingpark: { as_id: AS_ID, as_key: AS_KEY.slice(1), downlink_url: DOWNLINK_URL, max_clock_skew_s: 60 } }],
  ])('creating a ThingPark profile %s is 400 invalid_profile, and creates nothing', async (_name, body) => {
    const res = await plugin.request('PUT', `/api/profiles/${APP}`, { body });
    expectError(res, 400, 'invalid_profile');
    const list = (await plugin.request('GET', '/api/profiles')).body.items as { app_id: string }[];
    expect(list.map((p) => p.app_id)).not.toContain(APP);
    expect((await report(AS_KEY)).status).toBe(401);
  });

  it('a TTS profile switched to ThingPark without as_key is refused (there is no key to keep)', async () => {
    expect((await plugin.request('PUT', `/api/profiles/${APP}`, { body: { formatter: FORMATTER } })).status).toBe(201);
    const res = await plugin.request('PUT', `/api/profiles/${APP}`, {
      body: { network: 'thingpark', thingpark: { as_id: AS_ID, downlink_url: DOWNLINK_URL, max_clock_skew_s: 60 } },
    });
    expectError(res, 400, 'invalid_profile');
    expect((await plugin.request('GET', `/api/profiles/${APP}`)).body.network).toBe('tts');
  });

  it('profiles default to TTS, and so does Default', async () => {
    expect((await plugin.request('PUT', '/api/profiles/plain-app', { body: { formatter: FORMATTER } })).status).toBe(201);
    expect((await plugin.request('GET', '/api/profiles/plain-app')).body.network).toBe('tts');
    expect((await plugin.request('GET', '/api/profiles/default')).body.network).toBe('tts');
    expect((await plugin.request('GET', '/api/profiles/plain-app/webhook')).body.network).toBe('tts');
  });

  it('GET …/webhook gives what to set in ThingPark: the URL and the AS_ID, never the key', async () => {
    await create();
    const res = await plugin.request('GET', `/api/profiles/${APP}/webhook`);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ network: 'thingpark', url: `https://bridge.example.com/thingpark/${APP}`, as_id: AS_ID });
    expect(res.text).not.toContain(AS_KEY);
  });

  it('the key is in no answer, event or log line, through reports, refusals and downlinks', async () => {
    const lrc = await new ThingParkLrc(AS_KEY).start();
    try {
      const seen: string[] = [];
      const keep = (r: { text: string }) => seen.push(r.text);
      const put = await putThingParkProfile(plugin, APP, { asId: AS_ID, asKey: AS_KEY, downlinkUrl: lrc.downlinkUrl, settings: { formatter: FORMATTER } });
      keep(put);
      keep(await report(AS_KEY, 1));
      keep(await report(NEW_KEY, 2)); // refused
      keep(await postReport(plugin, APP, uplinkReport({ devEui: 'A000000000000A01' }), { asId: 'OTHER', asKey: AS_KEY, now: clock.now() }));
      keep(await postReport(plugin, APP, uplinkReport({ devEui: 'A000000000000A01' }), { asId: AS_ID, asKey: AS_KEY, time: '2020-01-01T00:00:00.000+00:00' }));
      keep(await plugin.request('POST', '/api/devices/A000000000000A01/messages', { body: { message_id: 'k1', message: 'AQ==', encoding: 'base64', f_port: 3 } }));
      lrc.respond({ status: 400, body: '<html><body>Bad request</body></html>' });
      keep(await plugin.request('POST', '/api/devices/A000000000000A01/messages', { body: { message_id: 'k2', message: 'Ag==', encoding: 'base64', f_port: 3 } }));
      keep(await plugin.request('POST', '/downlink/A000000000000A01/clear'));
      expect(lrc.requests.length).toBeGreaterThanOrEqual(2);
      for (const path of [
        '/api/profiles',
        `/api/profiles/${APP}`,
        `/api/profiles/${APP}/webhook`,
        '/api/devices',
        '/api/devices/A000000000000A01',
        '/api/devices/A000000000000A01/messages',
        '/api/events?limit=1000',
        '/api/dead-letters',
        '/manifest.json',
      ]) {
        keep(await plugin.request('GET', path));
      }
      expect(logs.length).toBeGreaterThan(0);
      for (const text of [...seen, ...logs]) expect(text.toLowerCase()).not.toContain(AS_KEY);
      for (const r of lrc.requests) expect(r.rawQuery.toLowerCase()).not.toContain(AS_KEY);
    } finally {
      await lrc.stop();
    }
  });
});
