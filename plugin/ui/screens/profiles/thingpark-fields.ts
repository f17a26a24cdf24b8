import type { ThingparkSettings } from '../../api/types.js';
import { isObject, problemOf, type JsonSchema } from '../../schema/json-schema.js';
import { mqttProblems, type FieldText } from './mqtt-fields.js';

/** The ThingPark connection's fields, in the order a person fills them in (ThingPark shows the AS ID and key together). */
export const THINGPARK_FIELDS = ['as_id', 'as_key', 'downlink_url', 'max_clock_skew_s'] as const satisfies readonly (keyof ThingparkSettings)[];
export type ThingparkField = (typeof THINGPARK_FIELDS)[number];

export type Transport = NonNullable<ThingparkSettings['transport']>;

/** Profiles saved before MQTT have no transport: they are HTTP. */
export const transportOf = (tp: { transport?: unknown }): Transport => (tp.transport === 'mqtt' ? 'mqtt' : 'http');

/**
 * The fields of each transport. Over MQTT the broker authenticates both sides and reports carry no
 * Time: no tunnel key, LRC URL or clock skew (kept in the draft, only not shown).
 */
export const TRANSPORT_FIELDS: Record<Transport, readonly ThingparkField[]> = { http: THINGPARK_FIELDS, mqtt: ['as_id'] };

/** The broker fields of `thingpark.mqtt`, in order, with their texts. */
export const thingparkMqttFields = (passwordSet: boolean): [string, FieldText][] => [
  ['url', { title: 'Broker URL', description: 'Your MQTT broker as the plugin reaches it: mqtts://host:8883 (TLS) or mqtt://host:1883.', placeholder: 'mqtts://broker.example.com:8883' }],
  ['username', { title: 'User name', description: 'The plugin’s own user on the broker: it reads the uplink topics and writes the downlink topics.' }],
  ['password', { title: 'Password', description: `The plugin user’s password. Write-only: never shown again${passwordSet ? '; leave this empty to keep the stored one' : ''}.` }],
  ['ca', { title: 'CA certificate', description: 'Optional: PEM certificate(s) to trust besides the system’s, for a broker with a private CA (mqtts:// only).', placeholder: '-----BEGIN CERTIFICATE-----' }],
  [
    'uplink_topic',
    {
      title: 'Uplink topic pattern',
      description:
        'Where ThingPark’s MQTT connector publishes uplinks and downlink reports (its uplinkTopicPattern). {DevEUI} stands for each device’s EUI: the plugin subscribes with + in its place.',
    },
  ],
  [
    'downlink_topic',
    { title: 'Downlink topic pattern', description: 'Where the plugin publishes downlinks (the connector’s downlinkTopicPattern), with the device’s EUI in place of {DevEUI}.' },
  ],
];

/** A new broker connection: empty, with the schema's topic patterns. */
export function newThingparkMqtt(tpSchema: JsonSchema): Record<string, unknown> {
  const topics = tpSchema.properties?.mqtt?.properties ?? {};
  return { url: '', username: '', ca: null, uplink_topic: topics.uplink_topic?.default ?? '', downlink_topic: topics.downlink_topic?.default ?? '' };
}

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
 * pattern). Over HTTP the LRC URL and the key are required (the key for a new connection; when
 * editing, empty keeps the stored one); over MQTT the broker, its password while none is stored.
 */
export function thingparkProblems(
  tpSchema: JsonSchema,
  value: Partial<Record<keyof ThingparkSettings, unknown>>,
  opts: { keyRequired: boolean; passwordRequired?: boolean },
): Record<string, string> {
  const transport = transportOf(value);
  // The schema cannot say which fields a transport needs: it requires neither the key nor the URL.
  const required = new Set<string>([...(tpSchema.required ?? []), ...(transport === 'http' ? ['downlink_url', ...(opts.keyRequired ? ['as_key'] : [])] : [])]);
  const out: Record<string, string> = {};
  for (const key of TRANSPORT_FIELDS[transport]) {
    const v = value[key];
    const empty = v === undefined || v === null || (typeof v === 'string' && v.trim() === '');
    if (empty) {
      if (required.has(key)) out[`/thingpark/${key}`] = 'is required';
      continue;
    }
    const problem = problemOf(tpSchema.properties?.[key] ?? {}, v);
    if (problem) out[`/thingpark/${key}`] = key === 'as_key' && typeof v === 'string' ? 'must be 32 hex characters (0–9, a–f)' : problem;
  }
  if (transport === 'mqtt') {
    const mqtt = isObject(value.mqtt) ? value.mqtt : {};
    Object.assign(out, mqttProblems(tpSchema.properties?.mqtt ?? {}, mqtt, '/thingpark/mqtt', { passwordRequired: opts.passwordRequired ?? true }));
    // One topic both ways would bring the plugin its own downlinks as reports (the server refuses it too).
    if (mqtt.uplink_topic === mqtt.downlink_topic && !out['/thingpark/mqtt/downlink_topic']) out['/thingpark/mqtt/downlink_topic'] = 'must differ from the uplink topic pattern';
  }
  return out;
}

/** A key never holds whitespace: what a paste brings along (a trailing newline, spaces between groups) goes. */
export const keyInput = (v: unknown): unknown => (typeof v === 'string' ? v.replace(/\s+/g, '') : v);
