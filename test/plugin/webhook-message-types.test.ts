import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { fixture } from '../helpers/fixtures.js';
import { PluginHarness } from '../helpers/plugin-harness.js';
import { TtsPeer } from '../helpers/tts-peer.js';
import { messageBody, uplinkBody } from '../helpers/tts-bodies.js';

const DEVICE = '70B3D57ED0051A2B';

/** Every non-uplink fixture: its type, the event category, severity and title it becomes. */
const RECORDED: [string, string, string, string, string][] = [
  ['join_accept.json', 'join_accept', 'webhook', 'info', 'Device joined'],
  ['downlink_queued.json', 'downlink_queued', 'downlink', 'info', 'TTS: downlink queued'],
  ['downlink_queued.2.json', 'downlink_queued', 'downlink', 'info', 'TTS: downlink queued'],
  ['downlink_sent.json', 'downlink_sent', 'downlink', 'info', 'TTS: downlink sent'],
  ['downlink_ack.json', 'downlink_ack', 'downlink', 'info', 'TTS: downlink acknowledged'],
  ['downlink_nack.json', 'downlink_nack', 'downlink', 'warning', 'TTS: downlink not acknowledged'],
  ['downlink_failed.json', 'downlink_failed', 'downlink', 'error', 'TTS: downlink failed'],
  ['downlink_failed.2.json', 'downlink_failed', 'downlink', 'error', 'TTS: downlink failed'],
  ['downlink_queue_invalidated.json', 'downlink_queue_invalidated', 'downlink', 'info', 'TTS: downlink queue invalidated'],
  ['location_solved.json', 'location_solved', 'webhook', 'info', 'Location solved'],
  ['location_solved.2.json', 'location_solved', 'webhook', 'info', 'Location solved'],
  ['service_data.json', 'service_data', 'webhook', 'info', 'Service data received'],
];

describe('webhook message types', () => {
  let plugin: PluginHarness;
  let tts: TtsPeer;
  beforeEach(async () => {
    plugin = await new PluginHarness().start();
    tts = await new TtsPeer().start();
    await plugin.request('PUT', '/api/profiles/greenhouse-app', { body: { formatter: { type: 'none' } } });
  });
  afterEach(async () => {
    await plugin.destroy();
    await tts.stop();
  });

  it('stores both uplink_message fixtures', async () => {
    const one = await plugin.webhook(fixture('tts/uplink_message.json'));
    expect(one.status).toBe(200);
    expect(one.body).toEqual({ status: 'stored', device_id: DEVICE });
    const two = await plugin.webhook(fixture('tts/uplink_message.2.json'));
    expect(two.status).toBe(200);
    expect(two.body).toEqual({ status: 'stored', device_id: '0004A30B001C0530' });
    expect((await plugin.request('GET', `/api/buckets/${DEVICE}/data`)).body.items).toEqual([
      {
        ts: '2025-04-16T11:54:13.787Z',
        data: { temperature: 23.1, humidity: 40.2, battery_mv: 4112 },
        normalized: [{ air: { temperature: 23.1, relativeHumidity: 40.2 } }],
      },
    ]);
    expect((await plugin.request('GET', '/api/buckets/0004A30B001C0530/data')).body.items).toEqual([
      { ts: '2025-04-17T08:01:01.950Z', data: { temperature_3: 27.2, temperature_5: 25.5 } },
    ]);
  });

  it('stores uplink_normalized.json as a measurement of the device (provisioning it), the measurement as data', async () => {
    const res = await plugin.webhook(fixture('tts/uplink_normalized.json'));
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ status: 'stored', device_id: DEVICE });
    const measurement = { air: { temperature: 23.1, relativeHumidity: 40.2 } };
    expect((await plugin.request('GET', `/api/buckets/${DEVICE}/data`)).body.items).toEqual([
      { ts: '2025-04-16T11:54:13.787Z', data: measurement, normalized: [measurement] },
    ]);
  });

  it.each(RECORDED)('records %s as an event on the device', async (name, type, category, severity, title) => {
    expect((await plugin.webhook(uplinkBody())).status).toBe(200);
    const body = fixture<Record<string, unknown>>(`tts/${name}`);
    const res = await plugin.webhook(body);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ status: 'recorded', type, device_id: DEVICE });

    const events = await plugin.request('GET', `/api/events?device_id=${DEVICE}&category=${category}`);
    expect(events.body.items[0]).toEqual({
      id: expect.any(Number),
      ts: expect.any(String),
      app_id: 'greenhouse-app',
      device_id: DEVICE,
      category,
      severity,
      title,
      details: { type, payload: body[type] },
    });
    // recorded, not stored as data
    expect((await plugin.request('GET', `/api/buckets/${DEVICE}/data`)).body.items).toHaveLength(1);
  });

  it('dispatches on the body, whatever the path says', async () => {
    const res = await plugin.webhook(fixture('tts/join_accept.json'), { path: '/tts/webhook/uplink-message' });
    expect(res.body).toEqual({ status: 'recorded', type: 'join_accept', device_id: DEVICE });
    const up = await plugin.webhook(uplinkBody(), { path: '/tts/webhook/service-data' });
    expect(up.body).toEqual({ status: 'stored', device_id: DEVICE });
  });

  it('names the device of other message types with the profile\'s prefix and id source', async () => {
    await plugin.request('PUT', '/api/profiles/greenhouse-app', {
      body: { uplink: { device_id_prefix: 'gh-', device_id_source: 'device_id' }, formatter: { type: 'none' } },
    });
    const res = await plugin.webhook(fixture('tts/join_accept.json'));
    expect(res.body).toEqual({ status: 'recorded', type: 'join_accept', device_id: 'gh-eui-70b3d57ed0051a2b' });
    const events = await plugin.request('GET', '/api/events?device_id=gh-eui-70b3d57ed0051a2b');
    expect(events.body.items.map((e: { title: string }) => e.title)).toContain('Device joined');
  });

  it('location_solved updates the location property when update_location is on', async () => {
    await plugin.request('PUT', '/api/profiles/greenhouse-app', { body: { uplink: { update_location: true }, formatter: { type: 'none' } } });
    await plugin.webhook(uplinkBody());
    await plugin.webhook(fixture('tts/location_solved.json'));
    let device = await plugin.request('GET', `/api/devices/${DEVICE}`);
    expect(device.body.properties.location).toEqual({
      name: 'frm-payload',
      latitude: 52.3655,
      longitude: 4.8885,
      altitude: 21,
      accuracy: 2,
      source: 'SOURCE_GPS',
    });
    await plugin.webhook(fixture('tts/location_solved.2.json'));
    device = await plugin.request('GET', `/api/devices/${DEVICE}`);
    expect(device.body.properties.location).toEqual({
      name: 'lora-cloud-geolocation-v3',
      latitude: 52.36541,
      longitude: 4.88872,
      accuracy: 120,
      source: 'SOURCE_LORA_RSSI_GEOLOCATION',
    });
    const prop = await plugin.request('GET', `/api/devices/${DEVICE}/properties/location`);
    expect(prop.body).toEqual({ name: 'location', value: device.body.properties.location });
  });

  it('location_solved leaves the location alone when update_location is off', async () => {
    await plugin.webhook(uplinkBody());
    const res = await plugin.webhook(fixture('tts/location_solved.json'));
    expect(res.status).toBe(200);
    const device = await plugin.request('GET', `/api/devices/${DEVICE}`);
    expect(device.body.properties.location).toBeUndefined();
    expect((await plugin.request('GET', `/api/devices/${DEVICE}/properties/location`)).status).toBe(404);
  });

  it('keeps X-Downlink-* headers sent with other message types for a known device', async () => {
    await plugin.webhook(uplinkBody());
    expect((await plugin.request('GET', `/api/devices/${DEVICE}`)).body.downlink_ready).toBe(false);
    const res = await plugin.webhook(messageBody('join_accept.json'), { headers: tts.downlinkHeaders('greenhouse-app', 'eui-70b3d57ed0051a2b', 'NNSXS.JOIN.SECRET') });
    expect(res.status).toBe(200);
    const device = await plugin.request('GET', `/api/devices/${DEVICE}`);
    expect(device.body.downlink_ready).toBe(true);
    expect(device.text).not.toContain('NNSXS.JOIN.SECRET');
  });

  it('answers 202 and ignores an unknown message type, with an event', async () => {
    const body = { end_device_ids: fixture<Record<string, unknown>>('tts/join_accept.json').end_device_ids, gateway_status: { up: true } };
    const res = await plugin.webhook(body);
    expect(res.status).toBe(202);
    expect(res.body).toEqual({ status: 'ignored', reason: 'unknown_message_type' });
    expect((await plugin.request('GET', '/api/devices')).body.items).toEqual([]);
    const events = await plugin.request('GET', '/api/events?category=webhook');
    expect(events.body.items).toHaveLength(1);
    expect(events.body.items[0]).toMatchObject({ app_id: 'greenhouse-app', title: 'Unknown message type ignored', details: { keys: ['end_device_ids', 'gateway_status'] } });
  });

  it('answers 202 and ignores every message of a disabled profile, with an event, but still checks the token', async () => {
    await plugin.request('PUT', '/api/profiles/greenhouse-app', { body: { enabled: false, formatter: { type: 'none' } } });
    const up = await plugin.webhook(uplinkBody());
    expect(up.status).toBe(202);
    expect(up.body).toEqual({ status: 'ignored', reason: 'profile_disabled' });
    const join = await plugin.webhook(fixture('tts/join_accept.json'));
    expect(join.status).toBe(202);
    expect((await plugin.webhook(uplinkBody(), { token: 'wrong-token-0123456789' })).status).toBe(401);

    expect((await plugin.request('GET', '/api/devices')).body.items).toEqual([]);
    expect((await plugin.request('GET', '/api/buckets')).body.items).toEqual([]);
    expect((await plugin.request('GET', '/api/dead-letters')).body.items).toEqual([]);
    const events = await plugin.request('GET', '/api/events?category=webhook');
    expect(events.body.items.map((e: { title: string; details: { type: string } }) => [e.title, e.details.type])).toEqual([
      ["Message ignored: profile 'greenhouse-app' is disabled", 'join_accept'],
      ["Message ignored: profile 'greenhouse-app' is disabled", 'uplink_message'],
    ]);

    // enabling it again takes the same uplink
    await plugin.request('PUT', '/api/profiles/greenhouse-app', { body: { enabled: true, formatter: { type: 'none' } } });
    expect((await plugin.webhook(uplinkBody())).body.status).toBe('stored');
  });
});
