import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PluginHarness, TestClock } from '../helpers/plugin-harness.js';
import { ECHO_UPLINK, THROWING_UPLINK, expectError, uplinkBody } from '../helpers/tts-bodies.js';

const EUI = '70B3D57ED0051A2B';

describe('dead letters', () => {
  let plugin: PluginHarness;
  let clock: TestClock;
  beforeEach(async () => {
    clock = new TestClock();
    plugin = await new PluginHarness({ clock }).start();
  });
  afterEach(async () => {
    await plugin.destroy();
  });

  const script = (s: string, extra: Record<string, unknown> = {}) =>
    plugin.request('PUT', '/api/profiles/greenhouse-app', { body: { ...extra, formatter: { type: 'javascript', script: s } } });
  const letters = async (query = '') => (await plugin.request('GET', `/api/dead-letters${query}`)).body.items;

  it('keeps an uplink whose formatter throws, answers 200, and records an error event with the line', async () => {
    await script(THROWING_UPLINK);
    const body = uplinkBody({ bytes: [1, 2, 3] });
    const res = await plugin.webhook(body);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ status: 'dead_letter', device_id: EUI, dead_letter_id: expect.any(Number) });

    const items = await letters();
    expect(items).toEqual([
      {
        id: res.body.dead_letter_id,
        app_id: 'greenhouse-app',
        device_id: EUI,
        reason: 'formatter_error',
        error: { kind: 'runtime', message: expect.stringContaining('sensor offline: AQID'), line: 2, column: expect.any(Number), formatter_version: 1 },
        network: 'tts',
        created_at: '2025-04-16T12:00:00.000Z',
        replayed_at: null,
        body,
      },
    ]);

    const events = await plugin.request('GET', '/api/events?category=formatter');
    expect(events.body.items).toHaveLength(1);
    expect(events.body.items[0]).toMatchObject({
      app_id: 'greenhouse-app',
      device_id: EUI,
      severity: 'error',
      title: expect.stringContaining('sensor offline'),
      details: { error: { kind: 'runtime', line: 2 }, f_cnt: 1423, dead_letter_id: res.body.dead_letter_id },
    });
    // no data row was written for it
    expect((await plugin.request('GET', `/api/buckets/${EUI}/data`)).body.items).toEqual([]);
  });

  it.each([
    ['a timeout', 'module.exports.uplink = function () { for (;;) {} };', 'timeout'],
    ['a non-object result', 'module.exports.uplink = function () { return 42; };', 'contract'],
    ['no uplink function', 'module.exports.downlink = function (p) { return p; };', 'contract'],
    ['TTS-style errors', 'function decodeUplink() { return { errors: ["unknown frame type"] }; }', 'contract'],
  ])('keeps an uplink failing with %s', async (_name, s, kind) => {
    const put = await plugin.request('PUT', '/api/profiles/greenhouse-app', { body: { formatter: { type: 'javascript', script: s, timeout_ms: 50 } } });
    expect(put.status).toBe(201);
    const res = await plugin.webhook(uplinkBody());
    expect(res.status).toBe(200);
    expect(res.body.status).toBe('dead_letter');
    const [letter] = await letters();
    expect(letter).toMatchObject({ reason: 'formatter_error', error: { kind } });
  });

  it('replays a dead letter after the formatter is fixed: the data appears with the original time', async () => {
    await script(THROWING_UPLINK);
    const res = await plugin.webhook(uplinkBody({ bytes: [4, 5] }));
    const id = res.body.dead_letter_id;
    await script(ECHO_UPLINK);
    clock.advance(3_600_000);

    const replay = await plugin.request('POST', `/api/dead-letters/${id}/replay`);
    expect(replay.status).toBe(200);
    expect(replay.body).toEqual({ status: 'stored', device_id: EUI });
    const data = await plugin.request('GET', `/api/buckets/${EUI}/data`);
    expect(data.body.items).toEqual([{ ts: '2025-04-16T11:54:13.787Z', data: { bytes: [4, 5], port: 2, f_cnt: 1423 } }]);

    const [letter] = await letters();
    expect(letter).toMatchObject({ id, replayed_at: '2025-04-16T13:00:00.000Z' });

    const again = await plugin.request('POST', `/api/dead-letters/${id}/replay`);
    expectError(again, 409, 'already_replayed');
    expect((await plugin.request('GET', `/api/buckets/${EUI}/data`)).body.items).toHaveLength(1);
  });

  it('replays a dead letter once even when the replay is sent many times at once', async () => {
    for (const fCnt of [1, 2, 3]) {
      await script(THROWING_UPLINK);
      const id = (await plugin.webhook(uplinkBody({ fCnt }))).body.dead_letter_id;
      await script(ECHO_UPLINK);
      const results = await Promise.all(Array.from({ length: 20 }, () => plugin.request('POST', `/api/dead-letters/${id}/replay`)));
      expect(results.map((r) => r.status).sort()).toEqual([200, ...Array(19).fill(409)]);
      const rows = (await plugin.request('GET', `/api/buckets/${EUI}/data`)).body.items;
      expect(rows.filter((r: { data: { f_cnt: number } }) => r.data.f_cnt === fCnt)).toHaveLength(1);
    }
  });

  it('replaying an old uplink does not turn the device\'s last seen time and counters back', async () => {
    await script(THROWING_UPLINK);
    const old = await plugin.webhook(uplinkBody({ fCnt: 10, receivedAt: '2025-04-16T11:50:00Z' }));
    await script(ECHO_UPLINK);
    await plugin.webhook(uplinkBody({ fCnt: 11, fPort: 3, receivedAt: '2025-04-16T11:58:00Z' }));
    const replay = await plugin.request('POST', `/api/dead-letters/${old.body.dead_letter_id}/replay`);
    expect(replay.status).toBe(200);

    const device = await plugin.request('GET', `/api/devices/${EUI}`);
    expect(Date.parse(device.body.last_seen_at)).toBe(Date.parse('2025-04-16T11:58:00Z'));
    expect(device.body.properties.device).toMatchObject({ f_cnt: 11, f_port: 3 });
    expect(device.body.connected).toBe(true);
    // the replayed row sits at its own time
    const rows = (await plugin.request('GET', `/api/buckets/${EUI}/data?order=asc`)).body.items;
    expect(rows.map((r: { ts: string; data: { f_cnt: number } }) => [r.ts, r.data.f_cnt])).toEqual([
      ['2025-04-16T11:50:00.000Z', 10],
      ['2025-04-16T11:58:00.000Z', 11],
    ]);
  });

  it('a replay that fails again answers 422 and keeps a new dead letter', async () => {
    await script(THROWING_UPLINK);
    const first = (await plugin.webhook(uplinkBody())).body.dead_letter_id;
    const replay = await plugin.request('POST', `/api/dead-letters/${first}/replay`);
    expectError(replay, 422, 'replay_failed');
    const second = replay.body.error.details.dead_letter_id;
    expect(second).toEqual(expect.any(Number));
    expect(second).not.toBe(first);

    const items = await letters();
    expect(items.map((l: { id: number }) => l.id)).toEqual([second, first]);
    expect(items[0]).toMatchObject({ reason: 'formatter_error', replayed_at: null });
    // the new one can be replayed once the formatter works
    await script(ECHO_UPLINK);
    expect((await plugin.request('POST', `/api/dead-letters/${second}/replay`)).status).toBe(200);
    expect((await plugin.request('GET', `/api/buckets/${EUI}/data`)).body.items).toHaveLength(1);
  });

  it('replays an uplink of a device that was not provisioned once auto_provision is on', async () => {
    await script(ECHO_UPLINK, { uplink: { auto_provision: false } });
    const id = (await plugin.webhook(uplinkBody())).body.dead_letter_id;
    expect((await plugin.request('GET', `/api/devices/${EUI}`)).status).toBe(404);
    await script(ECHO_UPLINK, { uplink: { auto_provision: true } });
    const replay = await plugin.request('POST', `/api/dead-letters/${id}/replay`);
    expect(replay.status).toBe(200);
    expect(replay.body).toEqual({ status: 'stored', device_id: EUI });
    expect((await plugin.request('GET', `/api/devices/${EUI}`)).status).toBe(200);
    expect((await plugin.request('GET', `/api/buckets/${EUI}/data`)).body.items).toHaveLength(1);
  });

  it('a TTS retry of a dead-lettered uplink is a duplicate, not a second dead letter', async () => {
    await script(THROWING_UPLINK);
    await plugin.webhook(uplinkBody());
    const retry = await plugin.webhook(uplinkBody());
    expect(retry.status).toBe(200);
    expect(retry.body).toEqual({ status: 'duplicate', device_id: EUI });
    expect(await letters()).toHaveLength(1);
  });

  it('answers 404 for an unknown dead letter', async () => {
    expectError(await plugin.request('POST', '/api/dead-letters/999/replay'), 404, 'not_found');
    expectError(await plugin.request('POST', '/api/dead-letters/abc/replay'), 404, 'not_found');
  });

  it('lists newest first, filtered by app_id, limited; refuses bad query values', async () => {
    await script(THROWING_UPLINK);
    await plugin.request('PUT', '/api/profiles/orchard-app', { body: { formatter: { type: 'javascript', script: THROWING_UPLINK } } });
    const a = (await plugin.webhook(uplinkBody({ fCnt: 1 }))).body.dead_letter_id;
    const b = (await plugin.webhook(uplinkBody({ fCnt: 1, appId: 'orchard-app', devEui: '0000000000000009' }))).body.dead_letter_id;
    const c = (await plugin.webhook(uplinkBody({ fCnt: 2 }))).body.dead_letter_id;
    expect((await letters()).map((l: { id: number }) => l.id)).toEqual([c, b, a]);
    expect((await letters('?app_id=greenhouse-app')).map((l: { id: number }) => l.id)).toEqual([c, a]);
    expect((await letters('?app_id=orchard-app&limit=5')).map((l: { id: number }) => l.id)).toEqual([b]);
    expect((await letters('?limit=1')).map((l: { id: number }) => l.id)).toEqual([c]);
    for (const q of ['?limit=0', '?limit=1001', '?limit=ten']) {
      expectError(await plugin.request('GET', `/api/dead-letters${q}`), 400, 'invalid_query');
    }
  });
});
