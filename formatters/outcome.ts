/**
 * What a formatter step yields before the runtime adds logs and timing to make a RunReport.
 */
import type { FormatterError, JsonObject } from './contract.js';

export type Outcome<T> =
  | { ok: true; output: T; warnings: string[] }
  | { ok: false; error: FormatterError; warnings: string[] };

export function success<T>(output: T, warnings: string[] = []): Outcome<T> {
  return { ok: true, output, warnings };
}

export function failure<T>(error: FormatterError, warnings: string[] = []): Outcome<T> {
  return { ok: false, error, warnings };
}

export function contractFailure<T>(message: string, warnings: string[] = []): Outcome<T> {
  return failure({ kind: 'contract', message }, warnings);
}

/** A JSON object in the contract's sense: not null, not an array. */
export function isJsonObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** "undefined", "null", "an array", "a string"...: for contract messages. */
export function describeValue(value: unknown): string {
  if (value === undefined || value === null) return String(value);
  if (Array.isArray(value)) return 'an array';
  const type = typeof value;
  return type === 'object' ? 'an object' : `a ${type}`;
}

/** A valid LoRaWAN application FPort. */
export function isApplicationPort(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 1 && value <= 223;
}

/** TTS `warnings`/`errors`: absent or an array (undefined when not); non-string items are shown as JSON. */
export function messageList(value: unknown): string[] | undefined {
  if (value === undefined) return [];
  if (!Array.isArray(value)) return undefined;
  return value.map((item) => (typeof item === 'string' ? item : JSON.stringify(item)));
}
