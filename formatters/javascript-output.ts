/**
 * Meaning of what a `javascript` formatter returned, per style. The sandbox hands over plain JSON
 * (already free of NaN, functions, cycles); this applies the Thinger and TTS contracts to it.
 */
import { normalizeBase64 } from './base64.js';
import type { DownlinkOutput, JsonObject } from './contract.js';
import { contractFailure, describeValue, isApplicationPort, isJsonObject, messageList, success, type Outcome } from './outcome.js';

/** thinger: module.exports.uplink/downlink; tts: decodeUplink/encodeDownlink; legacy: Decoder/Encoder. */
export type ScriptStyle = 'thinger' | 'tts' | 'legacy';

function portOf(fPort: number | undefined): { fPort?: number } {
  return fPort === undefined ? {} : { fPort };
}

/** Checks a TTS-style result object and splits off its warnings; fails on non-empty errors. */
export function ttsEnvelope(fn: string, value: unknown, shape: string): Outcome<JsonObject> {
  if (!isJsonObject(value)) return contractFailure(`${fn} must return an object ${shape}, got ${describeValue(value)}`);
  const warnings = messageList(value.warnings);
  if (warnings === undefined) return contractFailure(`${fn} output.warnings must be an array of strings`);
  const errors = messageList(value.errors);
  if (errors === undefined) return contractFailure(`${fn} output.errors must be an array of strings`, warnings);
  if (errors.length > 0) return contractFailure(errors.join(', '), warnings);
  return success(value, warnings);
}

function ttsDecoded(fn: string, value: unknown): Outcome<JsonObject> {
  const envelope = ttsEnvelope(fn, value, '{data, warnings?, errors?}');
  if (!envelope.ok) return envelope;
  const data = envelope.output.data;
  if (!isJsonObject(data)) {
    return contractFailure(`${fn} output.data must be an object, got ${describeValue(data)}`, envelope.warnings);
  }
  return success(data, envelope.warnings);
}

/** Plain array of integers 0..255 to base64, or the reason it is not one. */
function bytesToFrmPayload(where: string, value: unknown): { frmPayload: string } | { problem: string } {
  if (!Array.isArray(value)) return { problem: `${where} must be an array of bytes, got ${describeValue(value)}` };
  for (let i = 0; i < value.length; i++) {
    const byte: unknown = value[i];
    if (typeof byte !== 'number' || !Number.isInteger(byte) || byte < 0 || byte > 255) {
      return { problem: `${where}[${i}] must be an integer 0..255, got ${JSON.stringify(byte) ?? 'undefined'}` };
    }
  }
  return { frmPayload: Buffer.from(value as number[]).toString('base64') };
}

function mustBeObject(fn: string, value: unknown): Outcome<JsonObject> {
  if (isJsonObject(value)) return success(value);
  return contractFailure(`${fn} must return a JSON object, got ${describeValue(value)}`);
}

export function uplinkOutput(style: ScriptStyle, value: unknown): Outcome<JsonObject> {
  switch (style) {
    case 'thinger':
      return mustBeObject('uplink', value);
    case 'tts':
      return ttsDecoded('decodeUplink', value);
    case 'legacy':
      return mustBeObject('Decoder', value);
  }
}

export function decodeDownlinkOutput(value: unknown): Outcome<JsonObject> {
  return ttsDecoded('decodeDownlink', value);
}

export function downlinkOutput(style: ScriptStyle, value: unknown, fPort: number | undefined): Outcome<DownlinkOutput> {
  switch (style) {
    case 'thinger':
      return thingerDownlink(value, fPort);
    case 'tts': {
      const envelope = ttsEnvelope('encodeDownlink', value, '{bytes, fPort?, warnings?, errors?}');
      if (!envelope.ok) return envelope;
      const { bytes, fPort: outPort } = envelope.output;
      let port = fPort;
      if (outPort !== undefined) {
        if (!isApplicationPort(outPort)) {
          return contractFailure(`encodeDownlink output.fPort must be an integer 1..223, got ${JSON.stringify(outPort)}`, envelope.warnings);
        }
        port = outPort;
      }
      const encoded = bytesToFrmPayload('encodeDownlink output.bytes', bytes);
      if ('problem' in encoded) return contractFailure(encoded.problem, envelope.warnings);
      return success({ ...portOf(port), frmPayload: encoded.frmPayload }, envelope.warnings);
    }
    case 'legacy': {
      const encoded = bytesToFrmPayload('Encoder result', value);
      if ('problem' in encoded) return contractFailure(encoded.problem);
      return success({ ...portOf(fPort), frmPayload: encoded.frmPayload });
    }
  }
}

/** A base64 string, `{payload, f_port?}` with a base64 payload, or any other object (decoded_payload). */
function thingerDownlink(value: unknown, fPort: number | undefined): Outcome<DownlinkOutput> {
  if (typeof value === 'string') {
    const frmPayload = normalizeBase64(value);
    if (frmPayload === undefined) return contractFailure('downlink returned a string that is not base64');
    return success({ ...portOf(fPort), frmPayload });
  }
  if (!isJsonObject(value)) {
    return contractFailure(`downlink must return a base64 string or a JSON object, got ${describeValue(value)}`);
  }
  const keys = Object.keys(value);
  const isRaw = typeof value.payload === 'string' && keys.every((key) => key === 'payload' || key === 'f_port');
  if (!isRaw) return success({ ...portOf(fPort), decodedPayload: value });
  const frmPayload = normalizeBase64(value.payload as string);
  if (frmPayload === undefined) return contractFailure('downlink returned {payload} that is not base64');
  let port = fPort;
  if (value.f_port !== undefined) {
    if (!isApplicationPort(value.f_port)) {
      return contractFailure(`downlink returned f_port ${JSON.stringify(value.f_port)}; it must be an integer 1..223`);
    }
    port = value.f_port;
  }
  return success({ ...portOf(port), frmPayload });
}
