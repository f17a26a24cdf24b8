/**
 * Cayenne LPP, decoded and encoded on the host with The Things Stack's key naming
 * (`<type name>_<channel>`, e.g. `temperature_3`). No sandbox: the format is fixed.
 *
 * Values are raw integers divided by a power of ten (or 2). Division of an integer by the scale
 * rounds to the double nearest the exact decimal, which is exactly what the decimal literal parses
 * to, so 272 / 10 gives 27.2 with no float artefacts (multiplying by 0.1 would not).
 */
import { bytesToBase64 } from './base64.js';
import type { DecodeDownlinkCall, DownlinkCall, DownlinkOutput, JsonObject, UplinkCall } from './contract.js';
import { contractFailure, describeValue, isJsonObject, success, type Outcome } from './outcome.js';

export class CayenneLppError extends Error {
  override readonly name = 'CayenneLppError';
}

interface LppType {
  name: string;
  size: number;
  read(view: DataView, offset: number): number | JsonObject;
}

const int24 = (view: DataView, offset: number): number =>
  ((view.getUint8(offset) << 24) | (view.getUint8(offset + 1) << 16) | (view.getUint8(offset + 2) << 8)) >> 8;

const xyz = (scale: number) => (view: DataView, offset: number): JsonObject => ({
  x: view.getInt16(offset) / scale,
  y: view.getInt16(offset + 2) / scale,
  z: view.getInt16(offset + 4) / scale,
});

/** Cayenne LPP data types by type id; all multi-byte values are big-endian. */
const TYPES: ReadonlyMap<number, LppType> = new Map([
  [0, { name: 'digital_in', size: 1, read: (v, o) => v.getUint8(o) }],
  [1, { name: 'digital_out', size: 1, read: (v, o) => v.getUint8(o) }],
  [2, { name: 'analog_in', size: 2, read: (v, o) => v.getInt16(o) / 100 }],
  [3, { name: 'analog_out', size: 2, read: (v, o) => v.getInt16(o) / 100 }],
  [101, { name: 'luminosity', size: 2, read: (v, o) => v.getUint16(o) }],
  [102, { name: 'presence', size: 1, read: (v, o) => v.getUint8(o) }],
  [103, { name: 'temperature', size: 2, read: (v, o) => v.getInt16(o) / 10 }],
  [104, { name: 'relative_humidity', size: 1, read: (v, o) => v.getUint8(o) / 2 }],
  [113, { name: 'accelerometer', size: 6, read: xyz(1000) }],
  [115, { name: 'barometric_pressure', size: 2, read: (v, o) => v.getUint16(o) / 10 }],
  [134, { name: 'gyrometer', size: 6, read: xyz(100) }],
  [
    136,
    {
      name: 'gps',
      size: 9,
      read: (v, o) => ({ latitude: int24(v, o) / 10000, longitude: int24(v, o + 3) / 10000, altitude: int24(v, o + 6) / 100 }),
    },
  ],
]);

function viewOf(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** Decodes an uplink: a sequence of [channel, type, value...]. Throws CayenneLppError. */
export function decodeCayenneLpp(bytes: Uint8Array): JsonObject {
  const view = viewOf(bytes);
  const out: JsonObject = {};
  let offset = 0;
  while (offset < bytes.length) {
    if (offset + 2 > bytes.length) throw new CayenneLppError(`truncated Cayenne LPP data at byte ${offset}`);
    const channel = bytes[offset];
    const typeId = bytes[offset + 1];
    const type = TYPES.get(typeId);
    if (!type) throw new CayenneLppError(`unknown Cayenne LPP type ${typeId} at byte ${offset + 1}`);
    offset += 2;
    if (offset + type.size > bytes.length) {
      throw new CayenneLppError(`truncated Cayenne LPP ${type.name} on channel ${channel}`);
    }
    out[`${type.name}_${channel}`] = type.read(view, offset);
    offset += type.size;
  }
  return out;
}

const VALUE_KEY = /^value_(\d{1,3})$/;

/**
 * Encodes a downlink: every `value_N` key with a number becomes [N, int16(value * 100)]; other keys
 * are ignored and reported. Throws CayenneLppError when a value does not fit in an int16.
 */
export function encodeCayenneDownlink(payload: JsonObject): { bytes: Uint8Array; ignoredKeys: string[] } {
  const bytes: number[] = [];
  const ignoredKeys: string[] = [];
  for (const [key, value] of Object.entries(payload)) {
    const match = VALUE_KEY.exec(key);
    const channel = match ? Number(match[1]) : -1;
    if (channel < 0 || channel > 255 || typeof value !== 'number') {
      ignoredKeys.push(key);
      continue;
    }
    const raw = Math.round(value * 100);
    if (raw < -32768 || raw > 32767) throw new CayenneLppError(`${key} = ${value} does not fit Cayenne LPP (-327.68..327.67)`);
    bytes.push(channel, (raw >> 8) & 0xff, raw & 0xff);
  }
  return { bytes: Uint8Array.from(bytes), ignoredKeys };
}

/** Decodes a downlink: [channel, int16 / 100]... up to the end or a 0xFF channel. */
export function decodeCayenneDownlink(bytes: Uint8Array): JsonObject {
  const view = viewOf(bytes);
  const out: JsonObject = {};
  for (let offset = 0; offset < bytes.length && bytes[offset] !== 0xff; offset += 3) {
    if (offset + 3 > bytes.length) throw new CayenneLppError(`truncated Cayenne LPP downlink at byte ${offset}`);
    out[`value_${bytes[offset]}`] = view.getInt16(offset + 1) / 100;
  }
  return out;
}

function guarded<T>(step: () => Outcome<T>): Outcome<T> {
  try {
    return step();
  } catch (err) {
    if (err instanceof CayenneLppError) return contractFailure(err.message);
    throw err;
  }
}

export function cayenneUplink(call: UplinkCall): Outcome<JsonObject> {
  return guarded(() => success(decodeCayenneLpp(call.bytes)));
}

export function cayenneDownlink(call: DownlinkCall): Outcome<DownlinkOutput> {
  if (!isJsonObject(call.payload)) {
    return contractFailure(`Cayenne LPP downlink payload must be a JSON object, got ${describeValue(call.payload)}`);
  }
  const payload = call.payload;
  return guarded(() => {
    const { bytes, ignoredKeys } = encodeCayenneDownlink(payload);
    const warnings = ignoredKeys.length > 0 ? [`ignored keys (not value_N with a number): ${ignoredKeys.join(', ')}`] : [];
    const port = call.fPort === undefined ? {} : { fPort: call.fPort };
    return success({ ...port, frmPayload: bytesToBase64(bytes) }, warnings);
  });
}

export function cayenneDecodeDownlink(call: DecodeDownlinkCall): Outcome<JsonObject> {
  return guarded(() => success(decodeCayenneDownlink(call.bytes)));
}
