import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { fixture } from '../helpers/fixtures.js';
import { PluginHarness, TestClock } from '../helpers/plugin-harness.js';
import { uplinkBody } from '../helpers/tts-bodies.js';

const EUI = '70B3D57ED0051A2B';

/** What an uplink changes on its device: the device, location and metadata properties, last seen, connected. */
describe('device state kept from uplinks', () => {
  let plugin: PluginHarness;
  let clock: TestClock;
  beforeEach(async () => {
    clock = new TestClock(Date.parse('2025-04-16T12:00:00Z'));
    plugin = await new PluginHarness({ clock }).start();
  });
  afterEach(async () => {
    await plugin.destroy();
  });

  const profile = (uplink: Record<string, unknown>) =>
    plugin.request('PUT', '/api/profiles/greenhouse-app', { body: { uplink, formatter: { type: 'none' } } });

  it('updates the device property and last_seen_at with every uplink', async () => {
    await profile({});
    await plugin.webhook(uplinkBody({ fCnt: 10, fPort: 2, receivedAt: '2025-04-16T11:50:00Z' }));
    await plugin.webhook(uplinkBody({ fCnt: 11, fPort: 5, receivedAt: '2025-04-16T11:55:00Z' }));
    const device = await plugin.request('GET', `/api/devices/${EUI}`);
    expect(Date.parse(device.body.last_seen_at)).toBe(Date.parse('2025-04-16T11:55:00Z'));
    expect(device.body.properties.device).toEqual({
      network: 'tts',
      app_id: 'greenhouse-app',
      network_device_id: 'eui-70b3d57ed0051a2b',
      dev_eui: EUI,
      join_eui: '0000000000000000',
      dev_addr: '260B1E42',
      f_port: 5,
      f_cnt: 11,
      last_seen: expect.any(String),
    });
    expect(Date.parse(device.body.properties.device.last_seen)).toBe(Date.parse('2025-04-16T11:55:00Z'));
    const prop = await plugin.request('GET', `/api/devices/${EUI}/properties/device`);
    expect(prop.body).toEqual({ name: 'device', value: device.body.properties.device });
  });

  it('an uplink delivered late (TTS posts webhooks concurrently) does not turn last seen back', async () => {
    await profile({});
    await plugin.webhook(uplinkBody({ fCnt: 11, fPort: 3, receivedAt: '2025-04-16T11:55:00Z' }));
    await plugin.webhook(uplinkBody({ fCnt: 10, fPort: 2, receivedAt: '2025-04-16T11:54:00Z' }));
    const device = await plugin.request('GET', `/api/devices/${EUI}`);
    expect(Date.parse(device.body.last_seen_at)).toBe(Date.parse('2025-04-16T11:55:00Z'));
    expect(device.body.properties.device).toMatchObject({ f_cnt: 11, f_port: 3 });
    expect((await plugin.request('GET', `/api/buckets/${EUI}`)).body.rows).toBe(2);
  });

  it('keeps no location and no metadata by default', async () => {
    await profile({});
    await plugin.webhook(uplinkBody());
    const device = await plugin.request('GET', `/api/devices/${EUI}`);
    expect(Object.keys(device.body.properties).sort()).toEqual(['device', 'downlink']);
  });

  it('keeps the location from uplink_message.locations when update_location is on', async () => {
    await profile({ update_location: true });
    await plugin.webhook(uplinkBody({ fCnt: 1 }));
    const device = await plugin.request('GET', `/api/devices/${EUI}`);
    expect(device.body.properties.location).toEqual({ name: 'user', latitude: 52.3741, longitude: 4.8897, altitude: 5, source: 'SOURCE_REGISTRY' });

    // the device's own GPS fix wins over the registry location
    const body = uplinkBody({ fCnt: 2 });
    body.uplink_message.locations['frm-payload'] = { latitude: 52.1, longitude: 4.2, source: 'SOURCE_GPS' };
    await plugin.webhook(body);
    const after = await plugin.request('GET', `/api/devices/${EUI}/properties/location`);
    expect(after.body.value).toEqual({ name: 'frm-payload', latitude: 52.1, longitude: 4.2, source: 'SOURCE_GPS' });
  });

  it('keeps rx_metadata and settings when save_metadata is on', async () => {
    await profile({ save_metadata: true });
    const body = fixture<Record<string, any>>('tts/uplink_message.json');
    await plugin.webhook(body);
    const prop = await plugin.request('GET', `/api/devices/${EUI}/properties/metadata`);
    expect(prop.status).toBe(200);
    expect(prop.body.value).toEqual({ rx_metadata: body.uplink_message.rx_metadata, settings: body.uplink_message.settings });
  });

  it('connected is true within the connection timeout and false after it', async () => {
    await profile({ connection_timeout_min: 5 });
    await plugin.webhook(uplinkBody({ receivedAt: '2025-04-16T11:58:00Z' }));
    expect((await plugin.request('GET', `/api/devices/${EUI}`)).body.connected).toBe(true);
    clock.advance(3 * 60_000); // 12:03:00, exactly 5 min after
    expect((await plugin.request('GET', `/api/devices/${EUI}`)).body.connected).toBe(true);
    clock.advance(1000); // 12:03:01
    expect((await plugin.request('GET', `/api/devices/${EUI}`)).body.connected).toBe(false);
    const list = await plugin.request('GET', '/api/devices');
    expect(list.body.items[0].connected).toBe(false);

    // a new uplink connects it again
    await plugin.webhook(uplinkBody({ fCnt: 2000, receivedAt: '2025-04-16T12:03:00Z' }));
    expect((await plugin.request('GET', `/api/devices/${EUI}`)).body.connected).toBe(true);
  });

  it('stores the X-Downlink-* headers: the device becomes downlink_ready', async () => {
    await profile({});
    await plugin.webhook(uplinkBody({ fCnt: 1 }));
    expect((await plugin.request('GET', `/api/devices/${EUI}`)).body.downlink_ready).toBe(false);
    await plugin.webhook(uplinkBody({ fCnt: 2 }), {
      headers: {
        'X-Downlink-Apikey': 'NNSXS.STATE.SECRET',
        'X-Downlink-Push': 'https://eu1.cloud.thethings.network/api/v3/as/applications/greenhouse-app/webhooks/bridge/devices/eui-70b3d57ed0051a2b/down/push',
        'X-Downlink-Replace': 'https://eu1.cloud.thethings.network/api/v3/as/applications/greenhouse-app/webhooks/bridge/devices/eui-70b3d57ed0051a2b/down/replace',
      },
    });
    const device = await plugin.request('GET', `/api/devices/${EUI}`);
    expect(device.body.downlink_ready).toBe(true);
  });

  it('ignores incomplete X-Downlink-* headers', async () => {
    await profile({});
    await plugin.webhook(uplinkBody({ fCnt: 1 }), { headers: { 'X-Downlink-Apikey': 'NNSXS.ONLY.KEY' } });
    await plugin.webhook(uplinkBody({ fCnt: 2 }), {
      headers: { 'X-Downlink-Apikey': 'NNSXS.BAD.URL', 'X-Downlink-Push': 'not a url', 'X-Downlink-Replace': 'file:///etc/passwd' },
    });
    expect((await plugin.request('GET', `/api/devices/${EUI}`)).body.downlink_ready).toBe(false);
  });
});
