/** Shared builders for the sandbox suites. */
import { readFileSync } from 'node:fs';
import type { FormatterSpec, JsonObject, UplinkCall } from '../../formatters/contract.js';

export function js(script: string, timeoutMs = 100): FormatterSpec {
  return { type: 'javascript', script, timeoutMs };
}

/** Bytes from hex with optional spaces: hex('03 67 01 10'). */
export function hex(text: string): Uint8Array {
  return Uint8Array.from(Buffer.from(text.replace(/\s+/g, ''), 'hex'));
}

export function uplink(bytesHex: string, fPort = 1, extra: Partial<UplinkCall> = {}): UplinkCall {
  return { bytes: hex(bytesHex), fPort, message: {}, ...extra };
}

export function codec(name: string): string {
  return readFileSync(new URL(`./codecs/${name}`, import.meta.url), 'utf8');
}

export function fixture(name: string): JsonObject {
  return JSON.parse(readFileSync(new URL(`../fixtures/tts/${name}`, import.meta.url), 'utf8')) as JsonObject;
}
