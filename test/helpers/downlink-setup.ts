import { fixture } from './fixtures.js';
import type { PluginHarness } from './plugin-harness.js';
import type { TtsPeer } from './tts-peer.js';

export const APP = 'greenhouse-app';
export const TTS_DEVICE = 'eui-70b3d57ed0051a2b';
export const DEVICE = '70B3D57ED0051A2B';
export const API_KEY = 'NNSXS.SECRETKEY.DO-NOT-LEAK';

/** Thinger-style downlink: {enabled, frequency, threshold} -> 4 bytes. */
export const THINGER_DOWNLINK = `module.exports.downlink = function (payload) {
  var b = Buffer.alloc(4);
  b.writeUInt8(payload.enabled ? 1 : 0, 0);
  b.writeUInt16BE(payload.frequency, 1);
  b.writeUInt8(payload.threshold, 3);
  return b.toString('base64');
};`;

/** A profile with the Thinger downlink formatter and one device that TTS has sent push URLs for. */
export async function deviceWithDownlinks(
  plugin: PluginHarness,
  tts: TtsPeer,
  settings: Record<string, unknown> = {},
  opts: { withCredentials?: boolean } = {},
): Promise<void> {
  const put = await plugin.request('PUT', `/api/profiles/${APP}`, {
    body: { formatter: { type: 'javascript', script: THINGER_DOWNLINK }, ...settings },
  });
  if (put.status !== 201) throw new Error(`profile: ${put.status} ${put.text}`);
  const res = await plugin.webhook(fixture('tts/uplink_message.json'), {
    ...(opts.withCredentials === false ? {} : { headers: tts.downlinkHeaders(APP, TTS_DEVICE, API_KEY) }),
  });
  if (res.status !== 200) throw new Error(`uplink: ${res.status} ${res.text}`);
}

/** A TTS downlink_* webhook for a correlation id (built from the fixture of that type). */
export function ttsDownlinkEvent(type: 'downlink_queued' | 'downlink_sent' | 'downlink_ack' | 'downlink_nack', correlationId: string) {
  const body = fixture(`tts/${type}.json`) as Record<string, any>;
  body.end_device_ids.device_id = TTS_DEVICE;
  body.end_device_ids.application_ids.application_id = APP;
  body[type].correlation_ids = [correlationId, 'as:downlink:01JRZ7F4Q7B3D5T6C8M2N9K1XY'];
  return body;
}

export function ttsDownlinkFailed(correlationId: string, variant: '' | '.2' = '') {
  const body = fixture(`tts/downlink_failed${variant}.json`) as Record<string, any>;
  body.end_device_ids.device_id = TTS_DEVICE;
  body.end_device_ids.application_ids.application_id = APP;
  body.downlink_failed.downlink.correlation_ids = [correlationId];
  return body;
}
