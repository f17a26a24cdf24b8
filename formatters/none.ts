/**
 * The `none` formatter: uplinks pass TTS's own decoding through, downlinks are raw base64 or a
 * decoded_payload object for TTS to encode.
 */
import { bytesToBase64, normalizeBase64 } from './base64.js';
import type { DecodeDownlinkCall, DownlinkCall, DownlinkOutput, JsonObject, UplinkCall } from './contract.js';
import { contractFailure, describeValue, isJsonObject, success, type Outcome } from './outcome.js';

function raw(bytes: Uint8Array, fPort: number): JsonObject {
  return { frm_payload: bytesToBase64(bytes), f_port: fPort };
}

export function noneUplink(call: UplinkCall): Outcome<JsonObject> {
  return success(call.decodedPayload ?? raw(call.bytes, call.fPort));
}

export function noneDownlink(call: DownlinkCall): Outcome<DownlinkOutput> {
  const port = call.fPort === undefined ? {} : { fPort: call.fPort };
  if (typeof call.payload === 'string') {
    const frmPayload = normalizeBase64(call.payload);
    if (frmPayload === undefined) return contractFailure('downlink payload is a string but not base64');
    return success({ ...port, frmPayload });
  }
  if (isJsonObject(call.payload)) return success({ ...port, decodedPayload: call.payload });
  return contractFailure(
    `downlink payload must be a base64 string or a JSON object, got ${describeValue(call.payload)}`,
  );
}

export function noneDecodeDownlink(call: DecodeDownlinkCall): Outcome<JsonObject> {
  return success(raw(call.bytes, call.fPort));
}
