import { Type, type Static } from '@sinclair/typebox';
import { FormatterSettingsSchema } from './profile.js';

/** `POST /api/formatters/test`: run a formatter the way production does, store nothing. */
export const FormatterTestSchema = Type.Object(
  {
    app_id: Type.Optional(Type.String({ minLength: 1, maxLength: 36 })),
    direction: Type.Union([Type.Literal('uplink'), Type.Literal('downlink')]),
    // Without the object-level default, so that leaving it out means "the profile's formatter".
    formatter: Type.Optional(Type.Object(FormatterSettingsSchema.properties, { additionalProperties: false })),
    /** Uplink: a TTS uplink webhook body or {frm_payload|bytes, f_port, decoded_payload?}; downlink: the JSON payload. */
    input: Type.Unknown(),
    f_port: Type.Optional(Type.Integer({ minimum: 1, maximum: 223 })),
  },
  { additionalProperties: false },
);
export type FormatterTest = Static<typeof FormatterTestSchema>;

/** The short uplink input form of the test tool. */
export const ShortUplinkInputSchema = Type.Object(
  {
    frm_payload: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9+/]*={0,2}$' })),
    bytes: Type.Optional(Type.Array(Type.Integer({ minimum: 0, maximum: 255 }), { maxItems: 1024 })),
    f_port: Type.Integer({ minimum: 0, maximum: 255 }),
    decoded_payload: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
    received_at: Type.Optional(Type.String({ format: 'date-time' })),
  },
  { additionalProperties: false },
);

/** `POST /api/formatters/test-recent`: a formatter (the profile's, or one given) over the application's recent uplinks. */
export const RecentTestSchema = Type.Object(
  {
    app_id: Type.String({ minLength: 1, maxLength: 36 }),
    formatter: Type.Optional(Type.Object(FormatterSettingsSchema.properties, { additionalProperties: false })),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })),
  },
  { additionalProperties: false },
);
export type RecentTest = Static<typeof RecentTestSchema>;
