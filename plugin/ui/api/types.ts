/**
 * Shapes of the plugin API as the UI uses them. Settings, enums and the formatter contract come
 * from the server's own modules (type-only or constant-only imports), so there is one source.
 */
import type { FormatterError, LogEntry } from '../../../formatters/contract.js';
import type { Difference } from '../../../formatters/json-diff.js';
import type { FormatterTemplate } from '../../../formatters/templates.js';
import type { DeviceIds, NetworkName } from '../../networks/network-ids.js';
import type { TtsMqttSettings } from '../../mqtt/mqtt-settings.js';
import type { ThingparkSetup } from '../../networks/thingpark/connection-setup.js';
import type { CodecExampleResult, CodecExamplesAnswer, CodecExamplesRequest } from '../../schemas/codec-examples.js';
import type { ThingparkMqttSettings, ThingparkSettings } from '../../networks/thingpark/settings.js';
import type { WebhookSetup } from '../../networks/tts/webhook-template.js';
import type { RecentTest } from '../../schemas/formatter-test.js';
import type { ProfileSettings } from '../../schemas/profile.js';
import type { EventCategory, MessageDetail, MessageStatus, Severity } from '../../store/records.js';
import type { JsonSchema } from '../schema/json-schema.js';

export type {
  CodecExampleResult,
  CodecExamplesAnswer,
  CodecExamplesRequest,
  DeviceIds,
  EventCategory,
  FormatterError,
  FormatterTemplate,
  LogEntry,
  MessageStatus,
  NetworkName,
  ProfileSettings,
  Severity,
  ThingparkMqttSettings,
  ThingparkSettings,
  TtsMqttSettings,
};

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };

/**
 * A formatter the circuit breaker suspended after repeated timeouts or memory errors: its uplinks
 * are kept as dead letters (reason `suspended`) until `suspended_until` or until its script is saved.
 */
export interface FormatterSuspension {
  app_id: string;
  /** ISO 8601. */
  suspended_until: string;
  /** Timeouts, memory errors and crashes in a row. */
  failures: number;
  /** Formatter processes its calls killed or crashed in the last 10 minutes. */
  kills: number;
  last_error: FormatterError;
}

/** A broker connection as the API shows it: the password is write-only, `password_set` tells whether one is stored. */
export type MqttView<T extends { password?: string }> = Omit<T, 'password'> & { password_set: boolean };
export type TtsMqttView = MqttView<TtsMqttSettings>;

/** A ThingPark connection as the API shows it: the AS key is write-only, `as_key_set` tells whether one is stored. */
export type ThingparkView = Omit<ThingparkSettings, 'as_key' | 'mqtt'> & { as_key_set: boolean; mqtt?: MqttView<ThingparkMqttSettings> };

export interface Profile extends Omit<ProfileSettings, 'thingpark' | 'tts_mqtt'> {
  app_id: string;
  thingpark?: ThingparkView;
  tts_mqtt?: TtsMqttView;
  created_at: string;
  updated_at: string;
  /**
   * The suspended formatters this profile runs: its application's (0 or 1), or for Default, those
   * of applications without a profile of their own. Saving the profile lifts them.
   */
  formatter_suspensions: FormatterSuspension[];
}

/** A profile's MQTT connection (plugin/mqtt/mqtt-link.ts; copied, since that module is Node code). */
export type ConnectionState = 'connected' | 'connecting' | 'error' | 'disabled';

/** GET /api/profiles/{app_id}/connection: `disabled` when the profile holds no connection. */
export interface ConnectionStatus {
  state: ConnectionState;
  /** Why the last attempt failed or the connection dropped; null once connected. */
  last_error: string | null;
  /** ISO 8601: when the state began. */
  since: string | null;
  /** Attempts that failed since the last good connection. */
  failed_attempts: number;
}

export interface Device {
  id: string;
  app_id: string;
  network: NetworkName;
  /** Who the device is on its network (neutral: TTS device id or ThingPark DevEUI as `network_device_id`). */
  ids: DeviceIds;
  asset_type: string | null;
  asset_group: string | null;
  bucket_id: string | null;
  connection_timeout_min: number;
  created_at: string;
  last_seen_at: string | null;
  connected: boolean;
  properties: { downlink: Json } & { [name: string]: Json };
  downlink_ready: boolean;
}

export interface DownlinkMessage {
  message_id: string;
  name: string | null;
  message: Json;
  status: MessageStatus;
  detail: MessageDetail;
  error?: { code: string; message: string };
  f_port: number | null;
  confirmed: boolean;
  priority: string;
  attempts: number;
  created_time: string | null;
  finished_time: string | null;
  network: NetworkName;
  /** What is (or will be) sent to the network: the TTS push body, ThingPark's LRC query parameters. */
  request: JsonObject | null;
}

export interface MessagePage {
  device_id: string;
  total: number;
  messages: DownlinkMessage[];
}

export interface Bucket {
  id: string;
  device_id: string;
  app_id: string;
  created_at: string;
  rows: number;
  last_ts: string | null;
}

export interface BucketRow {
  ts: string;
  data: JsonObject;
  /** The uplink's measurements in TTS's normalized payload vocabulary (`{air: {temperature}}`, optionally `time`), when it had any. */
  normalized?: JsonObject[];
}

/** A quantity of TTS's normalized payload schema (`air.temperature`); `unit` is empty for non-numeric ones. */
export interface Quantity {
  quantity: string;
  unit: string;
  description: string;
  /** Whether any device (of the application asked about) reported it. */
  measured: boolean;
}

/** Numbers, or a boolean/string for `water.leak`, `action.motion.detected`, `action.contactState`, `air.location`. */
export type MeasurementValue = number | boolean | string;

export interface MeasurementPoint {
  app_id: string;
  device_id: string;
  /** The measurement's own time, else its uplink's receive time (ISO 8601). */
  ts: string;
  value: MeasurementValue;
}

export interface MeasurementList {
  quantity: string;
  unit: string;
  items: MeasurementPoint[];
}

export interface DeadLetter {
  id: number;
  app_id: string;
  device_id: string;
  /** `formatter_error`, `suspended`, `provisioning_failed`, … */
  reason: string;
  /** A formatter's failure also names the version that ran (`formatter_version`). */
  error: JsonObject;
  /** Whose report `body` is. */
  network: NetworkName;
  created_at: string;
  replayed_at: string | null;
  body: JsonObject;
}

export interface PluginEvent {
  id: number;
  ts: string;
  app_id: string | null;
  device_id: string | null;
  category: EventCategory;
  severity: Severity;
  title: string;
  details: JsonObject;
}

export interface EventFilters {
  app_id?: string;
  device_id?: string;
  category?: EventCategory;
  severity?: Severity;
}

export interface FormatterTestRequest {
  app_id: string;
  direction: 'uplink' | 'downlink';
  formatter: ProfileSettings['formatter'];
  input: Json;
  f_port?: number;
}

export interface FormatterTestResult {
  ok: boolean;
  output: Json;
  logs: LogEntry[];
  warnings: string[];
  errors: FormatterError[];
  duration_ms: number;
  /** Uplinks: the measurements normalized from the output (null when none), what was dropped from them, and why normalizeUplink failed. */
  normalized?: JsonObject[] | null;
  normalized_warnings?: string[];
  normalized_error?: FormatterError;
  /** Downlinks: the application's network and what would be sent to it. */
  network?: NetworkName;
  request?: JsonObject;
}

/** A saved formatter of a profile (GET /api/profiles/{app_id}/formatter-versions), newest first. */
export interface FormatterVersion {
  version: number;
  created_at: string;
  note: string | null;
  /** The one the profile runs. */
  current: boolean;
  type: ProfileSettings['formatter']['type'];
  timeout_ms: number;
  /** The script's size in bytes (UTF-8). */
  size: number;
}

export interface FormatterVersionList {
  current: number;
  items: FormatterVersion[];
}

export type FormatterVersionDetail = FormatterVersion & { script: string };

/** POST /api/formatters/test-recent: a formatter (the saved one when left out) over the application's recent uplinks. */
export type RecentTestRequest = RecentTest;

/** Against what was stored then: the same output, another one, or none (the new formatter failed). */
export type RecentStatus = 'same' | 'changed' | 'failed';

/** One recent uplink run again (plugin/pipeline/recent-test.ts `RecentRun`; copied, that module is Node code). */
export interface RecentRun {
  seq: number;
  device_id: string;
  received_at: string;
  f_port: number;
  /** The version that ran when it arrived (null: before versions were kept). */
  formatter_version: number | null;
  status: RecentStatus;
  /** What was stored then; null when it became a dead letter (`stored_error` says why). */
  stored: JsonObject | null;
  stored_error: JsonObject | null;
  output: JsonObject | null;
  error: FormatterError | null;
  warnings: string[];
  logs: LogEntry[];
  /** `expected` is the stored side, `actual` the new output. */
  differences: Difference[];
}

export interface RecentTestAnswer {
  app_id: string;
  counts: Record<RecentStatus, number> & { total: number };
  /** Newest first. */
  items: RecentRun[];
}

/** POST /api/dead-letters/replay-all: each pending dead letter of the application once, oldest first. */
export interface ReplayAllResult {
  app_id: string;
  replayed: number;
  stored: number;
  /** Failed again: each is a new dead letter now. */
  failed: number;
  /** Replayed meanwhile by someone else, or holding no uplink. */
  skipped: number;
  /** More were waiting than one call replays. */
  more: boolean;
}

/** What to paste into the network: the TTS custom webhook, or ThingPark's AS routing profile (its further fields, e.g. steps, shown as they come). */
export type ConnectionSetup = (WebhookSetup & { network: 'tts' }) | ThingparkSetup;
export type { ThingparkSetup, WebhookSetup };

/** The part of /manifest.json the UI reads. */
export interface Manifest {
  name: string;
  version: string;
  ui: { title: string };
  settings: { scope: string; schema: JsonSchema };
}

