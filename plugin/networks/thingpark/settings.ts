import { Type, type Static } from '@sinclair/typebox';
import { mqttConnectionFields } from '../../mqtt/mqtt-settings.js';
import { DEVEUI_PLACEHOLDER } from './mqtt-topics.js';

/** Printable ASCII but MQTT's wildcards `+` and `#` and the placeholder's braces. */
const TOPIC_CHAR = '[\\x20-\\x22\\x24-\\x2a\\x2c-\\x7a|~]';

/** A topic pattern of ThingPark's MQTT connector: one `{DevEUI}`, no wildcards of its own. */
const topicPattern = (example: string, what: string) =>
  Type.String({
    default: example,
    maxLength: 256,
    pattern: `^${TOPIC_CHAR}*\\{DevEUI\\}${TOPIC_CHAR}*$`,
    description: `${what}, as set in ThingPark's MQTT connector: printable, exactly one ${DEVEUI_PLACEHOLDER}, no + or #.`,
  });

/** `thingpark.mqtt`: the operator's broker, between ThingPark's MQTT connector and this plugin. The password is write-only. */
export const ThingparkMqttSettingsSchema = Type.Object(
  {
    ...mqttConnectionFields,
    uplink_topic: topicPattern('mqtt/things/{DevEUI}/uplink', 'Where ThingPark publishes uplinks and downlink reports (uplinkTopicPattern)'),
    downlink_topic: topicPattern('mqtt/things/{DevEUI}/downlink', 'Where the plugin publishes downlinks (downlinkTopicPattern)'),
  },
  { additionalProperties: false },
);
export type ThingparkMqttSettings = Static<typeof ThingparkMqttSettingsSchema>;

/**
 * A ThingPark profile's connection. Over HTTP (the tunnel interface): the AS routing profile's AS
 * ID and tunnel key, and the LRC's downlink URL. Over MQTT: the broker; no token, the broker
 * authenticates.
 */
export const ThingparkSettingsSchema = Type.Object(
  {
    as_id: Type.String({ minLength: 1, maxLength: 128, pattern: '^[\\x21-\\x7e]+$', description: 'The AS ID of the AS routing profile in ThingPark (its reports carry it as AS_ID).' }),
    // No schema default: profiles stored before MQTT have none, and absent means HTTP for them too.
    transport: Type.Optional(
      Type.Union([Type.Literal('http'), Type.Literal('mqtt')], {
        description: "How ThingPark and the plugin talk: 'http' (tunnel interface; the default when absent) or 'mqtt' (ThingPark's MQTT connector, through the broker in `mqtt`).",
      }),
    ),
    as_key: Type.Optional(
      Type.String({
        pattern: '^[0-9A-Fa-f]{32}$',
        writeOnly: true,
        description: 'The Tunnel Interface Authentication Key: 32 hex characters; required over HTTP. Write-only: never returned; leave it out to keep the stored one.',
      }),
    ),
    downlink_url: Type.Optional(
      Type.String({
        format: 'uri',
        pattern: '^https?://',
        maxLength: 2048,
        description: 'The LRC downlink endpoint, required over HTTP, e.g. https://api.thingpark.com/thingpark/lrc/rest/downlink',
      }),
    ),
    max_clock_skew_s: Type.Integer({
      default: 60,
      minimum: 0,
      maximum: 86400,
      description: 'How far a report\'s Time may be from now, in seconds; 0 turns the check off (replaying recorded traffic).',
    }),
    mqtt: Type.Optional(ThingparkMqttSettingsSchema),
  },
  { additionalProperties: false },
);

export type ThingparkSettings = Static<typeof ThingparkSettingsSchema>;
