import Database from 'better-sqlite3';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { PluginHarness, TestClock } from '../helpers/plugin-harness.js';
import { ECHO_UPLINK, THROWING_UPLINK, uplinkBody } from '../helpers/tts-bodies.js';

const EUI = '70B3D57ED0051A2B';
const ORCHARD_EUI = '0000000000000009';

describe('restart', () => {
  const harnesses: PluginHarness[] = [];
  afterEach(async () => {
    for (const h of harnesses.splice(0)) await h.destroy();
  });

  /** Everything a user can read back through the API. */
  async function readAll(plugin: PluginHarness) {
    const get = async (path: string) => {
      const res = await plugin.request('GET', path);
      expect(res.status, path).toBe(200);
      return res.body;
    };
    const devices = await get('/api/devices');
    return {
      profiles: await get('/api/profiles'),
      webhooks: [await get('/api/profiles/default/webhook'), await get('/api/profiles/greenhouse-app/webhook'), await get('/api/profiles/orchard-app/webhook')],
      devices,
      deviceDetails: await Promise.all(devices.items.map((d: { id: string }) => get(`/api/devices/${d.id}`))),
      buckets: await get('/api/buckets'),
      data: await get(`/api/buckets/${EUI}/data?order=asc`),
      csv: (await plugin.request('GET', `/api/buckets/${EUI}/data?format=csv`)).text,
      events: await get('/api/events?limit=1000'),
      deadLetters: await get('/api/dead-letters'),
    };
  }

  it('keeps profiles, devices, bucket rows, events, dead letters and webhook tokens across a restart', async () => {
    const clock = new TestClock();
    const first = await new PluginHarness({ clock }).start();
    harnesses.push(first);
    await first.request('PUT', '/api/profiles/greenhouse-app', {
      body: { uplink: { asset_type: 'sensor', update_location: true, save_metadata: true }, formatter: { type: 'javascript', script: ECHO_UPLINK } },
    });
    await first.request('PUT', '/api/profiles/orchard-app', { body: { formatter: { type: 'javascript', script: THROWING_UPLINK } } });
    await first.request('POST', '/api/profiles/orchard-app/webhook'); // a rotated token must survive too
    for (const fCnt of [1, 2, 3]) expect((await first.webhook(uplinkBody({ fCnt, bytes: [fCnt] }))).body.status).toBe('stored');
    const letter = await first.webhook(uplinkBody({ appId: 'orchard-app', devEui: ORCHARD_EUI }));
    expect(letter.body.status).toBe('dead_letter');
    await first.request('PUT', `/api/devices/${EUI}/properties/note`, { body: { shelf: 3 } });
    await first.webhook(uplinkBody(), { token: null }); // an auth event
    const tokens = { greenhouse: await first.webhookToken('greenhouse-app'), orchard: await first.webhookToken('orchard-app') };
    const before = await readAll(first);
    expect(before.data.items).toHaveLength(3);
    expect(before.deadLetters.items).toHaveLength(1);
    await first.stop();
    harnesses.splice(harnesses.indexOf(first), 1); // stopped; the second one cleans up the data dir

    const second = await new PluginHarness({ clock, dataDir: first.dataDir }).start();
    harnesses.push(second);
    expect(await readAll(second)).toEqual(before);

    // the stored webhook tokens still work, and the duplicate memory survived
    const again = await second.webhook(uplinkBody({ fCnt: 3, bytes: [3] }), { token: tokens.greenhouse });
    expect(again.body).toEqual({ status: 'duplicate', device_id: EUI });
    const next = await second.webhook(uplinkBody({ fCnt: 4, bytes: [4] }), { token: tokens.greenhouse });
    expect(next.body).toEqual({ status: 'stored', device_id: EUI });
    expect((await second.webhook(uplinkBody({ appId: 'orchard-app', devEui: ORCHARD_EUI, fCnt: 9 }), { token: tokens.orchard })).status).toBe(200);

    // a dead letter from before the restart can be replayed after it
    await second.request('PUT', '/api/profiles/orchard-app', { body: { formatter: { type: 'javascript', script: ECHO_UPLINK } } });
    const replay = await second.request('POST', `/api/dead-letters/${letter.body.dead_letter_id}/replay`);
    expect(replay.status).toBe(200);
    expect((await second.request('GET', `/api/buckets/${ORCHARD_EUI}/data`)).body.items).toHaveLength(1);
    expect((await second.request('GET', `/api/buckets/${EUI}/data`)).body.items).toHaveLength(4);
  });

  it('answers a webhook 2xx only once its data is committed (visible to another connection)', async () => {
    const plugin = await new PluginHarness().start();
    harnesses.push(plugin);
    await plugin.request('PUT', '/api/profiles/greenhouse-app', { body: { formatter: { type: 'javascript', script: ECHO_UPLINK } } });
    const token = await plugin.webhookToken('greenhouse-app');
    const reader = new Database(join(plugin.dataDir, 'plugin.db'), { readonly: true, fileMustExist: true });
    try {
      const count = (sql: string) => (reader.prepare(sql).get() as { n: number }).n;
      for (let fCnt = 1; fCnt <= 5; fCnt++) {
        const res = await plugin.request('POST', '/tts/webhook', { body: uplinkBody({ fCnt }), token });
        expect(res.status).toBe(200);
        expect(count('SELECT COUNT(*) AS n FROM bucket_rows')).toBe(fCnt);
      }
      await plugin.request('PUT', '/api/profiles/greenhouse-app', { body: { formatter: { type: 'javascript', script: THROWING_UPLINK } } });
      const res = await plugin.request('POST', '/tts/webhook', { body: uplinkBody({ fCnt: 6 }), token });
      expect(res.body.status).toBe('dead_letter');
      expect(count('SELECT COUNT(*) AS n FROM dead_letters')).toBe(1);
    } finally {
      reader.close();
    }
  });
});
