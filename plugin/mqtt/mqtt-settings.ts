import { Type, type Static } from '@sinclair/typebox';

/** An MQTT broker connection of a profile: where, and as whom. The password is write-only. */
export const mqttConnectionFields = {
  url: Type.String({
    maxLength: 2048,
    // Host and port only: credentials go in username/password, never into a URL that is shown.
    pattern: '^mqtts?://(?:[A-Za-z0-9.-]+|\\[[0-9A-Fa-f:.]+\\])(?::\\d{1,5})?/?$',
    description: 'Broker URL: mqtts://host:8883 (TLS) or mqtt://host:1883.',
  }),
  username: Type.String({ minLength: 1, maxLength: 256 }),
  password: Type.Optional(
    Type.String({
      minLength: 1,
      maxLength: 4096,
      writeOnly: true,
      description: 'Write-only: never returned; leave it out to keep the stored one.',
    }),
  ),
  ca: Type.Union([Type.String({ maxLength: 65536, pattern: '-----BEGIN CERTIFICATE-----' }), Type.Null()], {
    default: null,
    description: 'PEM certificate(s) to trust for mqtts:// besides the system CAs; null for none.',
  }),
};

/** `tts_mqtt` of a TTS profile: The Things Stack's MQTT server, instead of or beside webhooks. */
export const TtsMqttSettingsSchema = Type.Object(
  {
    enabled: Type.Boolean({ default: true }),
    ...mqttConnectionFields,
    username: Type.String({
      minLength: 1,
      maxLength: 256,
      pattern: '^[a-z0-9](?:-?[a-z0-9]){2,35}(?:@[a-z0-9](?:-?[a-z0-9]){1,35})?$',
      description: 'The application id, with @tenant on multi-tenant deployments: {app}@{tenant} (TTN: app1@ttn).',
    }),
  },
  { additionalProperties: false },
);
export type TtsMqttSettings = Static<typeof TtsMqttSettingsSchema>;

/** A profile's stored broker connection (TTS's or ThingPark's), password included when set. */
export interface MqttConnectionSettings {
  url: string;
  username: string;
  password?: string | undefined;
  ca: string | null;
}

/** What a link needs to connect, whatever the network. */
export interface MqttConnection {
  url: string;
  username: string;
  password: string;
  ca: string | null;
}
