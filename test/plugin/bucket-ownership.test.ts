/**
 * A bucket outlives its device (its data is kept), and stays its application's: another
 * application's new device with the same id does not append into it.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PluginHarness } from '../helpers/plugin-harness.js';
import { uplinkBody } from '../helpers/tts-bodies.js';

const EUI = 'CCCCCCCCCCCCCC01';

describe('bucket ownership when a device is deleted', () => {
  let plugin: PluginHarness;
  beforeEach(async () => {
    plugin = await new PluginHarness().start();
    for (const app of ['first-app', 'second-app']) expect((await plugin.request('PUT', `/api/profiles/${app}`, { body: {} })).status).toBe(201);
  });
  afterEach(async () => {
    await plugin.destroy();
  });

  const rows = async () => (await plugin.request('GET', `/api/buckets/${EUI}/data?order=asc`)).body.items;

  it('another application\'s device with the same id gets a dead letter, not the old bucket; its own device comes back to it', async () => {
    expect((await plugin.webhook(uplinkBody({ appId: 'first-app', devEui: EUI, fCnt: 1, decoded: { from: 'first' } }))).body.status).toBe('stored');
    expect((await plugin.request('DELETE', `/api/devices/${EUI}`)).status).toBe(204);

    const intruder = await plugin.webhook(uplinkBody({ appId: 'second-app', devEui: EUI, fCnt: 1, decoded: { from: 'second' } }));
    expect(intruder.body).toMatchObject({ status: 'dead_letter', device_id: EUI });
    expect(await rows()).toEqual([{ ts: expect.any(String), data: { from: 'first' } }]);
    expect((await plugin.request('GET', `/api/buckets/${EUI}`)).body).toMatchObject({ app_id: 'first-app', rows: 1 });
    const [letter] = (await plugin.request('GET', '/api/dead-letters?app_id=second-app')).body.items;
    expect(letter).toMatchObject({ reason: 'bucket_id_conflict', error: { message: expect.stringContaining("bucket 'CCCCCCCCCCCCCC01' belongs to application 'first-app'") } });
    expect((await plugin.request('GET', `/api/devices/${EUI}`)).status).toBe(404);

    // With a bucket prefix of its own, the second application's device has a bucket of its own.
    expect((await plugin.request('PUT', '/api/profiles/second-app', { body: { uplink: { bucket_id_prefix: 'second-' } } })).status).toBe(200);
    expect((await plugin.webhook(uplinkBody({ appId: 'second-app', devEui: EUI, fCnt: 2, decoded: { from: 'second' } }))).body.status).toBe('stored');
    expect((await plugin.request('GET', `/api/buckets/second-${EUI}/data`)).body.items).toEqual([{ ts: expect.any(String), data: { from: 'second' } }]);
    expect(await rows()).toHaveLength(1);
  });

  it('the same application\'s device, deleted and back, appends to its old bucket', async () => {
    expect((await plugin.webhook(uplinkBody({ appId: 'first-app', devEui: EUI, fCnt: 1, decoded: { n: 1 } }))).body.status).toBe('stored');
    expect((await plugin.request('DELETE', `/api/devices/${EUI}`)).status).toBe(204);
    expect((await plugin.webhook(uplinkBody({ appId: 'first-app', devEui: EUI, fCnt: 2, decoded: { n: 2 } }))).body.status).toBe('stored');
    expect((await rows()).map((r: { data: unknown }) => r.data)).toEqual([{ n: 1 }, { n: 2 }]);
  });
});
