import { expect } from 'vitest';
import { fixture } from './fixtures.js';
import type { JsonResponse } from './plugin-harness.js';

export interface UplinkOptions {
  appId?: string;
  /** TTS device id. */
  deviceId?: string;
  /** DevEUI; null removes it from end_device_ids. */
  devEui?: string | null;
  fCnt?: number;
  fPort?: number;
  /** Raw payload bytes (become frm_payload). */
  bytes?: number[];
  /** TTS decoded_payload; left out unless given. */
  decoded?: Record<string, unknown>;
  /** TTS normalized_payload (and its warnings); left out unless given. */
  normalized?: Record<string, unknown>[];
  normalizedWarnings?: string[];
  receivedAt?: string;
  sessionKeyId?: string;
}

/**
 * A TTS uplink_message webhook body built from the real fixture, with ids and counters changed.
 * decoded_payload and normalized_payload are removed unless given, so the formatter decides the output.
 */
export function uplinkBody(o: UplinkOptions = {}): Record<string, any> {
  const body = fixture<Record<string, any>>('tts/uplink_message.json');
  retarget(body, o);
  const up = body.uplink_message;
  delete up.decoded_payload;
  delete up.normalized_payload;
  delete up.normalized_payload_warnings;
  if (o.decoded) up.decoded_payload = o.decoded;
  if (o.normalized) up.normalized_payload = o.normalized;
  if (o.normalizedWarnings) up.normalized_payload_warnings = o.normalizedWarnings;
  if (o.fCnt !== undefined) up.f_cnt = o.fCnt;
  if (o.fPort !== undefined) up.f_port = o.fPort;
  if (o.bytes) up.frm_payload = Buffer.from(o.bytes).toString('base64');
  if (o.receivedAt) up.received_at = o.receivedAt;
  if (o.sessionKeyId) up.session_key_id = o.sessionKeyId;
  return body;
}

/** Any TTS fixture, moved to another application / device. */
export function messageBody(name: string, o: Pick<UplinkOptions, 'appId' | 'deviceId' | 'devEui'> = {}): Record<string, any> {
  const body = fixture<Record<string, any>>(`tts/${name}`);
  retarget(body, o);
  return body;
}

function retarget(body: Record<string, any>, o: Pick<UplinkOptions, 'appId' | 'deviceId' | 'devEui'>): void {
  const ids = body.end_device_ids;
  if (o.appId) ids.application_ids.application_id = o.appId;
  if (o.deviceId) ids.device_id = o.deviceId;
  if (o.devEui === null) delete ids.dev_eui;
  else if (o.devEui) ids.dev_eui = o.devEui;
}

/** Asserts the plugin's one error shape: {"error": {"code", "message", "details"}}. */
export function expectError(res: JsonResponse, status: number, code?: string): void {
  expect({ status: res.status, body: res.body }).toEqual({
    status,
    body: {
      error: {
        code: code ?? expect.any(String),
        message: expect.any(String),
        details: expect.any(Object),
      },
    },
  });
}

/** A Thinger-style uplink formatter that returns the bytes as a list plus port and counter. */
export const ECHO_UPLINK = `module.exports.uplink = function (payload, message) {
  const b = Buffer.from(payload, 'base64');
  return { bytes: Array.from(b), port: message.uplink_message.f_port, f_cnt: message.uplink_message.f_cnt };
};`;

/** A Thinger-style uplink formatter that throws on line 2. */
export const THROWING_UPLINK = `module.exports.uplink = function (payload) {
  throw new Error('sensor offline: ' + payload);
};`;
