import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, PluginHarness, TestClock } from '../helpers/plugin-harness.js';
import { DEVICE, deviceWithDownlinks, ttsDownlinkEvent } from '../helpers/downlink-setup.js';
import { TtsPeer } from '../helpers/tts-peer.js';

/** IoTDA's own CreateMessage example request body (reference B.1). */
const IOTDA_EXAMPLE = {
  message_id: '8b5c2f0e-6a1d-4e43-9c7e-2f4a8d1c0b11',
  name: 'setInterval',
  message: { interval: 300 },
  encoding: 'none',
  payload_format: 'standard',
  ttl: 60,
  properties: {
    correlation_data: 'req-42',
    response_topic: 'resp/42',
    user_properties: [{ prop_key: 'source', prop_value: 'integration' }],
  },
};

const JSON_ENCODER = `function encodeDownlink(input) {
  return { bytes: [input.data.interval >> 8, input.data.interval & 255], fPort: 5 };
}`;

describe('IoTDA-compatible device message API', () => {
  let clock: TestClock;
  let plugin: PluginHarness;
  let tts: TtsPeer;
  const base = `/v5/iot/proj-1/devices/${DEVICE}/messages`;
  const iotda = (method: string, path: string, body?: unknown, token: string | null = ADMIN_TOKEN) =>
    plugin.request(method, path, { token: null, ...(body !== undefined ? { body } : {}), headers: token ? { 'X-Auth-Token': token } : {} });

  beforeEach(async () => {
    clock = new TestClock();
    plugin = await new PluginHarness({ clock }).start();
    tts = await new TtsPeer().start();
    await deviceWithDownlinks(plugin, tts, { formatter: { type: 'javascript', script: JSON_ENCODER } });
  });
  afterEach(async () => {
    await plugin.destroy();
    await tts.stop();
  });

  it('CreateMessage with IoTDA\'s example body answers 201 in IoTDA\'s shape', async () => {
    const res = await iotda('POST', base, IOTDA_EXAMPLE);
    expect(res.status).toBe(201);
    expect(res.body).toEqual({
      message_id: IOTDA_EXAMPLE.message_id,
      result: { status: 'PENDING', created_time: '20250416T120000Z', finished_time: null },
    });
    expect((tts.requests[0].body as { downlinks: unknown[] }).downlinks[0]).toMatchObject({ f_port: 5, frm_payload: Buffer.from([1, 44]).toString('base64') });
  });

  it('ShowDeviceMessage and ListDeviceMessages follow the status to DELIVERED', async () => {
    await iotda('POST', base, IOTDA_EXAMPLE);
    const own = await plugin.request('GET', `/api/devices/${DEVICE}/messages/${IOTDA_EXAMPLE.message_id}`);
    clock.advance(3000);
    await plugin.webhook(ttsDownlinkEvent('downlink_sent', own.body.correlation_id));
    const show = await iotda('GET', `${base}/${IOTDA_EXAMPLE.message_id}`);
    expect(show.status).toBe(200);
    expect(show.body).toEqual({
      message_id: IOTDA_EXAMPLE.message_id,
      name: 'setInterval',
      message: { interval: 300 },
      encoding: 'none',
      payload_format: 'standard',
      topic: null,
      properties: IOTDA_EXAMPLE.properties,
      status: 'DELIVERED',
      created_time: '20250416T120000Z',
      finished_time: '20250416T120003Z',
    });
    const list = await iotda('GET', base);
    expect(list.body).toEqual({ device_id: DEVICE, messages: [show.body] });
  });

  it('answers errors in IoTDA\'s shape', async () => {
    const noToken = await iotda('POST', base, IOTDA_EXAMPLE, null);
    expect(noToken.status).toBe(401);
    expect(noToken.body).toEqual({ error_code: 'APIGW.0301', error_msg: 'missing or wrong X-Auth-Token' });

    const badTtl = await iotda('POST', base, { ...IOTDA_EXAMPLE, ttl: 61 });
    expect(badTtl.status).toBe(400);
    expect(badTtl.body.error_code).toBe('IOTDA.000006');
    expect(Object.keys(badTtl.body).sort()).toEqual(['error_code', 'error_msg']);

    const badJson = await plugin.request('POST', base, { raw: '{"message":', token: null, headers: { 'X-Auth-Token': ADMIN_TOKEN } });
    expect(badJson.status).toBe(400);
    expect(badJson.body.error_code).toBe('IOTDA.000008');

    const unknown = await iotda('POST', '/v5/iot/proj-1/devices/NOPE/messages', IOTDA_EXAMPLE);
    expect(unknown.status).toBe(404);
    expect(unknown.body.error_code).toBe('IOTDA.014000');

    await iotda('POST', base, IOTDA_EXAMPLE);
    const dup = await iotda('POST', base, IOTDA_EXAMPLE);
    expect(dup.status).toBe(409);
    expect(dup.body.error_msg).toContain('already exists');
  });

  it('the admin Bearer token alone does not open the IoTDA path', async () => {
    const res = await plugin.request('GET', base);
    expect(res.status).toBe(401);
  });
});
