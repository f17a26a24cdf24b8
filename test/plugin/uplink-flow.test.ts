import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { fixture } from '../helpers/fixtures.js';
import { PluginHarness } from '../helpers/plugin-harness.js';
import { TtsPeer } from '../helpers/tts-peer.js';

const THINGER_UPLINK = `module.exports.uplink = function (payload, message) {
  const b = Buffer.from(payload, 'base64');
  return { temperature: b.readInt16BE(0) / 100, humidity: b.readUInt16BE(2) / 100, port: message.uplink_message.f_port };
};`;

describe('uplink flow', () => {
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

  it('provisions a device and bucket and stores the formatter output', async () => {
    const put = await plugin.request('PUT', '/api/profiles/greenhouse-app', {
      body: { uplink: { device_id_prefix: 'gh-' }, formatter: { type: 'javascript', script: THINGER_UPLINK } },
    });
    expect(put.status).toBe(201);
    const body = fixture('tts/uplink_message.json');
    const up = body.uplink_message as Record<string, unknown>;
    delete up.decoded_payload;
    delete up.normalized_payload;
    up.frm_payload = Buffer.from([0x09, 0x29, 0x10, 0x04]).toString('base64'); // 23.45 °C, 41.00 %
    const res = await plugin.webhook(body, { headers: tts.downlinkHeaders('greenhouse-app', 'eui-70b3d57ed0051a2b') });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ status: 'stored', device_id: 'gh-70B3D57ED0051A2B' });

    const device = await plugin.request('GET', '/api/devices/gh-70B3D57ED0051A2B');
    expect(device.status).toBe(200);
    expect(device.body).toMatchObject({
      id: 'gh-70B3D57ED0051A2B',
      app_id: 'greenhouse-app',
      bucket_id: '70B3D57ED0051A2B',
      downlink_ready: true,
      network: 'tts',
      ids: { network: 'tts', app_id: 'greenhouse-app', network_device_id: 'eui-70b3d57ed0051a2b', dev_eui: '70B3D57ED0051A2B' },
      properties: { device: { f_port: 2, f_cnt: 1423 }, downlink: {} },
    });
    expect(JSON.stringify(device.body)).not.toContain('NNSXS');

    const data = await plugin.request('GET', '/api/buckets/70B3D57ED0051A2B/data');
    expect(data.body.items).toEqual([
      { ts: '2025-04-16T11:54:13.787Z', data: { temperature: 23.45, humidity: 41, port: 2 } },
    ]);

    const again = await plugin.webhook(body);
    expect(again.body.status).toBe('duplicate');
    const after = await plugin.request('GET', '/api/buckets/70B3D57ED0051A2B/data');
    expect(after.body.items).toHaveLength(1);
  });
});
