import { fieldOf, problemOf, type JsonSchema } from '../../schema/json-schema.js';

/** How a broker field is shown: the schema has no titles, and its descriptions are written for the API. */
export interface FieldText {
  title: string;
  description?: string;
  placeholder?: string;
}

/** What "is not in the allowed form" means for each broker field with a pattern. */
const FORM: Record<string, string> = {
  url: 'must be mqtts://host:port or mqtt://host:port (no path, no user name in it)',
  username: 'must be {app}@{tenant}, e.g. my-app@ttn',
  ca: 'must be a PEM certificate (-----BEGIN CERTIFICATE----- …)',
  uplink_topic: 'must hold {DevEUI} once, and no + or #',
  downlink_topic: 'must hold {DevEUI} once, and no + or #',
};

/** A saved connection as a draft: without `password_set`, so a save sends no password and the stored one stays. */
export function draftOf<T extends { password_set: boolean }>({ password_set: _set, ...connection }: T): Omit<T, 'password_set'> {
  return connection;
}

const isEmpty = (v: unknown) => v === undefined || v === null || (typeof v === 'string' && v.trim() === '');

/**
 * Client-side problems of a broker connection by JSON pointer (`/tts_mqtt/url`): required fields
 * empty ("is required" reads better than a pattern), then the schema's constraints. The password is
 * write-only: required only while none is stored.
 */
export function mqttProblems(schema: JsonSchema, value: Record<string, unknown>, path: string, opts: { passwordRequired: boolean }): Record<string, string> {
  const required = new Set([...(schema.required ?? []), ...(opts.passwordRequired ? ['password'] : [])]);
  const out: Record<string, string> = {};
  for (const [key, sub] of Object.entries(schema.properties ?? {})) {
    const v = value[key];
    const field = fieldOf(sub);
    if (isEmpty(v)) {
      if (required.has(key) && !('nullable' in field && field.nullable)) out[`${path}/${key}`] = 'is required';
      continue;
    }
    const problem = problemOf(sub, v);
    if (problem) out[`${path}/${key}`] = problem === 'is not in the allowed form' ? (FORM[key] ?? problem) : problem;
  }
  return out;
}
