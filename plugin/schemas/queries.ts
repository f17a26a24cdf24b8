import { Type, type Static } from '@sinclair/typebox';
import { QUANTITIES } from '../../formatters/normalized-payload.js';
import { EVENT_CATEGORIES, SEVERITIES } from '../store/records.js';

const Limit = (max: number, dflt: number) => Type.Integer({ minimum: 1, maximum: max, default: dflt });

export const DeviceListQuery = Type.Object({
  app_id: Type.Optional(Type.String({ maxLength: 36 })),
  search: Type.Optional(Type.String({ maxLength: 100 })),
  limit: Limit(1000, 100),
  cursor: Type.Optional(Type.String({ maxLength: 200 })),
});

const Time = Type.Union([Type.String({ format: 'date-time' }), Type.Integer({ minimum: 0 })]);
export const BucketDataQuery = Type.Object({
  from: Type.Optional(Time),
  to: Type.Optional(Time),
  limit: Limit(100000, 1000),
  order: Type.Union([Type.Literal('asc'), Type.Literal('desc')], { default: 'desc' }),
  format: Type.Union([Type.Literal('json'), Type.Literal('csv')], { default: 'json' }),
});
export type BucketDataQuery = Static<typeof BucketDataQuery>;

/** `GET /api/measurements`: one normalized quantity across devices (and vendors). */
export const MeasurementQuery = Type.Object({
  quantity: Type.Union(QUANTITIES.map((q) => Type.Literal(q))),
  app_id: Type.Optional(Type.String({ maxLength: 36 })),
  device_id: Type.Optional(Type.String({ maxLength: 200 })),
  from: Type.Optional(Time),
  to: Type.Optional(Time),
  limit: Limit(100000, 5000),
  order: Type.Union([Type.Literal('asc'), Type.Literal('desc')], { default: 'asc' }),
});

export const MeasuredQuantitiesQuery = Type.Object({
  app_id: Type.Optional(Type.String({ maxLength: 36 })),
});

export const BucketListQuery = Type.Object({
  app_id: Type.Optional(Type.String({ maxLength: 36 })),
  device_id: Type.Optional(Type.String({ maxLength: 200 })),
});

export const EventQuery = Type.Object({
  app_id: Type.Optional(Type.String({ maxLength: 36 })),
  device_id: Type.Optional(Type.String({ maxLength: 200 })),
  category: Type.Optional(Type.Union(EVENT_CATEGORIES.map((c) => Type.Literal(c)))),
  severity: Type.Optional(Type.Union(SEVERITIES.map((c) => Type.Literal(c)))),
  after_id: Type.Optional(Type.Integer({ minimum: 0 })),
  limit: Limit(1000, 100),
});

export const DeadLetterQuery = Type.Object({
  app_id: Type.Optional(Type.String({ maxLength: 36 })),
  limit: Limit(1000, 100),
});

export const ReplayAllQuery = Type.Object({ app_id: Type.String({ minLength: 1, maxLength: 36 }) });

export const MessageListQuery = Type.Object({
  limit: Limit(1000, 10),
  // SQLite's OFFSET takes a 64-bit integer; far beyond any message count anyway.
  offset: Type.Integer({ minimum: 0, maximum: 1_000_000_000, default: 0 }),
});

/** A note on the formatter version a profile save makes. */
const VersionNote = Type.String({ maxLength: 200 });

export const ProfilePutQuery = Type.Object({ note: Type.Optional(VersionNote) });

export const FormatterVersionNoteBody = Type.Object({ note: Type.Union([VersionNote, Type.Null()]) }, { additionalProperties: false });
