import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PluginHarness } from '../helpers/plugin-harness.js';
import { expectError, uplinkBody } from '../helpers/tts-bodies.js';

type Body = Record<string, any>;

describe('webhook body validation', () => {
  let plugin: PluginHarness;
  let token: string;
  beforeEach(async () => {
    plugin = await new PluginHarness().start();
    await plugin.request('PUT', '/api/profiles/greenhouse-app', { body: { formatter: { type: 'none' } } });
    token = await plugin.webhookToken('greenhouse-app');
  });
  afterEach(async () => {
    await plugin.destroy();
  });

  async function expectNothingStored(): Promise<void> {
    expect((await plugin.request('GET', '/api/devices')).body.items).toEqual([]);
    expect((await plugin.request('GET', '/api/buckets')).body.items).toEqual([]);
    expect((await plugin.request('GET', '/api/dead-letters')).body.items).toEqual([]);
    const events = await plugin.request('GET', '/api/events?limit=1000');
    expect(events.body.items.filter((e: { category: string }) => ['uplink', 'formatter', 'provisioning', 'webhook'].includes(e.category))).toEqual([]);
  }

  it('refuses a body that is not JSON with 400 invalid_json', async () => {
    const raw = JSON.stringify(uplinkBody()).slice(0, 200);
    const res = await plugin.request('POST', '/tts/webhook', { raw, token });
    expectError(res, 400, 'invalid_json');
    await expectNothingStored();
  });

  it.each([
    ['a JSON array', '[{"end_device_ids": {}}]'],
    ['a JSON string', '"uplink"'],
    ['JSON null', 'null'],
    ['a JSON number', '42'],
  ])('refuses %s with 400 invalid_webhook', async (_name, raw) => {
    const res = await plugin.request('POST', '/uplink', { raw, token });
    expectError(res, 400, 'invalid_webhook');
    await expectNothingStored();
  });

  it.each<[string, (b: Body) => void, string | RegExp]>([
    ['f_port 300', (b) => (b.uplink_message.f_port = 300), '/uplink_message/f_port'],
    ['f_port -1', (b) => (b.uplink_message.f_port = -1), '/uplink_message/f_port'],
    ['f_port as a string', (b) => (b.uplink_message.f_port = '2'), '/uplink_message/f_port'],
    ['non-base64 frm_payload', (b) => (b.uplink_message.frm_payload = 'not base64!'), '/uplink_message/frm_payload'],
    ['f_cnt negative', (b) => (b.uplink_message.f_cnt = -1), '/uplink_message/f_cnt'],
    ['f_cnt fractional', (b) => (b.uplink_message.f_cnt = 1.5), '/uplink_message/f_cnt'],
    ['received_at not a date', (b) => (b.uplink_message.received_at = 'yesterday'), '/uplink_message/received_at'],
    ['decoded_payload an array', (b) => (b.uplink_message.decoded_payload = [1, 2]), '/uplink_message/decoded_payload'],
    ['rx_metadata an object', (b) => (b.uplink_message.rx_metadata = { rssi: -80 }), '/uplink_message/rx_metadata'],
    ['location latitude 91', (b) => (b.uplink_message.locations.user.latitude = 91), '/uplink_message/locations/user/latitude'],
    ['uplink_message a string', (b) => (b.uplink_message = 'AOcBkgQQ'), '/uplink_message'],
    ['bad dev_eui (not hex)', (b) => (b.end_device_ids.dev_eui = '70B3D57ED0051AZZ'), '/end_device_ids/dev_eui'],
    ['bad dev_eui (15 digits)', (b) => (b.end_device_ids.dev_eui = '70B3D57ED0051A2'), '/end_device_ids/dev_eui'],
    ['bad join_eui', (b) => (b.end_device_ids.join_eui = 'x'), '/end_device_ids/join_eui'],
    ['bad dev_addr', (b) => (b.end_device_ids.dev_addr = '260B1E4'), '/end_device_ids/dev_addr'],
    ['device_id with uppercase', (b) => (b.end_device_ids.device_id = 'EUI-70B3D57ED0051A2B'), '/end_device_ids/device_id'],
    ['device_id too long', (b) => (b.end_device_ids.device_id = 'd'.repeat(37)), '/end_device_ids/device_id'],
    ['missing device_id', (b) => delete b.end_device_ids.device_id, /device_id/],
    ['missing application_ids', (b) => delete b.end_device_ids.application_ids, /application_ids/],
    ['correlation_ids a string', (b) => (b.correlation_ids = 'gs:uplink:1'), '/correlation_ids'],
  ])('refuses %s with 400 naming the field, storing nothing', async (_name, change, where) => {
    const body = uplinkBody();
    change(body);
    const res = await plugin.request('POST', '/tts/webhook', { body, token: body.end_device_ids.application_ids ? token : await plugin.webhookToken() });
    expectError(res, 400, 'invalid_webhook');
    const errors: { path: string; message: string }[] = res.body.error.details.errors;
    expect(errors.length).toBeGreaterThan(0);
    if (typeof where === 'string') expect(errors.map((e) => e.path)).toContain(where);
    else expect(errors.some((e) => where.test(`${e.path} ${e.message}`))).toBe(true);
    await expectNothingStored();
  });

  it('refuses a body without end_device_ids (Default token) with 400', async () => {
    const body = uplinkBody();
    delete body.end_device_ids;
    const res = await plugin.request('POST', '/tts/webhook', { body, token: await plugin.webhookToken('default') });
    expectError(res, 400, 'invalid_webhook');
    expect(JSON.stringify(res.body.error.details)).toContain('end_device_ids');
    await expectNothingStored();
  });

  it('refuses a body over 1 MiB with 413 and stores nothing', async () => {
    const body = uplinkBody();
    body.uplink_message.attributes = { padding: 'x'.repeat(1024 * 1024 + 10) };
    const res = await plugin.request('POST', '/tts/webhook', { body, token });
    expectError(res, 413, 'payload_too_large');
    await expectNothingStored();
  });

  it('accepts a large body under 1 MiB, and fields TTS may add in later versions', async () => {
    const body = uplinkBody();
    body.uplink_message.attributes = { padding: 'x'.repeat(900 * 1024) };
    body.uplink_message.some_future_field = { nested: true };
    body.some_future_top_level = 1;
    const res = await plugin.request('POST', '/tts/webhook', { body, token });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ status: 'stored', device_id: '70B3D57ED0051A2B' });
  });

  it('accepts a lowercase DevEUI as the same device (ids are upper-cased)', async () => {
    const first = await plugin.request('POST', '/tts/webhook', { body: uplinkBody({ fCnt: 1 }), token });
    const second = await plugin.request('POST', '/tts/webhook', { body: uplinkBody({ fCnt: 2, devEui: '70b3d57ed0051a2b' }), token });
    expect(first.body.device_id).toBe('70B3D57ED0051A2B');
    expect(second.body).toEqual({ status: 'stored', device_id: '70B3D57ED0051A2B' });
    expect((await plugin.request('GET', '/api/devices')).body.items).toHaveLength(1);
  });

  it('a refused webhook does not hurt the next good one', async () => {
    await plugin.request('POST', '/tts/webhook', { raw: '{', token });
    await plugin.request('POST', '/tts/webhook', { body: { ...uplinkBody(), uplink_message: { f_port: 999 } }, token });
    const res = await plugin.request('POST', '/tts/webhook', { body: uplinkBody(), token });
    expect(res.status).toBe(200);
    expect(res.body.status).toBe('stored');
  });
});
