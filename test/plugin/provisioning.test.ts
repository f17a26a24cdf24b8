import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PluginHarness, TestClock } from '../helpers/plugin-harness.js';
import { ECHO_UPLINK, uplinkBody } from '../helpers/tts-bodies.js';

const EUI = '70B3D57ED0051A2B';
const IDS = {
  network: 'tts',
  app_id: 'greenhouse-app',
  network_device_id: 'eui-70b3d57ed0051a2b',
  dev_eui: EUI,
  join_eui: '0000000000000000',
  dev_addr: '260B1E42',
};

describe('auto-provisioning', () => {
  let plugin: PluginHarness;
  beforeEach(async () => {
    plugin = await new PluginHarness({ clock: new TestClock() }).start();
  });
  afterEach(async () => {
    await plugin.destroy();
  });

  const profile = (settings: Record<string, unknown>) =>
    plugin.request('PUT', '/api/profiles/greenhouse-app', { body: { formatter: { type: 'javascript', script: ECHO_UPLINK }, ...settings } });

  it('creates the device (id = DevEUI) and its bucket on the first uplink, with the profile defaults', async () => {
    await profile({});
    const res = await plugin.webhook(uplinkBody({ bytes: [1, 2] }));
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ status: 'stored', device_id: EUI });

    const device = await plugin.request('GET', `/api/devices/${EUI}`);
    expect(device.status).toBe(200);
    expect(device.body).toEqual({
      id: EUI,
      app_id: 'greenhouse-app',
      network: 'tts',
      ids: IDS,
      asset_type: null,
      asset_group: null,
      bucket_id: EUI,
      connection_timeout_min: 10,
      created_at: '2025-04-16T12:00:00.000Z',
      last_seen_at: expect.any(String),
      connected: true,
      properties: {
        device: { ...IDS, f_port: 2, f_cnt: 1423, last_seen: expect.any(String) },
        downlink: {},
      },
      downlink_ready: false,
    });
    // TTS's received_at (nanoseconds); the plugin may keep it as sent or in milliseconds
    expect(Date.parse(device.body.last_seen_at)).toBe(Date.parse('2025-04-16T11:54:13.787Z'));
    expect(Date.parse(device.body.properties.device.last_seen)).toBe(Date.parse('2025-04-16T11:54:13.787Z'));
    const buckets = await plugin.request('GET', '/api/buckets');
    expect(buckets.body.items).toEqual([
      { id: EUI, device_id: EUI, app_id: 'greenhouse-app', created_at: '2025-04-16T12:00:00.000Z', rows: 1, last_ts: '2025-04-16T11:54:13.787Z' },
    ]);
    const data = await plugin.request('GET', `/api/buckets/${EUI}/data`);
    expect(data.body).toEqual({ bucket_id: EUI, items: [{ ts: '2025-04-16T11:54:13.787Z', data: { bytes: [1, 2], port: 2, f_cnt: 1423 } }] });

    const events = await plugin.request('GET', '/api/events?category=provisioning');
    expect(events.body.items).toHaveLength(1);
    expect(events.body.items[0]).toMatchObject({
      app_id: 'greenhouse-app',
      device_id: EUI,
      severity: 'info',
      title: 'Device provisioned',
      details: { profile: 'greenhouse-app', bucket_id: EUI, network: 'tts', network_device_id: 'eui-70b3d57ed0051a2b' },
    });
  });

  it('provisions only once', async () => {
    await profile({});
    await plugin.webhook(uplinkBody({ fCnt: 1 }));
    await plugin.webhook(uplinkBody({ fCnt: 2 }));
    await plugin.webhook(uplinkBody({ fCnt: 3 }));
    expect((await plugin.request('GET', '/api/devices')).body.items).toHaveLength(1);
    expect((await plugin.request('GET', '/api/events?category=provisioning')).body.items).toHaveLength(1);
    expect((await plugin.request('GET', `/api/buckets/${EUI}`)).body.rows).toBe(3);
  });

  it('applies device and bucket id prefixes', async () => {
    await profile({ uplink: { device_id_prefix: 'gh-', bucket_id_prefix: 'data_' } });
    const res = await plugin.webhook(uplinkBody());
    expect(res.body).toEqual({ status: 'stored', device_id: `gh-${EUI}` });
    const device = await plugin.request('GET', `/api/devices/gh-${EUI}`);
    expect(device.body.bucket_id).toBe(`data_${EUI}`);
    const bucket = await plugin.request('GET', `/api/buckets/data_${EUI}`);
    expect(bucket.body).toMatchObject({ id: `data_${EUI}`, device_id: `gh-${EUI}`, rows: 1 });
    expect((await plugin.request('GET', `/api/devices/${EUI}`)).status).toBe(404);
  });

  it('uses the TTS device id when device_id_source is device_id', async () => {
    await profile({ uplink: { device_id_source: 'device_id', device_id_prefix: 'p-', bucket_id_prefix: 'b-' } });
    const res = await plugin.webhook(uplinkBody());
    expect(res.body).toEqual({ status: 'stored', device_id: 'p-eui-70b3d57ed0051a2b' });
    const device = await plugin.request('GET', '/api/devices/p-eui-70b3d57ed0051a2b');
    expect(device.body).toMatchObject({ bucket_id: 'b-eui-70b3d57ed0051a2b', ids: IDS });
  });

  it('falls back to the TTS device id when the uplink has no DevEUI', async () => {
    await profile({ uplink: { device_id_prefix: 'p-' } });
    const res = await plugin.webhook(uplinkBody({ devEui: null, deviceId: 'abp-node-1' }));
    expect(res.body).toEqual({ status: 'stored', device_id: 'p-abp-node-1' });
    const device = await plugin.request('GET', '/api/devices/p-abp-node-1');
    expect(device.body.bucket_id).toBe('abp-node-1');
    expect(device.body.ids.dev_eui).toBeUndefined();
  });

  it('gives the device the profile\'s asset type and group, connection timeout and initial downlink', async () => {
    await profile({
      uplink: { asset_type: 'soil-sensor', asset_group: 'greenhouse-3', connection_timeout_min: 60, initial_downlink: { interval_min: 15, led: false } },
    });
    await plugin.webhook(uplinkBody());
    const device = await plugin.request('GET', `/api/devices/${EUI}`);
    expect(device.body).toMatchObject({
      asset_type: 'soil-sensor',
      asset_group: 'greenhouse-3',
      connection_timeout_min: 60,
      properties: { downlink: { interval_min: 15, led: false } },
    });
    const prop = await plugin.request('GET', `/api/devices/${EUI}/properties/downlink`);
    expect(prop.body).toEqual({ name: 'downlink', value: { interval_min: 15, led: false } });
  });

  it('creates no bucket when auto_provision_bucket is off, and still records the uplink', async () => {
    await profile({ uplink: { auto_provision_bucket: false } });
    const res = await plugin.webhook(uplinkBody());
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ status: 'stored', device_id: EUI });
    const device = await plugin.request('GET', `/api/devices/${EUI}`);
    expect(device.body.bucket_id).toBeNull();
    expect(device.body.properties.device.f_cnt).toBe(1423);
    expect((await plugin.request('GET', '/api/buckets')).body.items).toEqual([]);
    const events = await plugin.request('GET', '/api/events?category=uplink');
    expect(events.body.items[0].title).toBe('Uplink processed (device has no bucket)');
    expect((await plugin.request('GET', '/api/dead-letters')).body.items).toEqual([]);
  });

  it('keeps an uplink from an unknown device as a dead letter when auto_provision is off, answering 2xx', async () => {
    await profile({ uplink: { auto_provision: false } });
    const body = uplinkBody({ bytes: [7] });
    const res = await plugin.webhook(body);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ status: 'dead_letter', device_id: EUI, dead_letter_id: expect.any(Number) });
    expect((await plugin.request('GET', '/api/devices')).body.items).toEqual([]);
    expect((await plugin.request('GET', '/api/buckets')).body.items).toEqual([]);

    const letters = await plugin.request('GET', '/api/dead-letters');
    expect(letters.body.items).toEqual([
      {
        id: res.body.dead_letter_id,
        app_id: 'greenhouse-app',
        device_id: EUI,
        reason: 'device_not_provisioned',
        error: { message: expect.stringContaining('auto-provisioning is off') },
        network: 'tts',
        created_at: '2025-04-16T12:00:00.000Z',
        replayed_at: null,
        body,
      },
    ]);
    const events = await plugin.request('GET', '/api/events?category=provisioning');
    expect(events.body.items[0]).toMatchObject({ device_id: EUI, severity: 'warning', details: { dead_letter_id: res.body.dead_letter_id } });
  });

  it('keeps storing uplinks of a known device after auto_provision is turned off', async () => {
    await profile({});
    await plugin.webhook(uplinkBody({ fCnt: 1 }));
    await profile({ uplink: { auto_provision: false } });
    const res = await plugin.webhook(uplinkBody({ fCnt: 2 }));
    expect(res.body).toEqual({ status: 'stored', device_id: EUI });
    expect((await plugin.request('GET', `/api/buckets/${EUI}`)).body.rows).toBe(2);
  });

  it('provisions a device of an application without a profile with the Default profile', async () => {
    await plugin.request('PUT', '/api/profiles/default', { body: { uplink: { device_id_prefix: 'any-', asset_type: 'generic' }, formatter: { type: 'none' } } });
    const res = await plugin.webhook(uplinkBody({ appId: 'orchard-app' }));
    expect(res.body).toEqual({ status: 'stored', device_id: `any-${EUI}` });
    const device = await plugin.request('GET', `/api/devices/any-${EUI}`);
    expect(device.body).toMatchObject({ app_id: 'orchard-app', asset_type: 'generic', ids: { app_id: 'orchard-app' } });
    const events = await plugin.request('GET', '/api/events?category=provisioning');
    expect(events.body.items[0].details.profile).toBe('default');
  });

  it('provisions a new device once, losing nothing, when its first uplinks arrive at the same time', async () => {
    await profile({});
    const token = await plugin.webhookToken('greenhouse-app');
    // several new devices, each with a burst of simultaneous first uplinks (TTS does not retry a failed webhook)
    const euis = ['00000000000000A1', '00000000000000A2', '00000000000000A3', '00000000000000A4', '00000000000000A5'];
    for (const eui of euis) {
      const results = await Promise.all(
        Array.from({ length: 30 }, (_, fCnt) => plugin.request('POST', '/tts/webhook', { body: uplinkBody({ devEui: eui, fCnt }), token })),
      );
      const failed = results.filter((r) => r.status !== 200).map((r) => `${r.status} ${r.text}`);
      expect(failed, `device ${eui}`).toEqual([]);
      expect(results.map((r) => r.body.status)).toEqual(Array(30).fill('stored'));
      const data = await plugin.request('GET', `/api/buckets/${eui}/data?order=asc`);
      expect(data.body.items.map((r: { data: { f_cnt: number } }) => r.data.f_cnt).sort((a: number, b: number) => a - b)).toEqual(
        Array.from({ length: 30 }, (_, i) => i),
      );
    }
    expect((await plugin.request('GET', '/api/devices')).body.items).toHaveLength(euis.length);
    expect((await plugin.request('GET', '/api/events?category=provisioning')).body.items).toHaveLength(euis.length);
    expect((await plugin.request('GET', '/api/dead-letters')).body.items).toEqual([]);
  });

  it('does not mix an uplink of another application into a device that has the same id', async () => {
    // TTS device ids are unique per application only: two applications may both have "sensor-1"
    await plugin.request('PUT', '/api/profiles/default', { body: { uplink: { device_id_source: 'device_id' }, formatter: { type: 'none' } } });
    const a = await plugin.webhook(uplinkBody({ appId: 'orchard-app', deviceId: 'sensor-1', devEui: '00000000000000B1', fCnt: 5, decoded: { from: 'orchard' } }));
    expect(a.body).toEqual({ status: 'stored', device_id: 'sensor-1' });
    const b = await plugin.webhook(uplinkBody({ appId: 'vineyard-app', deviceId: 'sensor-1', devEui: '00000000000000B2', fCnt: 6, decoded: { from: 'vineyard' } }));
    expect(b.status).toBe(200);

    // the orchard device and its bucket hold orchard data only
    const device = await plugin.request('GET', '/api/devices/sensor-1');
    expect(device.body).toMatchObject({ app_id: 'orchard-app', ids: { network: 'tts', app_id: 'orchard-app', dev_eui: '00000000000000B1' } });
    const orchard = await plugin.request('GET', '/api/buckets/sensor-1/data');
    expect(orchard.body.items.map((r: { data: unknown }) => r.data)).toEqual([{ from: 'orchard' }]);
    // and the vineyard uplink is not lost: stored for a vineyard device, or kept as a dead letter
    const vineyardBuckets = (await plugin.request('GET', '/api/buckets?app_id=vineyard-app')).body.items;
    const vineyardLetters = (await plugin.request('GET', '/api/dead-letters?app_id=vineyard-app')).body.items;
    expect(vineyardBuckets.reduce((n: number, bk: { rows: number }) => n + bk.rows, 0) + vineyardLetters.length).toBe(1);
  });

  it('re-provisions a deleted device on its next uplink', async () => {
    await profile({ uplink: { asset_type: 'v1' } });
    await plugin.webhook(uplinkBody({ fCnt: 1 }));
    expect((await plugin.request('DELETE', `/api/devices/${EUI}`)).status).toBe(204);
    await profile({ uplink: { asset_type: 'v2' } });
    const res = await plugin.webhook(uplinkBody({ fCnt: 2 }));
    expect(res.body).toEqual({ status: 'stored', device_id: EUI });
    const device = await plugin.request('GET', `/api/devices/${EUI}`);
    expect(device.body.asset_type).toBe('v2');
    expect((await plugin.request('GET', '/api/events?category=provisioning')).body.items).toHaveLength(2);
  });
});
