import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PluginHarness } from '../helpers/plugin-harness.js';
import { ECHO_UPLINK, uplinkBody } from '../helpers/tts-bodies.js';

const EUI = '70B3D57ED0051A2B';

describe('duplicate uplinks (same device, session, f_cnt and payload) are stored once', () => {
  let plugin: PluginHarness;
  beforeEach(async () => {
    plugin = await new PluginHarness().start();
    await plugin.request('PUT', '/api/profiles/greenhouse-app', { body: { formatter: { type: 'javascript', script: ECHO_UPLINK } } });
  });
  afterEach(async () => {
    await plugin.destroy();
  });

  const rowCount = async (bucket = EUI) => (await plugin.request('GET', `/api/buckets/${bucket}/data`)).body.items.length;

  it('answers 200 "duplicate" to a resent uplink and stores it once', async () => {
    const first = await plugin.webhook(uplinkBody(), { path: '/tts/webhook' });
    const second = await plugin.webhook(uplinkBody(), { path: '/uplink' });
    expect(first.body).toEqual({ status: 'stored', device_id: EUI });
    expect(second.status).toBe(200);
    expect(second.body).toEqual({ status: 'duplicate', device_id: EUI });
    expect(await rowCount()).toBe(1);
    const events = await plugin.request('GET', '/api/events?category=uplink');
    expect(events.body.items).toHaveLength(1);
  });

  it('stores the same f_cnt of a new session (after a rejoin)', async () => {
    await plugin.webhook(uplinkBody({ fCnt: 1, sessionKeyId: 'AAAAAAAAAAAAAAAAAAAAAA==' }));
    const res = await plugin.webhook(uplinkBody({ fCnt: 1, sessionKeyId: 'BBBBBBBBBBBBBBBBBBBBBB==' }));
    expect(res.body.status).toBe('stored');
    expect(await rowCount()).toBe(2);
  });

  it('stores every f_cnt of one session', async () => {
    for (const fCnt of [1, 2, 3]) expect((await plugin.webhook(uplinkBody({ fCnt }))).body.status).toBe('stored');
    expect(await rowCount()).toBe(3);
  });

  it('keeps duplicates per device', async () => {
    await plugin.webhook(uplinkBody());
    const other = await plugin.webhook(uplinkBody({ devEui: '70B3D57ED0051A2C', deviceId: 'eui-70b3d57ed0051a2c' }));
    expect(other.body).toEqual({ status: 'stored', device_id: '70B3D57ED0051A2C' });
    expect(await rowCount()).toBe(1);
    expect(await rowCount('70B3D57ED0051A2C')).toBe(1);
  });

  it('stores one of several copies arriving at the same time', async () => {
    await plugin.webhook(uplinkBody({ fCnt: 1 })); // device known
    const results = await Promise.all(Array.from({ length: 6 }, () => plugin.webhook(uplinkBody({ fCnt: 2 }))));
    expect(results.every((r) => r.status === 200)).toBe(true);
    expect(results.map((r) => r.body.status).sort()).toEqual(['duplicate', 'duplicate', 'duplicate', 'duplicate', 'duplicate', 'stored']);
    expect(await rowCount()).toBe(2);
  });

  it('recognises the resend of an uplink that arrived late (older than the last one)', async () => {
    await plugin.webhook(uplinkBody({ fCnt: 11, receivedAt: '2025-04-16T11:55:00Z' }));
    const late = await plugin.webhook(uplinkBody({ fCnt: 10, receivedAt: '2025-04-16T11:54:00Z' }));
    expect(late.body.status).toBe('stored');
    const resent = await plugin.webhook(uplinkBody({ fCnt: 10, receivedAt: '2025-04-16T11:54:00Z' }));
    expect(resent.body.status).toBe('duplicate');
    expect(await rowCount()).toBe(2);
  });

  it('recognises resends within the last 32 uplinks of a session', async () => {
    for (let fCnt = 1; fCnt <= 33; fCnt++) await plugin.webhook(uplinkBody({ fCnt }));
    expect((await plugin.webhook(uplinkBody({ fCnt: 2 }))).body.status).toBe('duplicate');
    expect((await plugin.webhook(uplinkBody({ fCnt: 33 }))).body.status).toBe('duplicate');
    expect(await rowCount()).toBe(33);
  });

  it('does not take an uplink of another application with the same device id for a duplicate', async () => {
    await plugin.request('PUT', '/api/profiles/default', { body: { uplink: { device_id_source: 'device_id' }, formatter: { type: 'none' } } });
    const a = await plugin.webhook(uplinkBody({ appId: 'orchard-app', deviceId: 'sensor-1', fCnt: 5, decoded: { from: 'orchard' } }));
    expect(a.body.status).toBe('stored');
    const b = await plugin.webhook(uplinkBody({ appId: 'vineyard-app', deviceId: 'sensor-1', fCnt: 5, decoded: { from: 'vineyard' } }));
    expect(b.body.status).toBe('dead_letter');
    const letters = (await plugin.request('GET', '/api/dead-letters?app_id=vineyard-app')).body.items;
    expect(letters.map((l: { reason: string }) => l.reason)).toEqual(['device_id_conflict']);
  });

  it('stores new payloads after a frame counter reset in the same session (ABP), and still drops their resends', async () => {
    for (const fCnt of [0, 1, 2]) expect((await plugin.webhook(uplinkBody({ fCnt, bytes: [fCnt] }))).body.status).toBe('stored');
    // The device restarts its counter without a new session key, with new readings.
    for (const fCnt of [0, 1, 2]) expect((await plugin.webhook(uplinkBody({ fCnt, bytes: [0x10 + fCnt] }))).body.status).toBe('stored');
    expect((await plugin.webhook(uplinkBody({ fCnt: 1, bytes: [0x11] }))).body.status).toBe('duplicate');
  });

  it('does not dedupe uplinks without f_cnt', async () => {
    const noCount = () => {
      const body = uplinkBody({ bytes: [1] });
      delete body.uplink_message.f_cnt;
      return body;
    };
    for (let i = 0; i < 3; i++) expect((await plugin.webhook(noCount())).body.status).toBe('stored');
  });
});
