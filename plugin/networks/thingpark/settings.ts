import { Type, type Static } from '@sinclair/typebox';

/** A ThingPark profile's connection: the AS routing profile's AS ID and tunnel key, and the LRC's downlink URL. */
export const ThingparkSettingsSchema = Type.Object(
  {
    as_id: Type.String({ minLength: 1, maxLength: 128, pattern: '^[\\x21-\\x7e]+$', description: 'The AS ID of the AS routing profile in ThingPark (its reports carry it as AS_ID).' }),
    as_key: Type.Optional(
      Type.String({
        pattern: '^[0-9A-Fa-f]{32}$',
        writeOnly: true,
        description: 'The Tunnel Interface Authentication Key: 32 hex characters. Write-only: never returned; leave it out to keep the stored one.',
      }),
    ),
    downlink_url: Type.String({
      format: 'uri',
      pattern: '^https?://',
      maxLength: 2048,
      description: 'The LRC downlink endpoint, e.g. https://api.thingpark.com/thingpark/lrc/rest/downlink',
    }),
    max_clock_skew_s: Type.Integer({
      default: 60,
      minimum: 0,
      maximum: 86400,
      description: 'How far a report\'s Time may be from now, in seconds; 0 turns the check off (replaying recorded traffic).',
    }),
  },
  { additionalProperties: false },
);

export type ThingparkSettings = Static<typeof ThingparkSettingsSchema>;
