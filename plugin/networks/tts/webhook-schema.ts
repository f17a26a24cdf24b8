import { Type, type Static } from '@sinclair/typebox';

/**
 * The parts of a TTS `ApplicationUp` webhook body the plugin reads (reference: TTS JSON encoding —
 * zero values are omitted, so almost everything is optional). Unknown fields are allowed: TTS adds
 * fields between versions and we must not reject them.
 */

const Eui = Type.String({ pattern: '^[0-9A-Fa-f]{16}$' });
const Base64 = Type.String({ pattern: '^[A-Za-z0-9+/]*={0,2}$', maxLength: 1400 });

export const EndDeviceIdsSchema = Type.Object({
  device_id: Type.String({ pattern: '^[a-z0-9](?:[-]?[a-z0-9]){2,}$', maxLength: 36 }),
  application_ids: Type.Object({
    application_id: Type.String({ pattern: '^[a-z0-9](?:[-]?[a-z0-9]){2,}$', maxLength: 36 }),
  }),
  dev_eui: Type.Optional(Eui),
  join_eui: Type.Optional(Eui),
  dev_addr: Type.Optional(Type.String({ pattern: '^[0-9A-Fa-f]{8}$' })),
});

const JsonObject = Type.Record(Type.String(), Type.Unknown());

const Location = Type.Object({
  latitude: Type.Number({ minimum: -90, maximum: 90 }),
  longitude: Type.Number({ minimum: -180, maximum: 180 }),
  altitude: Type.Optional(Type.Number()),
  accuracy: Type.Optional(Type.Number()),
  source: Type.Optional(Type.String()),
});

/** What `uplink_message` and `uplink_normalized` share (TTS reference §2.3, §2.4). */
const uplinkFields = {
  session_key_id: Type.Optional(Type.String({ maxLength: 256 })),
  f_port: Type.Optional(Type.Integer({ minimum: 0, maximum: 255 })),
  f_cnt: Type.Optional(Type.Integer({ minimum: 0, maximum: 4294967295 })),
  frm_payload: Type.Optional(Base64),
  normalized_payload_warnings: Type.Optional(Type.Array(Type.String())),
  rx_metadata: Type.Optional(Type.Array(JsonObject)),
  settings: Type.Optional(JsonObject),
  received_at: Type.Optional(Type.String({ format: 'date-time' })),
  locations: Type.Optional(Type.Record(Type.String(), Location)),
};

export const UplinkMessageSchema = Type.Object({
  ...uplinkFields,
  decoded_payload: Type.Optional(JsonObject),
  normalized_payload: Type.Optional(Type.Array(JsonObject)),
});

/** `uplink_normalized`: one measurement of an uplink, sent once per measurement. */
export const UplinkNormalizedSchema = Type.Object({ ...uplinkFields, normalized_payload: JsonObject });

const ApplicationDownlink = Type.Object({
  f_port: Type.Optional(Type.Integer()),
  f_cnt: Type.Optional(Type.Integer()),
  frm_payload: Type.Optional(Type.String()),
  decoded_payload: Type.Optional(JsonObject),
  confirmed: Type.Optional(Type.Boolean()),
  priority: Type.Optional(Type.String()),
  correlation_ids: Type.Optional(Type.Array(Type.String())),
});

const ErrorDetails = Type.Object({
  namespace: Type.Optional(Type.String()),
  name: Type.Optional(Type.String()),
  message_format: Type.Optional(Type.String()),
  attributes: Type.Optional(JsonObject),
  code: Type.Optional(Type.Integer()),
});

export const LocationSolvedSchema = Type.Object({
  service: Type.Optional(Type.String()),
  location: Location,
});

/** Message types, keyed by their top-level JSON member (TTS reference §1.1). */
export const MESSAGE_TYPES = [
  'uplink_message',
  'uplink_normalized',
  'join_accept',
  'downlink_ack',
  'downlink_nack',
  'downlink_sent',
  'downlink_failed',
  'downlink_queued',
  'downlink_queue_invalidated',
  'location_solved',
  'service_data',
] as const;
export type MessageType = (typeof MESSAGE_TYPES)[number];

export const WebhookBodySchema = Type.Object({
  end_device_ids: EndDeviceIdsSchema,
  correlation_ids: Type.Optional(Type.Array(Type.String({ maxLength: 100 }))),
  received_at: Type.Optional(Type.String({ format: 'date-time' })),
  simulated: Type.Optional(Type.Boolean()),
  uplink_message: Type.Optional(UplinkMessageSchema),
  uplink_normalized: Type.Optional(UplinkNormalizedSchema),
  join_accept: Type.Optional(JsonObject),
  downlink_ack: Type.Optional(ApplicationDownlink),
  downlink_nack: Type.Optional(ApplicationDownlink),
  downlink_sent: Type.Optional(ApplicationDownlink),
  downlink_queued: Type.Optional(ApplicationDownlink),
  downlink_failed: Type.Optional(Type.Object({ downlink: Type.Optional(ApplicationDownlink), error: Type.Optional(ErrorDetails) })),
  downlink_queue_invalidated: Type.Optional(JsonObject),
  location_solved: Type.Optional(LocationSolvedSchema),
  service_data: Type.Optional(JsonObject),
});

export type WebhookBody = Static<typeof WebhookBodySchema>;
export type TtsLocation = Static<typeof Location>;
