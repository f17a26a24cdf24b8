import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { fixture } from '../helpers/fixtures.js';
import { PluginHarness } from '../helpers/plugin-harness.js';
import { ECHO_UPLINK, THROWING_UPLINK, expectError, uplinkBody } from '../helpers/tts-bodies.js';

const GREENHOUSE = `module.exports.uplink = function (payload, message) {
  const b = Buffer.from(payload, 'base64');
  console.log('decoding', b.length, 'bytes');
  return { temperature: b.readInt16BE(0) / 100, port: message.uplink_message.f_port };
};
module.exports.downlink = function (payload) {
  return Buffer.from([payload.on ? 1 : 0, payload.level]).toString('base64');
};`;

const BROKEN = 'module.exports.uplink = function (payload) {\n  return {;\n};';

describe('formatter test tool (POST /api/formatters/test)', () => {
  let plugin: PluginHarness;
  beforeEach(async () => {
    plugin = await new PluginHarness().start();
    const put = await plugin.request('PUT', '/api/profiles/greenhouse-app', {
      body: { downlink: { priority: 'HIGH', confirmed: true, f_port: 10 }, formatter: { type: 'javascript', script: GREENHOUSE } },
    });
    expect(put.status).toBe(201);
  });
  afterEach(async () => {
    await plugin.destroy();
  });

  const test = (body: unknown) => plugin.request('POST', '/api/formatters/test', { body });

  /** Everything the tool must leave untouched. */
  async function snapshot() {
    const [devices, buckets, letters, events] = await Promise.all(
      ['/api/devices', '/api/buckets', '/api/dead-letters', '/api/events?limit=1000'].map((p) => plugin.request('GET', p)),
    );
    return { devices: devices.body, buckets: buckets.body, letters: letters.body, events: events.body };
  }

  it('runs the application\'s uplink formatter on a whole TTS uplink body', async () => {
    const res = await test({ app_id: 'greenhouse-app', direction: 'uplink', input: uplinkBody({ bytes: [0x09, 0x29], fPort: 4 }) });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      ok: true,
      output: { temperature: 23.45, port: 4 },
      logs: [{ level: 'log', message: 'decoding 2 bytes' }],
      warnings: [],
      errors: [],
      duration_ms: expect.any(Number),
      normalized: null,
      normalized_warnings: [],
    });
  });

  it('takes the short input forms {frm_payload, f_port} and {bytes, f_port}', async () => {
    const a = await test({ app_id: 'greenhouse-app', direction: 'uplink', input: { frm_payload: 'CSk=', f_port: 3 } });
    expect(a.body).toMatchObject({ ok: true, output: { temperature: 23.45, port: 3 } });
    const b = await test({ app_id: 'greenhouse-app', direction: 'uplink', input: { bytes: [0xff, 0x38], f_port: 9 } });
    expect(b.body).toMatchObject({ ok: true, output: { temperature: -2, port: 9 } });
  });

  it('runs an inline formatter instead of the stored one, of any type', async () => {
    const inline = await test({ app_id: 'greenhouse-app', direction: 'uplink', formatter: { type: 'javascript', script: ECHO_UPLINK }, input: { bytes: [1, 2], f_port: 5 } });
    expect(inline.body).toMatchObject({ ok: true, output: { bytes: [1, 2], port: 5 } });

    const lppBody = fixture<Record<string, any>>('tts/uplink_message.2.json');
    delete lppBody.uplink_message.decoded_payload;
    const lpp = await test({ direction: 'uplink', formatter: { type: 'cayennelpp' }, input: lppBody });
    expect(lpp.body).toMatchObject({ ok: true, output: { temperature_3: 27.2, temperature_5: 25.5 }, errors: [] });

    const none = await test({ direction: 'uplink', formatter: { type: 'none' }, input: fixture('tts/uplink_message.json') });
    expect(none.body.output).toEqual({ temperature: 23.1, humidity: 40.2, battery_mv: 4112 });
    const raw = await test({ direction: 'uplink', formatter: { type: 'none' }, input: { frm_payload: 'AOcBkgQQ', f_port: 2 } });
    expect(raw.body.output).toEqual({ frm_payload: 'AOcBkgQQ', f_port: 2 });
  });

  it('uses the Default profile without app_id', async () => {
    await plugin.request('PUT', '/api/profiles/default', { body: { formatter: { type: 'javascript', script: ECHO_UPLINK } } });
    const res = await test({ direction: 'uplink', input: { bytes: [7], f_port: 1 } });
    expect(res.body).toMatchObject({ ok: true, output: { bytes: [7], port: 1 } });
    const unknown = await test({ app_id: 'orchard-app', direction: 'uplink', input: { bytes: [8], f_port: 1 } });
    expect(unknown.body).toMatchObject({ ok: true, output: { bytes: [8], port: 1 } });
  });

  it('runs a downlink and shows the TTS request it would push, with the profile\'s options', async () => {
    const res = await test({ app_id: 'greenhouse-app', direction: 'downlink', input: { on: true, level: 7 } });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ ok: true, errors: [], output: { frmPayload: 'AQc=' } });
    expect(res.body.network).toBe('tts');
    expect(res.body.request).toEqual({
      downlinks: [
        { f_port: 10, frm_payload: 'AQc=', priority: 'HIGH', confirmed: true, correlation_ids: [expect.stringMatching(/^lorawan-bridge:msg:/)] },
      ],
    });
    const port = await test({ app_id: 'greenhouse-app', direction: 'downlink', f_port: 42, input: { on: false, level: 1 } });
    expect(port.body.request.downlinks[0]).toMatchObject({ f_port: 42, frm_payload: 'AAE=' });
    const decoded = await test({ app_id: 'greenhouse-app', direction: 'downlink', formatter: { type: 'none' }, input: { command: 'reboot' } });
    expect(decoded.body.request.downlinks[0]).toMatchObject({ f_port: 10, decoded_payload: { command: 'reboot' } });
  });

  it('reports formatter errors with kind and line, as a 200 answer with ok false', async () => {
    const syntax = await test({ direction: 'uplink', formatter: { type: 'javascript', script: BROKEN }, input: { bytes: [1], f_port: 1 } });
    expect(syntax.status).toBe(200);
    expect(syntax.body).toMatchObject({ ok: false, output: null, errors: [{ kind: 'syntax', line: 2, column: expect.any(Number), message: expect.any(String) }] });
    const runtime = await test({ direction: 'uplink', formatter: { type: 'javascript', script: THROWING_UPLINK }, input: { bytes: [1], f_port: 1 } });
    expect(runtime.body).toMatchObject({ ok: false, output: null, errors: [{ kind: 'runtime', line: 2, message: expect.stringContaining('sensor offline') }] });
    const timeout = await test({ direction: 'uplink', formatter: { type: 'javascript', script: 'module.exports.uplink = () => { while (true) {} };', timeout_ms: 20 }, input: { bytes: [], f_port: 1 } });
    expect(timeout.body).toMatchObject({ ok: false, errors: [{ kind: 'timeout' }] });
    const contract = await test({ direction: 'downlink', formatter: { type: 'javascript', script: 'module.exports.downlink = () => 42;' }, input: {} });
    expect(contract.body).toMatchObject({ ok: false, errors: [{ kind: 'contract' }] });
    expect(contract.body.request).toBeUndefined();
  });

  it('stores nothing: no device, bucket, data, dead letter or event, even for failing formatters', async () => {
    const before = await snapshot();
    await test({ app_id: 'greenhouse-app', direction: 'uplink', input: uplinkBody({ bytes: [1, 2] }) });
    await test({ app_id: 'greenhouse-app', direction: 'uplink', formatter: { type: 'javascript', script: THROWING_UPLINK }, input: uplinkBody() });
    await test({ app_id: 'greenhouse-app', direction: 'downlink', input: { on: true, level: 1 } });
    await test({ direction: 'uplink', input: { frm_payload: 'AQ==', f_port: 1 } });
    expect(await snapshot()).toEqual(before);
    expect(before.devices.items).toEqual([]);
    // and a real webhook afterwards provisions as usual (no leftovers from the test runs)
    const real = await plugin.webhook(uplinkBody({ bytes: [0x09, 0x29] }));
    expect(real.body).toEqual({ status: 'stored', device_id: '70B3D57ED0051A2B' });
  });

  it.each([
    ['no direction', { input: { bytes: [1], f_port: 1 } }, 'invalid_body'],
    ['an unknown direction', { direction: 'sideways', input: {} }, 'invalid_body'],
    ['an unknown field', { direction: 'uplink', input: { bytes: [1], f_port: 1 }, extra: 1 }, 'invalid_body'],
    ['an unknown formatter type', { direction: 'uplink', formatter: { type: 'lua' }, input: { bytes: [1], f_port: 1 } }, 'invalid_body'],
    ['timeout_ms 6000', { direction: 'uplink', formatter: { type: 'none', timeout_ms: 6000 }, input: { bytes: [1], f_port: 1 } }, 'invalid_body'],
    ['f_port 224', { direction: 'downlink', f_port: 224, input: {} }, 'invalid_body'],
    ['an uplink input that is not an object', { direction: 'uplink', input: 'AQID' }, 'invalid_input'],
    ['an uplink input of null', { direction: 'uplink', input: null }, 'invalid_input'],
    ['a short input without f_port', { direction: 'uplink', input: { frm_payload: 'AQ==' } }, 'invalid_input'],
    ['a non-base64 frm_payload', { direction: 'uplink', input: { frm_payload: '%%%', f_port: 1 } }, 'invalid_input'],
    ['a byte over 255', { direction: 'uplink', input: { bytes: [256], f_port: 1 } }, 'invalid_input'],
    ['a TTS body with f_port 300', { direction: 'uplink', input: { uplink_message: { f_port: 300, frm_payload: 'AQ==' } } }, 'invalid_input'],
  ])('refuses %s with 400', async (_name, body, code) => {
    const res = await test(body);
    expectError(res, 400, code);
  });

  it('refuses a body that is not JSON with 400', async () => {
    expectError(await plugin.request('POST', '/api/formatters/test', { raw: '{"direction":' }), 400, 'invalid_json');
  });

  it('lists the templates, each of which passes the profile check', async () => {
    const res = await plugin.request('GET', '/api/formatters/templates');
    expect(res.status).toBe(200);
    expect(res.body.items.length).toBeGreaterThan(0);
    for (const t of res.body.items as { id: string; type: string; script: string }[]) {
      const put = await plugin.request('PUT', '/api/profiles/template-app', { body: { formatter: { type: t.type, script: t.script } } });
      expect(put.status, t.id).toBeLessThan(300);
    }
  });
});
