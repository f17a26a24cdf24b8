import type { ThingparkSettings } from '../../api/types.js';
import { problemOf, type JsonSchema } from '../../schema/json-schema.js';

/** The ThingPark connection's fields, in the order a person fills them in (ThingPark shows the AS ID and key together). */
export const THINGPARK_FIELDS = ['as_id', 'as_key', 'downlink_url', 'max_clock_skew_s'] as const satisfies readonly (keyof ThingparkSettings)[];
export type ThingparkField = (typeof THINGPARK_FIELDS)[number];

const TITLES: Record<ThingparkField, string> = {
  as_id: 'AS ID',
  as_key: 'Tunnel key (AS key)',
  downlink_url: 'LRC downlink URL',
  max_clock_skew_s: 'Max clock skew (seconds)',
};

/**
 * A field's schema from the settings schema in /manifest.json, with a title, and for the write-only
 * key a description that fits the form: a new connection needs it, a stored one is kept unless replaced.
 */
export function thingparkFieldSchema(tpSchema: JsonSchema, key: ThingparkField, mode: 'new' | 'edit'): JsonSchema {
  const schema: JsonSchema = { ...(tpSchema.properties?.[key] ?? {}), title: TITLES[key] };
  if (key === 'as_key') {
    schema.description =
      mode === 'new'
        ? 'The Tunnel Interface Authentication Key ThingPark shows when you turn on tunnel interface authentication (32 hex characters). Stored write-only: no screen or API shows it again.'
        : 'Write-only: the stored key is never shown. Leave this empty to keep it; enter the new key from ThingPark (32 hex characters) to replace it.';
  }
  if (key === 'max_clock_skew_s') {
    schema.description = 'How far a report’s Time may be from now; 0 turns the check off (for replaying recorded traffic).';
  }
  return schema;
}

/**
 * Client-side problems of a ThingPark connection by JSON pointer (`/thingpark/as_id`): the
 * schema's constraints, plus the required fields empty ("is required" reads better than a
 * pattern). The key is required for a new connection; when editing, empty keeps the stored one.
 */
export function thingparkProblems(tpSchema: JsonSchema, value: Partial<Record<ThingparkField, unknown>>, opts: { keyRequired: boolean }): Record<string, string> {
  const required = new Set<string>([...(tpSchema.required ?? []), ...(opts.keyRequired ? ['as_key'] : [])]);
  const out: Record<string, string> = {};
  for (const key of THINGPARK_FIELDS) {
    const v = value[key];
    const empty = v === undefined || v === null || (typeof v === 'string' && v.trim() === '');
    if (empty) {
      if (required.has(key)) out[`/thingpark/${key}`] = 'is required';
      continue;
    }
    const problem = problemOf(tpSchema.properties?.[key] ?? {}, v);
    if (problem) out[`/thingpark/${key}`] = key === 'as_key' && typeof v === 'string' ? 'must be 32 hex characters (0–9, a–f)' : problem;
  }
  return out;
}

/** A key never holds whitespace: what a paste brings along (a trailing newline, spaces between groups) goes. */
export const keyInput = (v: unknown): unknown => (typeof v === 'string' ? v.replace(/\s+/g, '') : v);
