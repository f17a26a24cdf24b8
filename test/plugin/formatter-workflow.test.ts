/**
 * The formatter workflow over the API: every saved formatter is a version (listed, noted, restored),
 * events and dead letters name the version that ran, a draft runs over the application's recent
 * uplinks as they arrived (nothing stored), and a fix replays every dead letter of the application.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PluginHarness, TestClock } from '../helpers/plugin-harness.js';
import { VECTOR, postReport, uplinkReport } from '../helpers/thingpark-peer.js';
import { expectError, uplinkBody } from '../helpers/tts-bodies.js';

const APP = 'greenhouse-app';
/** Temperature in 0.01 °C; the `scale` is what a user changes. */
const script = (scale: number, extra = '') => `module.exports.uplink = function (payload) {
  const b = Buffer.from(payload, 'base64');${extra}
  return { temperature: b.readInt16BE(0) / ${scale} };
};`;
const V1 = script(100);
const V2 = script(10);
const BROKEN = script(100, `\n  if (b[0] === 0xff) throw new Error('negative readings are not supported');`);

describe('formatter workflow', () => {
  let plugin: PluginHarness;
  let clock: TestClock;
  beforeEach(async () => {
    clock = new TestClock(Date.parse('2026-12-03T08:00:00.000Z'));
    plugin = await new PluginHarness({ clock }).start();
  });
  afterEach(async () => {
    await plugin.destroy();
  });

  const save = (formatterScript: string, note?: string) =>
    plugin.request('PUT', `/api/profiles/${APP}${note ? `?note=${encodeURIComponent(note)}` : ''}`, {
      body: { formatter: { type: 'javascript', script: formatterScript } },
    });
  const versions = async () => (await plugin.request('GET', `/api/profiles/${APP}/formatter-versions`)).body;
  const send = (fCnt: number, bytes: number[]) => plugin.webhook(uplinkBody({ appId: APP, deviceId: 'dev-one', devEui: 'A0000000000000A1', fCnt, bytes }));
  /** Everything the dry runs must leave untouched. */
  async function snapshot() {
    const paths = ['/api/devices', '/api/buckets', '/api/buckets/A0000000000000A1/data?limit=1000', '/api/dead-letters', '/api/events?limit=1000'];
    return Promise.all(paths.map(async (p) => (await plugin.request('GET', p)).body));
  }

  describe('versions', () => {
    it('every save that changes the formatter is a version, with time, size and note; other saves are not', async () => {
      expect((await save(V1, 'first cut')).body.formatter_version).toBe(1);
      clock.advance(60_000);
      await plugin.request('PUT', `/api/profiles/${APP}`, { body: { formatter: { type: 'javascript', script: V1 }, uplink: { device_id_prefix: 'gh-' } } });
      clock.advance(60_000);
      expect((await save(V2, 'scale fixed')).body.formatter_version).toBe(2);
      const list = await versions();
      expect(list).toEqual({
        current: 2,
        items: [
          { version: 2, created_at: '2026-12-03T08:02:00.000Z', note: 'scale fixed', current: true, type: 'javascript', timeout_ms: 100, size: Buffer.byteLength(V2) },
          { version: 1, created_at: '2026-12-03T08:00:00.000Z', note: 'first cut', current: false, type: 'javascript', timeout_ms: 100, size: Buffer.byteLength(V1) },
        ],
      });
      const one = await plugin.request('GET', `/api/profiles/${APP}/formatter-versions/1`);
      expect(one.body).toMatchObject({ version: 1, script: V1, current: false });
    });

    it('a note can be added or changed later; restore saves the old formatter as a new version', async () => {
      await save(V1);
      await save(V2);
      const noted = await plugin.request('PATCH', `/api/profiles/${APP}/formatter-versions/1`, { body: { note: 'known good' } });
      expect(noted.body).toMatchObject({ version: 1, note: 'known good' });
      const restored = await plugin.request('POST', `/api/profiles/${APP}/formatter-versions/1/restore`);
      expect(restored.body).toEqual({ version: 3 });
      const list = await versions();
      expect(list.items[0]).toMatchObject({ version: 3, note: 'restored version 1', current: true, size: Buffer.byteLength(V1) });
      expect((await plugin.request('GET', `/api/profiles/${APP}`)).body.formatter.script).toBe(V1);
      const events = await plugin.request('GET', `/api/events?app_id=${APP}&category=profile`);
      expect(events.body.items[0].title).toBe('Formatter version 1 restored as version 3');
    });

    it('events and dead letters name the version that ran', async () => {
      await save(BROKEN);
      expect((await send(1, [0x09, 0x29])).body.status).toBe('stored');
      expect((await send(2, [0xff, 0x38])).body.status).toBe('dead_letter');
      const uplinkEvent = (await plugin.request('GET', `/api/events?app_id=${APP}&category=uplink`)).body.items[0];
      expect(uplinkEvent.details.formatter_version).toBe(1);
      const letter = (await plugin.request('GET', `/api/dead-letters?app_id=${APP}`)).body.items[0];
      expect(letter.error).toMatchObject({ kind: 'runtime', formatter_version: 1, line: 3 });
    });

    it('refused: unknown version, bad version numbers, a note too long, another application\'s version (404)', async () => {
      await save(V1);
      expectError(await plugin.request('GET', `/api/profiles/${APP}/formatter-versions/9`), 404);
      expectError(await plugin.request('POST', `/api/profiles/${APP}/formatter-versions/9/restore`), 404);
      for (const bad of ['0', '-1', '1.5', 'x', '99999999999999999999']) {
        expectError(await plugin.request('GET', `/api/profiles/${APP}/formatter-versions/${bad}`), 400, 'invalid_version');
      }
      expectError(await plugin.request('PATCH', `/api/profiles/${APP}/formatter-versions/1`, { body: { note: 'x'.repeat(201) } }), 400);
      expectError(await plugin.request('PUT', `/api/profiles/${APP}?note=${'x'.repeat(201)}`, { body: {} }), 400);
      expectError(await plugin.request('GET', '/api/profiles/other-app/formatter-versions'), 404);
      expect((await versions()).items).toHaveLength(1);
    });

    it('deleting the profile deletes its versions; a new profile starts again at 1', async () => {
      await save(V1);
      await save(V2);
      await plugin.request('DELETE', `/api/profiles/${APP}`);
      expect((await save(V2)).body.formatter_version).toBe(1);
      expect((await versions()).items).toHaveLength(1);
    });
  });

  describe('run on recent uplinks', () => {
    const recent = (body: Record<string, unknown>) => plugin.request('POST', '/api/formatters/test-recent', { body: { app_id: APP, ...body } });

    it('a draft over the uplinks as they arrived: stored output beside the new one, differences marked, counts; nothing stored', async () => {
      await save(BROKEN);
      await send(1, [0x09, 0x29]); // 23.45
      await send(2, [0x00, 0x00]); // 0: same at any scale
      await send(3, [0xff, 0x38]); // dead letter under BROKEN
      const before = await snapshot();
      const res = await recent({ formatter: { type: 'javascript', script: V2 } });
      expect(res.status).toBe(200);
      expect(res.body.counts).toEqual({ same: 1, changed: 2, failed: 0, total: 3 });
      const [third, second, first] = res.body.items;
      expect(first).toMatchObject({
        status: 'changed',
        device_id: 'A0000000000000A1',
        f_port: 2,
        formatter_version: 1,
        stored: { temperature: 23.45 },
        output: { temperature: 234.5 },
        differences: [{ path: '/temperature', expected: 23.45, actual: 234.5 }],
      });
      expect(second).toMatchObject({ status: 'same', differences: [] });
      expect(third).toMatchObject({ status: 'changed', stored: null, stored_error: { kind: 'runtime' }, output: { temperature: -20 } });
      expect(await snapshot()).toEqual(before);
    });

    it('the saved formatter when none is given; a failing draft counts failed with its line', async () => {
      await save(V1);
      await send(1, [0x09, 0x29]);
      expect((await recent({})).body.counts).toEqual({ same: 1, changed: 0, failed: 0, total: 1 });
      const failing = await recent({ formatter: { type: 'javascript', script: 'module.exports.uplink = function () {\n  throw new Error("nope");\n};' } });
      expect(failing.body.counts).toEqual({ same: 0, changed: 0, failed: 1, total: 1 });
      expect(failing.body.items[0].error).toMatchObject({ kind: 'runtime', line: 2 });
    });

    it('keeps the last uplinks of each application (200 by default, 5 here), newest first; limit takes fewer', async () => {
      await plugin.stop();
      plugin = await new PluginHarness({ clock, dataDir: plugin.dataDir, recentPerApp: 5 }).start();
      await save(V1);
      for (let i = 1; i <= 8; i++) await send(i, [0, i]);
      const all = await recent({});
      expect(all.body.items.map((i: { output: { temperature: number } }) => i.output.temperature)).toEqual([0.08, 0.07, 0.06, 0.05, 0.04]);
      expect((await recent({ limit: 2 })).body.items).toHaveLength(2);
    });

    it('PLUGIN_RECENT_UPLINKS=0 keeps none (for those who want no extra write per uplink)', async () => {
      await plugin.stop();
      plugin = await new PluginHarness({ clock, dataDir: plugin.dataDir, recentPerApp: 0 }).start();
      await save(V1);
      await send(1, [0, 1]);
      expect((await recent({})).body.counts).toEqual({ same: 0, changed: 0, failed: 0, total: 0 });
    });

    it('a ThingPark report that came with a byte order mark runs again like any other', async () => {
      const tp = 'tp-bom-app';
      const asKey = '5ca1ab1e5ca1ab1e5ca1ab1e5ca1ab1e';
      await plugin.request('PUT', `/api/profiles/${tp}`, {
        body: { network: 'thingpark', formatter: { type: 'javascript', script: 'module.exports.uplink = function (p, m) { return { fcnt: m.DevEUI_uplink.FCntUp }; };' }, thingpark: { as_id: VECTOR.asId, as_key: asKey, downlink_url: 'https://lrc.example.com/downlink', max_clock_skew_s: 0 } },
      });
      const report = uplinkReport({ devEui: 'A000000000000001', fCntUp: 1, bytes: [1, 2] });
      const res = await postReport(plugin, tp, report, { asId: VECTOR.asId, asKey, raw: `\ufeff${JSON.stringify(report)}` });
      expect(res.body.status).toBe('stored');
      const again = await plugin.request('POST', '/api/formatters/test-recent', { body: { app_id: tp } });
      expect(again.status).toBe(200);
      expect(again.body.counts).toEqual({ same: 1, changed: 0, failed: 0, total: 1 });
    });

    it('refused: a draft that does not compile (400 formatter_invalid), a bad body (400), another token (401)', async () => {
      await save(V1);
      expectError(await recent({ formatter: { type: 'javascript', script: 'module.exports.uplink = function ( {' } }), 400, 'formatter_invalid');
      expectError(await recent({ limit: 0 }), 400);
      expectError(await plugin.request('POST', '/api/formatters/test-recent', { body: {} }), 400);
      expect((await plugin.request('POST', '/api/formatters/test-recent', { body: { app_id: APP }, token: 'wrong' })).status).toBe(401);
    });
  });

  describe('replay all', () => {
    it('after a fix, replays every dead letter of the application once and says how many are stored now', async () => {
      await save(BROKEN);
      await send(1, [0xff, 0x38]);
      await send(2, [0xff, 0x00]);
      await send(3, [0x01, 0x00]);
      await plugin.request('PUT', '/api/profiles/other-app', { body: { formatter: { type: 'javascript', script: 'module.exports.uplink = function () { throw new Error("x"); };' } } });
      await plugin.webhook(uplinkBody({ appId: 'other-app', deviceId: 'dev-two', devEui: 'B0000000000000B2', fCnt: 1, bytes: [1] }));
      await save(V1, 'negative readings');
      const res = await plugin.request('POST', `/api/dead-letters/replay-all?app_id=${APP}`);
      expect(res.body).toEqual({ app_id: APP, replayed: 2, stored: 2, failed: 0, skipped: 0, more: false });
      const rows = (await plugin.request('GET', '/api/buckets/A0000000000000A1/data?order=asc')).body.items.map((r: { data: unknown }) => r.data);
      expect(rows).toEqual([{ temperature: 2.56 }, { temperature: -2 }, { temperature: -2.56 }]);
      const pending = (await plugin.request('GET', '/api/dead-letters?app_id=other-app')).body.items.filter((d: { replayed_at: null }) => d.replayed_at === null);
      expect(pending).toHaveLength(1);
      expect((await plugin.request('POST', `/api/dead-letters/replay-all?app_id=${APP}`)).body).toMatchObject({ replayed: 0 });
    });

    it('what fails again is a new dead letter, not replayed again in the same run', async () => {
      await save(BROKEN);
      await send(1, [0xff, 0x38]);
      const res = await plugin.request('POST', `/api/dead-letters/replay-all?app_id=${APP}`);
      expect(res.body).toMatchObject({ replayed: 1, stored: 0, failed: 1 });
      const letters = (await plugin.request('GET', `/api/dead-letters?app_id=${APP}`)).body.items;
      expect(letters).toHaveLength(2);
      expect(letters.filter((d: { replayed_at: string | null }) => d.replayed_at === null)).toHaveLength(1);
    });

    it('refused without app_id (400)', async () => {
      expectError(await plugin.request('POST', '/api/dead-letters/replay-all'), 400);
    });
  });
});
