import { Type, type Static } from '@sinclair/typebox';
import { PRIORITIES } from './profile.js';

const Priority = Type.Union(PRIORITIES.map((p) => Type.Literal(p)));
const FPort = Type.Integer({ minimum: 1, maximum: 223, description: 'LoRaWAN application port 1..223' });

/** Options a caller may set per downlink; each overrides the profile. */
export const DownlinkOptionsSchema = Type.Object(
  {
    confirmed: Type.Optional(Type.Boolean()),
    priority: Type.Optional(Priority),
    f_port: Type.Optional(FPort),
    replace: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);
export type DownlinkOptions = Static<typeof DownlinkOptionsSchema>;

export const MESSAGE_ID_PATTERN = '^[A-Za-z0-9_-]{1,100}$';

/** `POST /api/devices/{id}/messages` (IoTDA-style device message). */
export const MessageRequestSchema = Type.Object(
  {
    message_id: Type.Optional(Type.String({ pattern: MESSAGE_ID_PATTERN })),
    name: Type.Optional(Type.String({ maxLength: 128 })),
    message: Type.Unknown(),
    encoding: Type.Union([Type.Literal('none'), Type.Literal('base64')], { default: 'none' }),
    ttl: Type.Integer({ minimum: 0, maximum: 1440, multipleOf: 5, default: 1440, description: 'minutes' }),
    ...DownlinkOptionsSchema.properties,
    // IoTDA fields, kept and echoed so IoTDA clients see what they sent; LoRaWAN has no topics.
    payload_format: Type.Optional(Type.Union([Type.Literal('standard'), Type.Literal('raw')])),
    topic: Type.Optional(Type.String({ maxLength: 128 })),
    topic_full_name: Type.Optional(Type.String({ maxLength: 128 })),
    properties: Type.Optional(
      Type.Object(
        {
          correlation_data: Type.Optional(Type.String({ maxLength: 128, pattern: '^[A-Za-z0-9_-]*$' })),
          response_topic: Type.Optional(Type.String({ maxLength: 128 })),
          user_properties: Type.Optional(
            Type.Array(
              Type.Object({ prop_key: Type.String({ maxLength: 128 }), prop_value: Type.String({ maxLength: 128 }) }, { additionalProperties: false }),
              { maxItems: 20 },
            ),
          ),
        },
        { additionalProperties: false },
      ),
    ),
  },
  { additionalProperties: false },
);
export type MessageRequest = Static<typeof MessageRequestSchema>;

/** Query options of the Thinger-compatible `POST /downlink/{device_id}`. */
export const DownlinkQuerySchema = DownlinkOptionsSchema;
