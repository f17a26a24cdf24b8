import type { Json } from '../api/types.js';

/** The subset of JSON Schema that TypeBox emits for the profile settings (read from /manifest.json). */
export interface JsonSchema {
  type?: 'object' | 'string' | 'integer' | 'number' | 'boolean' | 'null' | 'array';
  properties?: Record<string, JsonSchema>;
  required?: string[];
  anyOf?: JsonSchema[];
  const?: Json;
  default?: Json;
  description?: string;
  title?: string;
  minimum?: number;
  maximum?: number;
  minLength?: number;
  maxLength?: number;
  pattern?: string;
  format?: string;
  /** A secret the API takes but never returns (ThingPark's AS key). */
  writeOnly?: boolean;
  patternProperties?: Record<string, JsonSchema>;
}

/** How a settings field is edited, derived from its schema. */
export type Field =
  | { kind: 'boolean' }
  | { kind: 'enum'; options: string[] }
  | { kind: 'integer'; min?: number; max?: number; nullable: boolean }
  | { kind: 'string'; minLength?: number; maxLength?: number; pattern?: string; format?: string; nullable: boolean; secret?: true }
  | { kind: 'object' };

/** `anyOf: [X, {type: null}]` is TypeBox's nullable X. */
function nonNull(schema: JsonSchema): { inner: JsonSchema; nullable: boolean } {
  const alts = schema.anyOf;
  if (alts && alts.length === 2 && alts.some((a) => a.type === 'null')) {
    return { inner: alts.find((a) => a.type !== 'null') ?? {}, nullable: true };
  }
  return { inner: schema, nullable: false };
}

export function fieldOf(schema: JsonSchema): Field {
  if (schema.anyOf && schema.anyOf.every((a) => typeof a.const === 'string')) {
    return { kind: 'enum', options: schema.anyOf.map((a) => String(a.const)) };
  }
  const { inner, nullable } = nonNull(schema);
  switch (inner.type) {
    case 'boolean':
      return { kind: 'boolean' };
    case 'integer':
    case 'number':
      return { kind: 'integer', nullable, ...pick(inner, 'minimum', 'min'), ...pick(inner, 'maximum', 'max') };
    case 'object':
      return { kind: 'object' };
    default:
      return {
        kind: 'string',
        nullable,
        ...pick(inner, 'minLength', 'minLength'),
        ...pick(inner, 'maxLength', 'maxLength'),
        ...pick(inner, 'pattern', 'pattern'),
        ...pick(inner, 'format', 'format'),
        ...(inner.writeOnly ? { secret: true as const } : {}),
      };
  }
}

function pick<K extends keyof JsonSchema, N extends string>(s: JsonSchema, key: K, as: N): Partial<Record<N, NonNullable<JsonSchema[K]>>> {
  const v = s[key];
  return v === undefined ? {} : ({ [as]: v } as Partial<Record<N, NonNullable<JsonSchema[K]>>>);
}

const WORDS: Record<string, string> = { id: 'ID', url: 'URL', ms: '(ms)', min: '(minutes)', s: '(seconds)', tts: 'TTS', as: 'AS' };

/** `connection_timeout_min` -> "Connection timeout (minutes)", `as_id` -> "AS ID"; the schema carries no titles. */
export function labelOf(key: string, schema: JsonSchema): string {
  if (schema.title) return schema.title;
  if (key === 'f_port') return 'FPort';
  const words = key.split('_').map((w) => WORDS[w] ?? w);
  const text = words.join(' ');
  return text.charAt(0).toUpperCase() + text.slice(1);
}

const show = (v: Json | undefined): string =>
  v === null ? 'none' : v === '' ? 'empty' : typeof v === 'object' ? JSON.stringify(v) : String(v);

/** One-line summary of the constraints, shown under the control. */
export function constraintsOf(schema: JsonSchema): string {
  const field = fieldOf(schema);
  const parts: string[] = [];
  if (field.kind === 'integer') {
    if (field.min !== undefined && field.max !== undefined) parts.push(`${field.min}–${field.max}`);
    else if (field.min !== undefined) parts.push(`at least ${field.min}`);
    else if (field.max !== undefined) parts.push(`at most ${field.max}`);
  }
  if (field.kind === 'string') {
    if (field.minLength && field.maxLength) parts.push(`${field.minLength}–${field.maxLength} characters`);
    else if (field.maxLength) parts.push(`up to ${field.maxLength} characters`);
    if (field.format === 'uri') parts.push('http(s) URL');
  }
  if ((field.kind === 'integer' || field.kind === 'string') && field.nullable) parts.push('optional');
  if (schema.default !== undefined && field.kind !== 'boolean') parts.push(`default ${show(schema.default)}`);
  return parts.join(' · ');
}

const characters = (n: number) => `${n} character${n === 1 ? '' : 's'}`;

/** Client-side check with the schema's own constraints; the server validates again on save. */
export function problemOf(schema: JsonSchema, value: unknown): string | null {
  const field = fieldOf(schema);
  if (value === undefined) return null;
  switch (field.kind) {
    case 'boolean':
      return typeof value === 'boolean' ? null : 'must be true or false';
    case 'enum':
      return typeof value === 'string' && field.options.includes(value) ? null : `must be one of ${field.options.join(', ')}`;
    case 'object':
      return isObject(value) ? null : 'must be a JSON object';
    case 'integer':
      if (value === null) return field.nullable ? null : 'is required';
      if (typeof value !== 'number' || !Number.isInteger(value)) return 'must be a whole number';
      if (field.min !== undefined && value < field.min) return `must be at least ${field.min}`;
      if (field.max !== undefined && value > field.max) return `must be at most ${field.max}`;
      return null;
    case 'string':
      if (value === null) return field.nullable ? null : 'is required';
      if (typeof value !== 'string') return 'must be text';
      if (field.minLength !== undefined && value.length < field.minLength) return `must have at least ${characters(field.minLength)}`;
      if (field.maxLength !== undefined && value.length > field.maxLength) return `must have at most ${characters(field.maxLength)}`;
      if (field.format === 'uri' && !URL.canParse(value)) return 'must be a URL';
      if (field.pattern !== undefined && !new RegExp(field.pattern).test(value)) return 'is not in the allowed form';
      return null;
  }
}

/** Problems of every field of an object schema, keyed by JSON pointer (`/uplink/device_id_prefix`). */
export function problemsOf(schema: JsonSchema, value: unknown, path = ''): Record<string, string> {
  const out: Record<string, string> = {};
  const obj = isObject(value) ? value : {};
  for (const [key, sub] of Object.entries(schema.properties ?? {})) {
    const p = `${path}/${key}`;
    if (sub.type === 'object' && sub.properties) Object.assign(out, problemsOf(sub, obj[key] ?? {}, p));
    else {
      const problem = problemOf(sub, obj[key]);
      if (problem) out[p] = problem;
    }
  }
  return out;
}

export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
