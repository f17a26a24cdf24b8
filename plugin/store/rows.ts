import type { JsonObject } from '../../formatters/contract.js';
import type { NetworkName } from '../networks/network-ids.js';
import type { ProfileSettings } from '../schemas/profile.js';
import { where } from './sql-filter.js';
import type { EventQuery } from './store.js';
import type { BucketRecord, BucketRow, DeadLetter, DeviceRecord, EventRecord, FormatterVersion, MeasurementRecord, MessageRecord, NotificationRecord, Page, RecentUplink } from './records.js';

/**
 * The rows both SQL stores (SQLite, PostgreSQL) read, named as their schemas name the columns, which
 * of them a list reads, and the records they become. Both schemas keep JSON as text and millisecond
 * times as whole numbers; what differs (how a device's credentials and properties are read, LIKE or
 * ILIKE, BIGINT's range) each store passes in.
 */

/** A profile with the number of its formatter in force (its last version; null before the first). */
export interface ProfileRow {
  settings: string;
  webhook_token: string;
  created_at: string;
  updated_at: string;
  formatter_version: number | null;
}

export function toProfile(r: ProfileRow) {
  return {
    settings: JSON.parse(r.settings) as ProfileSettings,
    webhookToken: r.webhook_token,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    formatterVersion: r.formatter_version ?? 0,
  };
}

/** A profile as a list shows it: without its webhook token. */
export interface ProfileListRow {
  app_id: string;
  settings: string;
  created_at: string;
  updated_at: string;
}

export function toListedProfile(r: ProfileListRow) {
  return { appId: r.app_id, settings: JSON.parse(r.settings) as ProfileSettings, createdAt: r.created_at, updatedAt: r.updated_at };
}

export interface FormatterVersionRow {
  version: number;
  created_at: string;
  note: string | null;
  formatter: string;
}

export function toFormatterVersion(r: FormatterVersionRow): FormatterVersion {
  return { version: r.version, createdAt: r.created_at, note: r.note, formatter: JSON.parse(r.formatter) as FormatterVersion['formatter'] };
}

export interface RecentRow {
  app_id: string;
  seq: number;
  device_id: string;
  network: string;
  received_at: string;
  report: string;
  outcome: string;
  formatter_version: number | null;
}

export function toRecentUplink(r: RecentRow): RecentUplink {
  return {
    seq: r.seq,
    appId: r.app_id,
    deviceId: r.device_id,
    network: r.network as NetworkName,
    receivedAt: r.received_at,
    report: r.report,
    outcome: JSON.parse(r.outcome) as RecentUplink['outcome'],
    formatterVersion: r.formatter_version,
  };
}

/** A device's own columns; each store reads its properties and whether it has credentials its own way. */
export interface DeviceRow {
  id: string;
  app_id: string;
  ids: string;
  asset_type: string | null;
  asset_group: string | null;
  connection_timeout_min: number;
  bucket_id: string | null;
  created_at: string;
  last_seen_at: string | null;
  state: string | null;
}

/** `props`: (name, JSON value) pairs; one named `device` takes the place of the state. */
export function toDevice(row: DeviceRow, props: readonly (readonly [name: string, value: string])[], downlinkReady: boolean): DeviceRecord {
  const properties: Record<string, unknown> = row.state ? { device: JSON.parse(row.state) } : {};
  for (const [name, value] of props) properties[name] = JSON.parse(value);
  return {
    id: row.id,
    appId: row.app_id,
    ids: JSON.parse(row.ids) as DeviceRecord['ids'],
    assetType: row.asset_type,
    assetGroup: row.asset_group,
    connectionTimeoutMin: row.connection_timeout_min,
    bucketId: row.bucket_id,
    createdAt: row.created_at,
    lastSeenAt: row.last_seen_at,
    properties,
    downlinkReady,
  };
}

/**
 * Which devices (`d`) a list reads: the application's, whose id or ids contain the search text
 * (LIKE's own characters escaped), after the cursor's id. `like`: the store's operator that folds
 * ASCII letters only.
 */
export function deviceListFilter(q: { appId?: string; search?: string; cursor?: string }, like: 'LIKE' | 'ILIKE') {
  const pattern = q.search ? `%${q.search.replace(/[\\%_]/g, (c) => `\\${c}`)}%` : '';
  return where([
    q.appId && ['d.app_id = ?', q.appId],
    q.search && [`(d.id ${like} ? ESCAPE '\\' OR d.ids ${like} ? ESCAPE '\\')`, pattern, pattern],
    q.cursor && ['d.id > ?', Buffer.from(q.cursor, 'base64url').toString('utf8')],
  ]);
}

/**
 * A page of devices from rows read in id order with a limit one above the page's: a row beyond the
 * page means there is another, which starts after this page's last id.
 */
export function devicePage<R>(rows: readonly R[], limit: number, toRecord: (row: R) => DeviceRecord): Page<DeviceRecord> {
  const items = rows.slice(0, limit).map(toRecord);
  return { items, nextCursor: rows.length > limit ? Buffer.from(items[items.length - 1].id, 'utf8').toString('base64url') : null };
}

/** A bucket with its row count and its newest row's time. */
export interface BucketStatsRow {
  id: string;
  device_id: string;
  app_id: string;
  created_at: string;
  rows: number;
  last_ts: number | null;
}

export function toBucket(b: BucketStatsRow): BucketRecord {
  return {
    id: b.id,
    deviceId: b.device_id,
    appId: b.app_id,
    createdAt: b.created_at,
    rows: b.rows,
    lastTs: b.last_ts !== null ? new Date(b.last_ts).toISOString() : null,
  };
}

/** One row of a bucket's data. */
export interface BucketDataRow {
  ts: number;
  data: string;
  normalized: string | null;
}

export function toBucketRow(r: BucketDataRow): BucketRow {
  return {
    ts: new Date(r.ts).toISOString(),
    data: JSON.parse(r.data) as JsonObject,
    ...(r.normalized !== null ? { normalized: JSON.parse(r.normalized) as JsonObject[] } : {}),
  };
}

export interface MeasurementRow {
  ts: number;
  app_id: string;
  device_id: string;
  value: string;
}

export function toMeasurement(r: MeasurementRow): MeasurementRecord {
  return { appId: r.app_id, deviceId: r.device_id, tsMs: r.ts, value: JSON.parse(r.value) as MeasurementRecord['value'] };
}

export interface DeadLetterRow {
  id: number;
  app_id: string;
  device_id: string;
  reason: string;
  error: string;
  network: DeadLetter['network'];
  body: string;
  created_at: string;
  replayed_at: string | null;
}

export function toDeadLetter(r: DeadLetterRow): DeadLetter {
  return {
    id: r.id,
    appId: r.app_id,
    deviceId: r.device_id,
    reason: r.reason,
    error: JSON.parse(r.error) as JsonObject,
    network: r.network,
    body: JSON.parse(r.body) as JsonObject,
    createdAt: r.created_at,
    replayedAt: r.replayed_at,
  };
}

export interface EventRow {
  id: number;
  ts: string;
  app_id: string | null;
  device_id: string | null;
  category: EventRecord['category'];
  severity: EventRecord['severity'];
  title: string;
  details: string;
}

export function toEvent(r: EventRow): EventRecord {
  return {
    id: r.id,
    ts: r.ts,
    appId: r.app_id,
    deviceId: r.device_id,
    category: r.category,
    severity: r.severity,
    title: r.title,
    details: JSON.parse(r.details) as JsonObject,
  };
}

/** Which events a list reads; `afterId` makes the id one the store can compare (PostgreSQL's BIGINT holds less than a number). */
export function eventListFilter(q: EventQuery, afterId: (id: number) => number = (id) => id) {
  return where([
    q.appId && ['app_id = ?', q.appId],
    q.deviceId && ['device_id = ?', q.deviceId],
    q.category && ['category = ?', q.category],
    q.severity && ['severity = ?', q.severity],
    q.afterId !== undefined && ['id > ?', afterId(q.afterId)],
  ]);
}

/** A downlink message is kept whole, as JSON; its other columns are for finding it. */
export interface MessageRow {
  record: string;
}

export function toMessage(r: MessageRow): MessageRecord {
  return JSON.parse(r.record) as MessageRecord;
}

export interface NotificationRow {
  id: number;
  url: string;
  body: string;
  attempts: number;
  next_attempt_at: string;
  created_at: string;
}

export function toNotification(r: NotificationRow): NotificationRecord {
  return { id: r.id, url: r.url, body: JSON.parse(r.body) as JsonObject, attempts: r.attempts, nextAttemptAt: r.next_attempt_at, createdAt: r.created_at };
}
