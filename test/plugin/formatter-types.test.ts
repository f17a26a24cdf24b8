import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { fixture } from '../helpers/fixtures.js';
import { PluginHarness } from '../helpers/plugin-harness.js';
import { uplinkBody } from '../helpers/tts-bodies.js';

const EUI = '70B3D57ED0051A2B';
const LPP_EUI = '0004A30B001C0530';

/** Each formatter type through the real webhook -> bucket path. */
describe('formatter types in the uplink pipeline', () => {
  let plugin: PluginHarness;
  beforeEach(async () => {
    plugin = await new PluginHarness().start();
  });
  afterEach(async () => {
    await plugin.destroy();
  });

  const formatter = async (f: Record<string, unknown>) => {
    const res = await plugin.request('PUT', '/api/profiles/greenhouse-app', { body: { formatter: f } });
    expect(res.status).toBeLessThan(300);
  };
  const rows = async (bucket = EUI) => (await plugin.request('GET', `/api/buckets/${bucket}/data?order=asc`)).body.items;

  it('javascript, Thinger style: uplink(payload base64, message)', async () => {
    await formatter({
      type: 'javascript',
      script: `module.exports.uplink = function (payload, message) {
  const b = Buffer.from(payload, 'base64');
  return { celsius: b.readInt16BE(0) / 10, app: message.end_device_ids.application_ids.application_id, simulated: message.simulated === true };
};`,
    });
    const res = await plugin.webhook(uplinkBody({ bytes: [0x00, 0xe7] }));
    expect(res.body).toEqual({ status: 'stored', device_id: EUI });
    expect(await rows()).toEqual([{ ts: '2025-04-16T11:54:13.787Z', data: { celsius: 23.1, app: 'greenhouse-app', simulated: false } }]);
  });

  it('javascript, Thinger style: payload is TTS\'s decoded_payload object when TTS decoded the uplink', async () => {
    await formatter({
      type: 'javascript',
      script: `module.exports.uplink = function (payload, message) {
  if (typeof payload === 'object') return { t: payload.temperature, by: 'tts', raw: message.uplink_message.frm_payload };
  return { by: 'script' };
};`,
    });
    const res = await plugin.webhook(fixture('tts/uplink_message.json'));
    expect(res.body.status).toBe('stored');
    expect(await rows()).toEqual([
      { ts: '2025-04-16T11:54:13.787Z', data: { t: 23.1, by: 'tts', raw: 'AOcBkgQQ' }, normalized: [{ air: { temperature: 23.1, relativeHumidity: 40.2 } }] },
    ]);
  });

  it('javascript, TTS style: decodeUplink({bytes, fPort, recvTime}) -> data, warnings kept on the event', async () => {
    await formatter({
      type: 'javascript',
      script: `function decodeUplink(input) {
  var warnings = input.bytes[2] < 10 ? ['battery low'] : [];
  return {
    data: { temperature: ((input.bytes[0] << 8) | input.bytes[1]) / 100, port: input.fPort, at: input.recvTime.toISOString() },
    warnings: warnings,
  };
}`,
    });
    const res = await plugin.webhook(uplinkBody({ bytes: [0x09, 0x29, 5], fPort: 7 }));
    expect(res.body).toEqual({ status: 'stored', device_id: EUI });
    expect(await rows()).toEqual([
      { ts: '2025-04-16T11:54:13.787Z', data: { temperature: 23.45, port: 7, at: '2025-04-16T11:54:13.787Z' } },
    ]);
    const events = await plugin.request('GET', '/api/events?category=uplink');
    expect(events.body.items[0]).toMatchObject({ severity: 'warning', title: 'Uplink stored', details: { warnings: ['battery low'], f_port: 7 } });
  });

  it('cayennelpp decodes uplink_message.2.json from its bytes', async () => {
    await formatter({ type: 'cayennelpp' });
    const body = fixture<Record<string, any>>('tts/uplink_message.2.json');
    delete body.uplink_message.decoded_payload; // decoded by us, not by TTS
    const res = await plugin.webhook(body);
    expect(res.body).toEqual({ status: 'stored', device_id: LPP_EUI });
    expect(await rows(LPP_EUI)).toEqual([{ ts: '2025-04-17T08:01:01.950Z', data: { temperature_3: 27.2, temperature_5: 25.5 } }]);
  });

  it('none passes TTS\'s decoded_payload through', async () => {
    await formatter({ type: 'none' });
    const res = await plugin.webhook(uplinkBody({ decoded: { temperature: 23.1, nested: { ok: true } } }));
    expect(res.body.status).toBe('stored');
    expect(await rows()).toEqual([{ ts: '2025-04-16T11:54:13.787Z', data: { temperature: 23.1, nested: { ok: true } } }]);
  });

  it('none without decoded_payload stores {frm_payload, f_port}', async () => {
    await formatter({ type: 'none' });
    await plugin.webhook(uplinkBody({ bytes: [0xde, 0xad, 0xbe, 0xef], fPort: 9 }));
    expect(await rows()).toEqual([{ ts: '2025-04-16T11:54:13.787Z', data: { frm_payload: '3q2+7w==', f_port: 9 } }]);
  });

  it('a profile change applies to the next uplink', async () => {
    await formatter({ type: 'javascript', script: 'module.exports.uplink = function () { return { version: 1 }; };' });
    await plugin.webhook(uplinkBody({ fCnt: 1 }));
    await formatter({ type: 'javascript', script: 'module.exports.uplink = function () { return { version: 2 }; };' });
    await plugin.webhook(uplinkBody({ fCnt: 2 }));
    await formatter({ type: 'none' });
    await plugin.webhook(uplinkBody({ fCnt: 3, decoded: { version: 3 } }));
    expect((await rows()).map((r: { data: unknown }) => r.data)).toEqual([{ version: 1 }, { version: 2 }, { version: 3 }]);
  });

  it('each application runs its own formatter', async () => {
    await formatter({ type: 'javascript', script: 'module.exports.uplink = function () { return { from: "greenhouse" }; };' });
    await plugin.request('PUT', '/api/profiles/orchard-app', {
      body: { uplink: { device_id_prefix: 'o-', bucket_id_prefix: 'o-' }, formatter: { type: 'javascript', script: 'module.exports.uplink = function () { return { from: "orchard" }; };' } },
    });
    await plugin.webhook(uplinkBody());
    await plugin.webhook(uplinkBody({ appId: 'orchard-app' }));
    expect((await rows()).map((r: { data: unknown }) => r.data)).toEqual([{ from: 'greenhouse' }]);
    expect((await rows(`o-${EUI}`)).map((r: { data: unknown }) => r.data)).toEqual([{ from: 'orchard' }]);
  });
});
