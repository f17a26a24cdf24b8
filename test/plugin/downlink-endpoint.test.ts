import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { APP, DEVICE, deviceWithDownlinks } from '../helpers/downlink-setup.js';
import { fixture } from '../helpers/fixtures.js';
import { PluginHarness } from '../helpers/plugin-harness.js';
import { TtsPeer } from '../helpers/tts-peer.js';

/** The Thinger-compatible POST /downlink/{device_id}, the downlink property and queue clearing. */
describe('POST /downlink/{device_id}', () => {
  let plugin: PluginHarness;
  let tts: TtsPeer;
  beforeEach(async () => {
    plugin = await new PluginHarness().start();
    tts = await new TtsPeer().start();
  });
  afterEach(async () => {
    await plugin.destroy();
    await tts.stop();
  });

  const pushed = (i = 0) => (tts.requests[i].body as { downlinks: Record<string, unknown>[] }).downlinks[0];

  it('formats the JSON body and answers 202 with the message id', async () => {
    await deviceWithDownlinks(plugin, tts);
    const res = await plugin.request('POST', `/downlink/${DEVICE}`, { body: { enabled: false, frequency: 60, threshold: 3 } });
    expect(res.status).toBe(202);
    expect(res.body).toMatchObject({ status: 'PENDING', detail: 'submitted' });
    expect(typeof res.body.message_id).toBe('string');
    // f_port defaults to the port of the device's last uplink (2 in the fixture)
    expect(pushed()).toMatchObject({ f_port: 2, frm_payload: Buffer.from([0, 0, 60, 3]).toString('base64'), priority: 'LOWEST', confirmed: false });
    expect(tts.requests[0].path).toMatch(/\/down\/push$/);
  });

  it('takes options from the query and from a {payload, ...} envelope, over the profile', async () => {
    await deviceWithDownlinks(plugin, tts, { downlink: { f_port: 10, priority: 'NORMAL' } });
    await plugin.request('POST', `/downlink/${DEVICE}?confirmed=true&priority=HIGH&f_port=20&replace=true`, {
      body: { enabled: true, frequency: 1, threshold: 1 },
    });
    expect(pushed(0)).toMatchObject({ f_port: 20, priority: 'HIGH', confirmed: true });
    expect(tts.requests[0].path).toMatch(/\/down\/replace$/);
    await plugin.request('POST', `/downlink/${DEVICE}`, { body: { payload: { enabled: true, frequency: 1, threshold: 1 }, f_port: 30 } });
    expect(pushed(1)).toMatchObject({ f_port: 30, priority: 'NORMAL' });
  });

  it('with an empty body sends the device downlink property (initial_downlink)', async () => {
    await deviceWithDownlinks(plugin, tts, { uplink: { initial_downlink: { enabled: true, frequency: 900, threshold: 40 } } });
    const res = await plugin.request('POST', `/downlink/${DEVICE}`);
    expect(res.status).toBe(202);
    expect(pushed().frm_payload).toBe(Buffer.from([1, 0x03, 0x84, 40]).toString('base64'));
  });

  it('a PUT of the downlink property stores it and sends it', async () => {
    await deviceWithDownlinks(plugin, tts);
    const value = { enabled: true, frequency: 120, threshold: 9 };
    const res = await plugin.request('PUT', `/api/devices/${DEVICE}/properties/downlink`, { body: value });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ name: 'downlink', value, message: { status: 'PENDING', detail: 'submitted' } });
    expect(pushed().frm_payload).toBe(Buffer.from([1, 0, 120, 9]).toString('base64'));
    const prop = await plugin.request('GET', `/api/devices/${DEVICE}/properties/downlink`);
    expect(prop.body).toEqual({ name: 'downlink', value });
  });

  it('refuses f_port 0 and 224 with 400 and sends nothing', async () => {
    await deviceWithDownlinks(plugin, tts);
    for (const port of [0, 224, 'x']) {
      const res = await plugin.request('POST', `/downlink/${DEVICE}?f_port=${port}`, { body: { enabled: true, frequency: 1, threshold: 1 } });
      expect(res.status).toBe(400);
      expect(res.body.error.code).toBe('invalid_query');
    }
    const env = await plugin.request('POST', `/downlink/${DEVICE}`, { body: { payload: {}, f_port: 224 } });
    expect(env.status).toBe(400);
    expect(tts.requests).toHaveLength(0);
    const list = await plugin.request('GET', `/api/devices/${DEVICE}/messages`);
    expect(list.body.total).toBe(0);
  });

  it('a formatter returning f_port 224 fails with 422', async () => {
    await plugin.request('PUT', `/api/profiles/${APP}`, {
      body: { formatter: { type: 'javascript', script: 'function encodeDownlink(i){ return { bytes: [1], fPort: 224 }; }' } },
    });
    await plugin.webhook(fixture('tts/uplink_message.json'), { headers: tts.downlinkHeaders(APP, 'eui-70b3d57ed0051a2b') });
    const res = await plugin.request('POST', `/downlink/${DEVICE}`, { body: { x: 1 } });
    expect(res.status).toBe(422);
    expect(res.body.error).toMatchObject({ code: 'formatter_error', details: { status: 'FAILED' } });
    expect(res.body.error.message).toContain('224');
    expect(tts.requests).toHaveLength(0);
  });

  it('surfaces TTS 403 as 502 with TTS\'s message, and records an event', async () => {
    await deviceWithDownlinks(plugin, tts);
    tts.respond({ status: 403, body: { code: 7, message: 'error:pkg/auth/rights:no_application_rights (no application rights)' } });
    const res = await plugin.request('POST', `/downlink/${DEVICE}`, { body: { enabled: true, frequency: 1, threshold: 1 } });
    expect(res.status).toBe(502);
    expect(res.body.error.message).toBe('error:pkg/auth/rights:no_application_rights (no application rights)');
    expect(res.body.error.details).toMatchObject({ status: 'FAILED' });
    const events = await plugin.request('GET', `/api/events?device_id=${DEVICE}&severity=error`);
    expect(events.body.items[0].title).toContain('no application rights');
  });

  it('TTS 429/500 answer 202 PENDING with the retry scheduled', async () => {
    await deviceWithDownlinks(plugin, tts);
    tts.respond({ status: 500 });
    const res = await plugin.request('POST', `/downlink/${DEVICE}`, { body: { enabled: true, frequency: 1, threshold: 1 } });
    expect(res.status).toBe(202);
    expect(res.body).toMatchObject({ status: 'PENDING', detail: 'retrying', error: { code: 'tts_http_500' } });
    expect(res.body.next_attempt_time).toMatch(/^\d{8}T\d{6}Z$/);
  });

  it('unknown device: 404', async () => {
    const res = await plugin.request('POST', '/downlink/NOPE', { body: { a: 1 } });
    expect(res.status).toBe(404);
    expect(res.body.error.code).toBe('not_found');
  });

  it('requires the admin token', async () => {
    const res = await plugin.request('POST', `/downlink/${DEVICE}`, { body: {}, token: null });
    expect(res.status).toBe(401);
    expect(res.body.error.code).toBe('unauthorized');
  });

  it('clear empties the TTS queue through the replace URL', async () => {
    await deviceWithDownlinks(plugin, tts);
    const res = await plugin.request('POST', `/downlink/${DEVICE}/clear`);
    expect(res.status).toBe(200);
    expect(tts.requests[0].path).toMatch(/\/down\/replace$/);
    expect(tts.requests[0].body).toEqual({ downlinks: [] });
  });

  it('clear before TTS sent the URLs: 409', async () => {
    await deviceWithDownlinks(plugin, tts, {}, { withCredentials: false });
    const res = await plugin.request('POST', `/downlink/${DEVICE}/clear`);
    expect(res.status).toBe(409);
    expect(res.body.error.code).toBe('no_downlink_url');
  });
});
