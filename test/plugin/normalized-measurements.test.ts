/**
 * Normalized payloads end to end: measurements from a codec's normalizeUplink, from decoded data
 * that already is a measurement, and from TTS itself (`normalized_payload`, `uplink_normalized`),
 * stored beside the data, and read back one quantity across devices of different vendors.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { fixture } from '../helpers/fixtures.js';
import { PluginHarness } from '../helpers/plugin-harness.js';
import { expectError, uplinkBody } from '../helpers/tts-bodies.js';

/** Vendor A ships a Device Repository codec: temperature in 0.1 °C (int16), humidity in 0.5 %. */
const VENDOR_A = `
function decodeUplink(input) {
  var t = (input.bytes[0] << 8 | input.bytes[1]); if (t > 32767) t -= 65536;
  return { data: { temp_c: t / 10, rh: input.bytes[2] / 2 } };
}
function normalizeUplink(input) {
  return { data: { air: { temperature: input.data.temp_c, relativeHumidity: input.data.rh } } };
}`;

/** Vendor B's formatter (Thinger style) returns the normalized shape itself: temperature + 40 in one byte. */
const VENDOR_B = `module.exports.uplink = function (payload) {
  var b = Buffer.from(payload, 'base64');
  return { air: { temperature: b[0] - 40, co2: b[1] * 10 } };
};`;

const T0 = Date.parse('2026-12-01T08:00:00Z');
const at = (minutes: number) => new Date(T0 + minutes * 60_000).toISOString();

describe('normalized measurements', () => {
  let plugin: PluginHarness;
  beforeEach(async () => {
    plugin = await new PluginHarness().start();
    for (const [app, script] of [['vendor-a-app', VENDOR_A], ['vendor-b-app', VENDOR_B]]) {
      const put = await plugin.request('PUT', `/api/profiles/${app}`, { body: { formatter: { type: 'javascript', script } } });
      expect(put.status).toBe(201);
    }
  });
  afterEach(async () => {
    await plugin.destroy();
  });

  const send = async (body: unknown, status = 'stored') => {
    const res = await plugin.webhook(body);
    expect(res.status, JSON.stringify(res.body)).toBeLessThan(300);
    expect(res.body.status).toBe(status);
    return res;
  };
  const temperatures = (query = '') => plugin.request('GET', `/api/measurements?quantity=air.temperature${query}`);
  const rowsOf = async (bucket: string) => (await plugin.request('GET', `/api/buckets/${bucket}/data?order=asc`)).body.items;

  async function twoVendors() {
    await send(uplinkBody({ appId: 'vendor-a-app', deviceId: 'room-101', devEui: 'A000000000000101', fCnt: 1, bytes: [0x00, 0xd2, 90], receivedAt: at(0) }));
    await send(uplinkBody({ appId: 'vendor-b-app', deviceId: 'room-102', devEui: 'B000000000000102', fCnt: 1, bytes: [61, 45], receivedAt: at(1) }));
    await send(uplinkBody({ appId: 'vendor-a-app', deviceId: 'room-103', devEui: 'A000000000000103', fCnt: 7, bytes: [0xff, 0xf6, 100], receivedAt: at(2) }));
    await send(uplinkBody({ appId: 'vendor-b-app', deviceId: 'room-102', devEui: 'B000000000000102', fCnt: 2, bytes: [62, 46], receivedAt: at(3) }));
  }

  it('one quantity across devices of two vendors, with its unit, in time order', async () => {
    await twoVendors();
    const res = await temperatures();
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      quantity: 'air.temperature',
      unit: '°C',
      items: [
        { app_id: 'vendor-a-app', device_id: 'A000000000000101', ts: at(0), value: 21 },
        { app_id: 'vendor-b-app', device_id: 'B000000000000102', ts: at(1), value: 21 },
        { app_id: 'vendor-a-app', device_id: 'A000000000000103', ts: at(2), value: -1 },
        { app_id: 'vendor-b-app', device_id: 'B000000000000102', ts: at(3), value: 22 },
      ],
    });
    const co2 = await plugin.request('GET', '/api/measurements?quantity=air.co2');
    expect(co2.body).toMatchObject({ unit: 'ppm', items: [{ device_id: 'B000000000000102', value: 450 }, { value: 460 }] });
  });

  it('filters by application, device and time; newest first on request', async () => {
    await twoVendors();
    expect((await temperatures('&app_id=vendor-b-app')).body.items.map((i: { value: number }) => i.value)).toEqual([21, 22]);
    expect((await temperatures('&device_id=A000000000000103')).body.items).toHaveLength(1);
    const window = await temperatures(`&from=${encodeURIComponent(at(1))}&to=${T0 + 2 * 60_000}`);
    expect(window.body.items.map((i: { ts: string }) => i.ts)).toEqual([at(1), at(2)]);
    const newest = await temperatures('&order=desc&limit=1');
    expect(newest.body.items).toEqual([expect.objectContaining({ ts: at(3), value: 22 })]);
  });

  it('each bucket row carries its measurements beside the data', async () => {
    await twoVendors();
    expect(await rowsOf('A000000000000101')).toEqual([
      { ts: at(0), data: { temp_c: 21, rh: 45 }, normalized: [{ air: { temperature: 21, relativeHumidity: 45 } }] },
    ]);
    const quantities = await plugin.request('GET', '/api/measurements/quantities?app_id=vendor-a-app');
    const measured = quantities.body.items.filter((q: { measured: boolean }) => q.measured).map((q: { quantity: string }) => q.quantity);
    expect(measured).toEqual(['air.temperature', 'air.relativeHumidity']);
    expect(quantities.body.items).toContainEqual({ quantity: 'soil.ec', unit: 'dS/m', description: 'Soil electrical conductivity', measured: false });
  });

  it('rows without measurements have no normalized field, and nothing is indexed for them', async () => {
    await plugin.request('PUT', '/api/profiles/plain-app', { body: { formatter: { type: 'javascript', script: 'module.exports.uplink = function () { return { temperature: 20 }; };' } } });
    await send(uplinkBody({ appId: 'plain-app', deviceId: 'plain-dev', devEui: 'C000000000000001', fCnt: 1, bytes: [1] }));
    expect(await rowsOf('C000000000000001')).toEqual([{ ts: expect.any(String), data: { temperature: 20 } }]);
    expect((await temperatures()).body.items).toEqual([]);
  });

  it('a failing normalizer: data stored, no measurement, the event says why', async () => {
    await plugin.request('PUT', '/api/profiles/vendor-a-app', {
      body: { formatter: { type: 'javascript', script: VENDOR_A.replace('return { data: { air:', 'throw new Error("calibration missing"); return { data: { air:') } },
    });
    await send(uplinkBody({ appId: 'vendor-a-app', deviceId: 'room-101', devEui: 'A000000000000101', fCnt: 1, bytes: [0x00, 0xd2, 90] }));
    expect(await rowsOf('A000000000000101')).toEqual([{ ts: expect.any(String), data: { temp_c: 21, rh: 45 } }]);
    expect((await temperatures()).body.items).toEqual([]);
    const events = await plugin.request('GET', '/api/events?app_id=vendor-a-app&category=uplink');
    expect(events.body.items[0]).toMatchObject({
      severity: 'warning',
      title: 'Uplink stored',
      details: { normalized_error: { kind: 'runtime', message: 'Error: calibration missing', line: 7 } },
    });
  });

  it('a measurement\'s own time is its time; an out-of-range value is dropped with its warning in the event', async () => {
    await plugin.request('PUT', '/api/profiles/vendor-a-app', {
      body: {
        formatter: {
          type: 'javascript',
          script: `function decodeUplink(input) { return { data: { t: input.bytes[0] } }; }
function normalizeUplink(input) { return { data: [
  { time: '2026-12-01T07:00:00Z', air: { temperature: input.data.t } },
  { time: '2026-12-01T07:30:00Z', air: { temperature: input.data.t + 1, relativeHumidity: 140 } }
] }; }`,
        },
      },
    });
    await send(uplinkBody({ appId: 'vendor-a-app', deviceId: 'room-101', devEui: 'A000000000000101', fCnt: 1, bytes: [19], receivedAt: at(0) }));
    expect((await temperatures()).body.items).toEqual([
      { app_id: 'vendor-a-app', device_id: 'A000000000000101', ts: '2026-12-01T07:00:00.000Z', value: 19 },
      { app_id: 'vendor-a-app', device_id: 'A000000000000101', ts: '2026-12-01T07:30:00.000Z', value: 20 },
    ]);
    const events = await plugin.request('GET', '/api/events?app_id=vendor-a-app&category=uplink');
    expect(events.body.items[0].details.normalized_warnings).toEqual(['measurement 2: `air.relativeHumidity` should be equal or less than `100`']);
  });

  it('a hostile normalizer cannot make one uplink write more than 256 index rows', async () => {
    await plugin.request('PUT', '/api/profiles/vendor-a-app', {
      body: {
        formatter: {
          type: 'javascript',
          script: `function decodeUplink() { return { data: {} }; }
function normalizeUplink() { var list = []; for (var i = 0; i < 64; i++) list.push({ battery: 3, air: { temperature: i, co2: 1, pressure: 1000, lightIntensity: 5 } }); return { data: list }; }`,
        },
      },
    });
    await send(uplinkBody({ appId: 'vendor-a-app', deviceId: 'room-101', devEui: 'A000000000000101', fCnt: 1, bytes: [1] }));
    const rows = await rowsOf('A000000000000101');
    expect(rows[0].normalized).toHaveLength(64);
    const counts = await Promise.all(
      ['battery', 'air.temperature', 'air.co2', 'air.pressure', 'air.lightIntensity'].map(
        async (q) => (await plugin.request('GET', `/api/measurements?quantity=${q}`)).body.items.length as number,
      ),
    );
    expect(counts.reduce((a, b) => a + b, 0)).toBe(256);
    const events = await plugin.request('GET', '/api/events?app_id=vendor-a-app&category=uplink');
    expect(events.body.items[0].details.normalized_warnings).toEqual(['64 values after the first 256 are kept on the row only, not in /api/measurements']);
  });

  describe('normalized by TTS itself', () => {
    it('an uplink_message\'s normalized_payload is stored as it came; the codec\'s normalizer does not run again', async () => {
      await send(
        uplinkBody({
          appId: 'vendor-a-app', deviceId: 'room-101', devEui: 'A000000000000101', fCnt: 1, bytes: [0x00, 0xd2, 90],
          normalized: [{ air: { temperature: 21.04, relativeHumidity: 45, smell: 'none' } }],
          normalizedWarnings: ['from TTS'],
        }),
      );
      expect(await rowsOf('A000000000000101')).toEqual([
        { ts: expect.any(String), data: { temp_c: 21, rh: 45 }, normalized: [{ air: { temperature: 21.04, relativeHumidity: 45 } }] },
      ]);
      const events = await plugin.request('GET', '/api/events?app_id=vendor-a-app&category=uplink');
      expect(events.body.items[0].details.normalized_warnings).toEqual(['from TTS', 'measurement 1: unknown field `air.smell`']);
    });

    it('uplink_normalized: each measurement stored once, the measurement is the data; resends are duplicates', async () => {
      const body = fixture<Record<string, any>>('tts/uplink_normalized.json');
      body.end_device_ids.application_ids.application_id = 'vendor-b-app';
      await send(body);
      const second = structuredClone(body);
      second.uplink_normalized.normalized_payload = { wind: { speed: 3.5, direction: 270 } };
      await send(second);
      await send(body, 'duplicate');
      await send(second, 'duplicate');
      expect(await rowsOf('70B3D57ED0051A2B')).toEqual([
        { ts: '2025-04-16T11:54:13.787Z', data: { air: { temperature: 23.1, relativeHumidity: 40.2 } }, normalized: [{ air: { temperature: 23.1, relativeHumidity: 40.2 } }] },
        { ts: '2025-04-16T11:54:13.787Z', data: { wind: { speed: 3.5, direction: 270 } }, normalized: [{ wind: { speed: 3.5, direction: 270 } }] },
      ]);
      const wind = await plugin.request('GET', '/api/measurements?quantity=wind.direction');
      expect(wind.body).toMatchObject({ unit: '°', items: [{ device_id: '70B3D57ED0051A2B', value: 270 }] });
    });

    it('an uplink_normalized after its uplink_message is a duplicate: the message carried it', async () => {
      await plugin.request('PUT', '/api/profiles/greenhouse-app', { body: { formatter: { type: 'none' } } });
      await send(fixture('tts/uplink_message.json'));
      await send(fixture('tts/uplink_normalized.json'), 'duplicate');
      const items = (await temperatures()).body.items;
      expect(items).toEqual([{ app_id: 'greenhouse-app', device_id: '70B3D57ED0051A2B', ts: expect.any(String), value: 23.1 }]);
      expect(await rowsOf('70B3D57ED0051A2B')).toEqual([
        {
          ts: expect.any(String),
          data: { temperature: 23.1, humidity: 40.2, battery_mv: 4112 },
          normalized: [{ air: { temperature: 23.1, relativeHumidity: 40.2 } }],
        },
      ]);
    });

    it('a normalized_payload that is no list, or an uplink_normalized without one, is refused and nothing is stored', async () => {
      const bad = uplinkBody({ appId: 'vendor-b-app', fCnt: 5, bytes: [60, 40] });
      bad.uplink_message.normalized_payload = { air: { temperature: 1 } };
      expectError(await plugin.webhook(bad), 400, 'invalid_webhook');
      const empty = fixture<Record<string, any>>('tts/uplink_normalized.json');
      empty.end_device_ids.application_ids.application_id = 'vendor-b-app';
      delete empty.uplink_normalized.normalized_payload;
      expectError(await plugin.webhook(empty), 400, 'invalid_webhook');
      expect((await plugin.request('GET', '/api/devices')).body.items).toEqual([]);
      expect((await temperatures()).body.items).toEqual([]);
    });
  });

  describe('bad queries get a 400 in the error shape', () => {
    it.each([
      ['no quantity', ''],
      ['an unknown quantity', '?quantity=air.smell'],
      ['a prototype name', '?quantity=constructor'],
      ['from after to', `?quantity=air.temperature&from=${encodeURIComponent(at(5))}&to=${encodeURIComponent(at(1))}`],
      ['a limit too large', '?quantity=air.temperature&limit=100001'],
      ['a bad time', '?quantity=air.temperature&from=yesterday'],
      ['a leap second (RFC 3339 allows it, Date cannot hold it)', '?quantity=air.temperature&from=2016-12-31T23:59:60Z'],
    ])('%s', async (_name, query) => {
      expectError(await plugin.request('GET', `/api/measurements${query}`), 400);
    });

    it('without the admin token: 401', async () => {
      const res = await plugin.request('GET', '/api/measurements?quantity=air.temperature', { token: null });
      expect(res.status).toBe(401);
    });
  });

  it('the test tool answers normalized and normalized_warnings next to output, storing nothing', async () => {
    const res = await plugin.request('POST', '/api/formatters/test', {
      body: { app_id: 'vendor-a-app', direction: 'uplink', input: { bytes: [0x00, 0xd2, 250], f_port: 2 } },
    });
    expect(res.body).toMatchObject({
      ok: true,
      output: { temp_c: 21, rh: 125 },
      normalized: [{ air: { temperature: 21 } }],
      normalized_warnings: ['measurement 1: `air.relativeHumidity` should be equal or less than `100`'],
    });
    const plain = await plugin.request('POST', '/api/formatters/test', {
      body: { app_id: 'vendor-a-app', direction: 'uplink', formatter: { type: 'javascript', script: 'module.exports.uplink = function () { return { x: 1 }; };' }, input: { bytes: [1], f_port: 2 } },
    });
    expect(plain.body).toMatchObject({ ok: true, output: { x: 1 }, normalized: null, normalized_warnings: [] });
    expect((await temperatures()).body.items).toEqual([]);
  });
});
