import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The project root (the directory with package.json), from dist/bench or bench/. */
export function projectRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'plugin'))) return dir;
    dir = dirname(dir);
  }
  throw new Error('project root not found above bench/');
}

/** Thinger-style decoder: 4 bytes, int16 BE temperature and uint16 BE humidity, both in 1/100. */
export function thingerScript(variant = 0): string {
  return `module.exports.uplink = function (payload, message) {
  const b = Buffer.from(payload, 'base64');
  return {
    temperature: b.readInt16BE(0) / 100,
    humidity: b.readUInt16BE(2) / 100,
    port: message.uplink_message.f_port,
    variant: ${variant},
  };
};
`;
}

export const WEBHOOK_PATH = '/tts/webhook/uplink-message';
export const SESSION_KEY_ID = 'AZYXq2zOLm1t4Yh3N8Cj6w==';
/** Bench f_cnts start above every pre-populated one, so nothing is a duplicate. */
export const FIRST_BENCH_FCNT = 1_000_000;

/** One simulated end device. The plugin's device id (profile defaults) is the DevEUI. */
export interface BenchDevice {
  index: number;
  appId: string;
  devEui: string;
  ttsDeviceId: string;
}

export function benchDevice(index: number, appId: string): BenchDevice {
  const devEui = `70B3D57ED0${index.toString(16).padStart(6, '0')}`.toUpperCase();
  return { index, appId, devEui, ttsDeviceId: `eui-${devEui.toLowerCase()}` };
}

/** The 4-byte payload a device sends (differs per device, fixed per device). */
export function payloadOf(index: number): string {
  const b = Buffer.alloc(4);
  b.writeInt16BE(1500 + (index % 1500), 0);
  b.writeUInt16BE(3000 + (index % 5000), 2);
  return b.toString('base64');
}

export function downlinkHeaders(d: BenchDevice): Record<string, string> {
  const base = `http://127.0.0.1:9/api/v3/as/applications/${d.appId}/webhooks/lorawan-bridge/devices/${d.ttsDeviceId}/down`;
  return {
    'X-Downlink-Apikey': `NNSXS.BENCH${d.appId.toUpperCase().replace(/[^A-Z0-9]/g, '')}.SECRETSECRETSECRETSECRETSECRETSECRETSECRET`,
    'X-Downlink-Push': `${base}/push`,
    'X-Downlink-Replace': `${base}/replace`,
  };
}

const FCNT_MARK = 987654321;

/**
 * A device's pre-serialised body, split around f_cnt: body = head + fCnt + tail. Built from the
 * real TTS uplink fixture without decoded_payload (the formatter decodes frm_payload).
 */
export interface BodyTemplate {
  head: string;
  tail: string;
  headers: Record<string, string>;
}

let fixtureText: string | null = null;

export function bodyTemplate(d: BenchDevice, webhookToken: string): BodyTemplate {
  fixtureText ??= readFileSync(join(projectRoot(), 'test/fixtures/tts/uplink_message.json'), 'utf8');
  const body = JSON.parse(fixtureText) as {
    end_device_ids: { device_id: string; application_ids: { application_id: string }; dev_eui: string };
    uplink_message: Record<string, unknown>;
  };
  delete body.uplink_message.decoded_payload;
  body.end_device_ids.device_id = d.ttsDeviceId;
  body.end_device_ids.application_ids.application_id = d.appId;
  body.end_device_ids.dev_eui = d.devEui;
  body.uplink_message.frm_payload = payloadOf(d.index);
  body.uplink_message.session_key_id = SESSION_KEY_ID;
  body.uplink_message.f_cnt = FCNT_MARK;
  const json = JSON.stringify(body);
  const mark = `"f_cnt":${FCNT_MARK}`;
  const at = json.indexOf(mark);
  if (at < 0 || json.indexOf(mark, at + 1) >= 0) throw new Error('f_cnt placeholder not found exactly once');
  return {
    head: json.slice(0, at + mark.length - String(FCNT_MARK).length),
    tail: json.slice(at + mark.length),
    headers: {
      'Content-Type': 'application/json',
      Authorization: `Bearer ${webhookToken}`,
      'User-Agent': 'TheThingsStack/3.34.0 (linux/amd64)',
      'X-Tts-Domain': 'eu1.cloud.thethings.network',
      ...downlinkHeaders(d),
    },
  };
}

export function bodyTemplates(devices: BenchDevice[], tokenOf: (appId: string) => string): BodyTemplate[] {
  return devices.map((d) => bodyTemplate(d, tokenOf(d.appId)));
}
