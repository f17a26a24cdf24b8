import { Type, type Static } from '@sinclair/typebox';
import { FORMATTER_TYPES } from '../../formatters/contract.js';
import { NETWORKS } from '../networks/network-ids.js';
import { ThingparkSettingsSchema } from '../networks/thingpark/settings.js';
import { TtsMqttSettingsSchema } from '../mqtt/mqtt-settings.js';

/**
 * Application profile settings: the single source of truth for the PUT body, the defaults,
 * the TS type and the settings schema published in manifest.json (the UI reads it from there).
 */

export const PRIORITIES = ['LOWEST', 'LOW', 'BELOW_NORMAL', 'NORMAL', 'ABOVE_NORMAL', 'HIGH', 'HIGHEST'] as const;

const IdPrefix = Type.String({
  default: '',
  maxLength: 32,
  pattern: '^[A-Za-z0-9_-]*$',
  description: 'Prepended to the device id (letters, digits, _ and -).',
});

const Nullable = <T extends ReturnType<typeof Type.String>>(t: T) =>
  Type.Union([t, Type.Null()], { default: null });

export const UplinkSettingsSchema = Type.Object(
  {
    auto_provision: Type.Boolean({ default: true, description: 'Create a device record for unknown devices.' }),
    auto_provision_bucket: Type.Boolean({ default: true, description: 'Create a data bucket with each new device.' }),
    device_id_source: Type.Union([Type.Literal('dev_eui'), Type.Literal('device_id')], {
      default: 'dev_eui',
      description: 'dev_eui, or the network\'s own device id (TTS device_id; ThingPark has only the DevEUI), becomes the device id; without an EUI, the network\'s device id.',
    }),
    device_id_prefix: IdPrefix,
    bucket_id_prefix: IdPrefix,
    connection_timeout_min: Type.Integer({
      default: 10,
      minimum: 1,
      maximum: 43200,
      description: 'A device counts as connected this many minutes after its last message.',
    }),
    asset_type: Nullable(Type.String({ minLength: 1, maxLength: 64 })),
    asset_group: Nullable(Type.String({ minLength: 1, maxLength: 64 })),
    update_location: Type.Boolean({ default: false, description: 'Keep the device location property current.' }),
    save_metadata: Type.Boolean({ default: false, description: 'Store rx_metadata and settings of each uplink.' }),
    initial_downlink: Type.Record(Type.String(), Type.Unknown(), {
      default: {},
      description: 'Initial value of the device downlink property.',
    }),
  },
  { additionalProperties: false, default: {} },
);

export const DownlinkSettingsSchema = Type.Object(
  {
    confirmed: Type.Boolean({ default: false }),
    push: Type.Boolean({ default: true, description: 'Push (append to the queue); false replaces the queue.' }),
    priority: Type.Union(
      PRIORITIES.map((p) => Type.Literal(p)),
      { default: 'LOWEST' },
    ),
    f_port: Type.Union([Type.Integer({ minimum: 1, maximum: 223 }), Type.Null()], {
      default: null,
      description: 'Default f_port; null uses the port of the device\'s last uplink.',
    }),
    status_notification_url: Type.Union([Type.String({ format: 'uri', pattern: '^https?://', maxLength: 2048 }), Type.Null()], {
      default: null,
      description: 'Receives an IoTDA-style device.message.status notification on every downlink status change.',
    }),
    tts_hosts: Type.String({
      default: '',
      maxLength: 2048,
      pattern: '^[A-Za-z0-9.:\\[\\], _-]*$',
      description:
        'Comma-separated TTS hosts this application\'s downlinks (and TTS API key) may also go to, besides the first TTS host it used and PLUGIN_TTS_HOSTS (https; private addresses only with PLUGIN_TTS_ALLOW_PRIVATE).',
    }),
  },
  { additionalProperties: false, default: {} },
);

export const FormatterSettingsSchema = Type.Object(
  {
    type: Type.Union(
      FORMATTER_TYPES.map((t) => Type.Literal(t)),
      { default: 'javascript' },
    ),
    script: Type.String({ default: '', maxLength: 262144 }),
    timeout_ms: Type.Integer({ default: 100, minimum: 1, maximum: 5000 }),
  },
  { additionalProperties: false, default: {} },
);

export const ProfileSettingsSchema = Type.Object(
  {
    enabled: Type.Boolean({ default: true }),
    network: Type.Union(
      NETWORKS.map((n) => Type.Literal(n)),
      { default: 'tts', description: 'Where this application\'s devices are: The Things Stack (webhooks) or ThingPark (tunnel interface over HTTP).' },
    ),
    thingpark: Type.Optional(ThingparkSettingsSchema),
    tts_mqtt: Type.Optional(TtsMqttSettingsSchema),
    uplink: UplinkSettingsSchema,
    downlink: DownlinkSettingsSchema,
    formatter: FormatterSettingsSchema,
  },
  { additionalProperties: false, $id: 'ProfileSettings' },
);

export type ProfileSettings = Static<typeof ProfileSettingsSchema>;
export type Priority = (typeof PRIORITIES)[number];

/** Application ids (TTS's rule, also for a ThingPark connection's name): lowercase letters, digits and single dashes, 3..36 chars; `default` is ours. */
export const APP_ID_PATTERN = /^[a-z0-9](?:-?[a-z0-9]){2,35}$/;
export const DEFAULT_PROFILE = 'default';
