import type { JsonObject } from '../../formatters/contract.js';
import type { DeviceIds, NetworkName } from '../networks/network-ids.js';
import type { Priority, ProfileSettings } from '../schemas/profile.js';

/** Domain records the Store persists. Times are ISO 8601 strings (UTC) unless named *Ms. */

export interface ProfileRecord {
  appId: string;
  settings: ProfileSettings;
  webhookToken: string;
  createdAt: string;
  updatedAt: string;
}

export interface DeviceRecord {
  id: string;
  appId: string;
  /** Who the device is on its network (`ids.network` is the network). */
  ids: DeviceIds;
  assetType: string | null;
  assetGroup: string | null;
  connectionTimeoutMin: number;
  bucketId: string | null;
  createdAt: string;
  lastSeenAt: string | null;
  properties: Record<string, unknown>;
  downlinkReady: boolean;
}

/** A saved formatter (settings.formatter), numbered per application from 1. */
export interface FormatterVersion {
  version: number;
  createdAt: string;
  note: string | null;
  formatter: ProfileSettings['formatter'];
}

/** One uplink as it arrived, with what became of it: the ring `POST /api/formatters/test-recent` runs on. */
export interface RecentUplink {
  seq: number;
  appId: string;
  deviceId: string;
  network: NetworkName;
  receivedAt: string;
  /** The report as the network sent it (JSON text). */
  report: string;
  /** What was stored (`data`), or why it was not (`error`, the dead letter's). */
  outcome: { data: JsonObject } | { error: JsonObject };
  formatterVersion: number | null;
}

export interface BucketRecord {
  id: string;
  deviceId: string;
  appId: string;
  createdAt: string;
  rows: number;
  lastTs: string | null;
}

export interface BucketRow {
  ts: string;
  data: JsonObject;
  /** The uplink's measurements in TTS's normalized payload vocabulary, when it had any. */
  normalized?: JsonObject[];
}

/** One value of one quantity (`air.temperature`…) of a normalized measurement. */
export interface MeasurementRecord {
  appId: string;
  deviceId: string;
  /** The measurement's own `time`, else its uplink's receive time. */
  tsMs: number;
  value: number | boolean | string;
}

export const SEVERITIES = ['debug', 'info', 'warning', 'error'] as const;
export type Severity = (typeof SEVERITIES)[number];

export const EVENT_CATEGORIES = [
  'uplink',
  'formatter',
  'provisioning',
  'downlink',
  'auth',
  'webhook',
  'device',
  'profile',
  'connection',
  'system',
] as const;
export type EventCategory = (typeof EVENT_CATEGORIES)[number];

export interface EventInput {
  appId: string | null;
  deviceId: string | null;
  category: EventCategory;
  severity: Severity;
  title: string;
  details: JsonObject;
}

export interface EventRecord extends EventInput {
  id: number;
  ts: string;
}

export interface DeadLetter {
  id: number;
  appId: string;
  deviceId: string;
  reason: string;
  error: JsonObject;
  /** Whose report `body` is: its network turns it into an uplink again on replay. */
  network: NetworkName;
  body: JsonObject;
  createdAt: string;
  replayedAt: string | null;
}

export const MESSAGE_STATUSES = ['PENDING', 'DELIVERED', 'FAILED', 'TIMEOUT'] as const;
export type MessageStatus = (typeof MESSAGE_STATUSES)[number];

export const MESSAGE_DETAILS = [
  'waiting_for_uplink',
  'retrying',
  'submitted',
  'queued',
  'sent',
  'acknowledged',
  'not_acknowledged',
  'failed',
  'expired',
] as const;
export type MessageDetail = (typeof MESSAGE_DETAILS)[number];

/** A downlink message, tracked from creation to DELIVERED/FAILED/TIMEOUT. */
export interface MessageRecord {
  deviceId: string;
  messageId: string;
  appId: string;
  network: NetworkName;
  name: string | null;
  /** What the caller sent (JSON value, or a base64 string with encoding base64). */
  message: unknown;
  encoding: 'none' | 'base64';
  fPort: number | null;
  confirmed: boolean;
  priority: Priority;
  replace: boolean;
  ttlMin: number;
  status: MessageStatus;
  detail: MessageDetail;
  error: { code: string; message: string } | null;
  correlationId: string;
  /** IoTDA fields the caller sent (payload_format, topic, properties), echoed back. */
  iotda: JsonObject | null;
  /** What is sent (or will be) to the network, once formatted: the TTS push body, ThingPark's query parameters. */
  request: JsonObject | null;
  attempts: number;
  createdAt: string;
  updatedAt: string;
  finishedAt: string | null;
  nextAttemptAt: string | null;
  expiresAt: string;
}

export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

/** An outgoing status notification, kept until the receiver took it (or its attempts ran out). */
export interface NotificationRecord {
  id: number;
  url: string;
  body: JsonObject;
  attempts: number;
  nextAttemptAt: string;
  createdAt: string;
}
