import type { JsonObject } from '../../formatters/contract.js';
import type { Credentials } from '../networks/network.js';
import type { ProfileSettings } from '../schemas/profile.js';
import type {
  BucketRecord,
  BucketRow,
  DeadLetter,
  DeviceRecord,
  EventInput,
  EventRecord,
  MessageRecord,
  MessageStatus,
  NotificationRecord,
  Page,
  Severity,
  EventCategory,
  MeasurementRecord,
  FormatterVersion,
  RecentUplink,
} from './records.js';

/** Formatter versions kept per application; older ones are dropped as new ones are saved. */
export const FORMATTER_VERSIONS_KEPT = 100;

/** Everything one uplink changes, written in one transaction (and one group commit). */
export interface UplinkWrite {
  /**
   * Idempotency key, checked against the device's recent uplinks (recent-uplinks.ts): a second write
   * with the same key changes nothing. Recorded with `deviceSeen` (same device). Null for no dedupe
   * (a replay, or an uplink without f_cnt). `alsoSeenAs`: another fingerprint of the same f_cnt that
   * also makes it a duplicate (a TTS `uplink_normalized` after its `uplink_message`).
   */
  dedupe: { deviceId: string; sessionKeyId: string; fCnt: number; payload: string; alsoSeenAs?: string } | null;
  newDevice: Omit<DeviceRecord, 'downlinkReady'> | null;
  /** Recorded only if this write is the one that created the device (concurrent first uplinks race). */
  provisionEvents: EventInput[];
  newBucket: { id: string; deviceId: string; appId: string } | null;
  /** `measurements`: the values of `normalized`, one per quantity, written with the row. */
  bucketRow: { bucketId: string; tsMs: number; data: JsonObject; normalized?: JsonObject[]; measurements?: MeasurementWrite[] } | null;
  deadLetter: Omit<DeadLetter, 'id' | 'replayedAt' | 'createdAt'> | null;
  /** Set by replay: the dead letter this write resolves; a WriteConflict if it was resolved already. */
  resolvesDeadLetter: number | null;
  /**
   * Applied only if `lastSeenAt` is not older than what is stored: late or replayed uplinks do not turn
   * time back. `state` is the `device` property; `properties` are the others the uplink sets.
   */
  deviceSeen: { id: string; lastSeenAt: string; state: JsonObject; properties: Record<string, unknown> } | null;
  credentials: { deviceId: string; value: Credentials } | null;
  /** Kept in its application's ring of recent uplinks (the oldest beyond the ring's size drop out). */
  recent: Omit<RecentUplink, 'seq'> | null;
  events: EventInput[];
}

export interface UplinkWriteResult {
  duplicate: boolean;
  deadLetterId: number | null;
  events: EventRecord[];
}

export interface EventQuery {
  appId?: string;
  deviceId?: string;
  category?: EventCategory;
  severity?: Severity;
  afterId?: number;
  limit: number;
}

export interface MeasurementWrite extends MeasurementRecord {
  quantity: string;
}

export interface MeasurementQuery {
  quantity: string;
  appId?: string;
  deviceId?: string;
  fromMs?: number;
  toMs?: number;
  limit: number;
  order: 'asc' | 'desc';
}

/** Which state a message was in: what a conditional `updateMessage` compares. */
export type MessageState = Pick<MessageRecord, 'updatedAt' | 'status' | 'detail' | 'attempts'>;

/** What another plugin instance sharing the store changed (see `Store.onNotice`). */
export type StoreNotice =
  | { kind: 'events'; events: EventRecord[] }
  | { kind: 'profile'; appId: string }
  | { kind: 'device-deleted'; deviceId: string }
  /** Notices may have been missed (the store's link to the others was down): drop every cache. */
  | { kind: 'resync' };

/** A claim on due work: each item goes to one caller until `leaseUntil` (then a crashed holder's work is due again). */
export interface ClaimQuery {
  dueBefore: string;
  leaseUntil: string;
  limit: number;
}

export interface DeadLetterQuery {
  appId?: string;
  limit: number;
}

export interface BucketQuery {
  fromMs?: number;
  toMs?: number;
  limit: number;
  order: 'asc' | 'desc';
}

/**
 * Persistence for the plugin. Async so a PostgreSQL implementation can share it; the SQLite one
 * batches writes into group commits and answers each only once its transaction is durable.
 */
export interface Store {
  // profiles
  /** `formatterVersion`: the number of the formatter in force (its last version). */
  getProfile(appId: string): Promise<{ settings: ProfileSettings; webhookToken: string; createdAt: string; updatedAt: string; formatterVersion: number } | null>;
  listProfiles(): Promise<{ appId: string; settings: ProfileSettings; createdAt: string; updatedAt: string }[]>;
  /**
   * Creates (with the given token) or replaces the settings (keeping the token). A formatter other
   * than the last version's becomes a new version (with `note`), in the same transaction.
   */
  putProfile(appId: string, settings: ProfileSettings, newToken: string, note?: string | null): Promise<{ created: boolean; formatterVersion: number }>;
  /** Deletes the profile and its formatter versions. */
  deleteProfile(appId: string): Promise<boolean>;
  /** Newest first. */
  listFormatterVersions(appId: string): Promise<FormatterVersion[]>;
  getFormatterVersion(appId: string, version: number): Promise<FormatterVersion | null>;
  setFormatterVersionNote(appId: string, version: number, note: string | null): Promise<boolean>;
  /** The application's ring of recent uplinks, newest first. */
  listRecentUplinks(appId: string, limit: number): Promise<RecentUplink[]>;
  setWebhookToken(appId: string, token: string): Promise<boolean>;

  // devices
  getDevice(id: string): Promise<DeviceRecord | null>;
  listDevices(q: { appId?: string; search?: string; limit: number; cursor?: string }): Promise<Page<DeviceRecord>>;
  deleteDevice(id: string): Promise<boolean>;
  setDeviceProperty(id: string, name: string, value: unknown): Promise<boolean>;
  getCredentials(deviceId: string): Promise<Credentials | null>;
  /** Stores credentials for an existing device; false when the device does not exist. */
  putCredentials(deviceId: string, value: Credentials): Promise<boolean>;

  // the uplink path
  commitUplink(write: UplinkWrite): Promise<UplinkWriteResult>;

  // buckets
  listBuckets(q: { appId?: string; deviceId?: string }): Promise<BucketRecord[]>;
  getBucket(id: string): Promise<BucketRecord | null>;
  readBucket(id: string, q: BucketQuery): Promise<BucketRow[]>;

  // normalized measurements
  listMeasurements(q: MeasurementQuery): Promise<MeasurementRecord[]>;
  /** Of `quantities`, those with at least one value (of the application, when given). */
  measuredQuantities(quantities: readonly string[], q: { appId?: string }): Promise<string[]>;

  // dead letters
  listDeadLetters(q: DeadLetterQuery): Promise<DeadLetter[]>;
  /** Ids only, oldest first, of an application's dead letters not replayed yet. */
  pendingDeadLetterIds(appId: string, limit: number): Promise<number[]>;
  getDeadLetter(id: number): Promise<DeadLetter | null>;

  // events
  appendEvents(events: EventInput[]): Promise<EventRecord[]>;
  listEvents(q: EventQuery): Promise<EventRecord[]>;

  // downlink messages
  insertMessage(m: MessageRecord): Promise<boolean>;
  getMessage(deviceId: string, messageId: string): Promise<MessageRecord | null>;
  getMessageByCorrelation(correlationId: string): Promise<MessageRecord | null>;
  listMessages(deviceId: string, q: { limit: number; offset: number }): Promise<{ items: MessageRecord[]; total: number }>;
  /**
   * Writes the message; with `expected`, only if the stored one is still at that state (another
   * writer, a network report on this instance or another, may have moved it meanwhile): false then,
   * and nothing written.
   */
  updateMessage(m: MessageRecord, expected?: MessageState): Promise<boolean>;
  /** Messages that wait for something: due retries, push URLs now known, TTL expiries. */
  listOpenMessages(q: { deviceId?: string; dueBefore?: string; statuses: MessageStatus[]; limit: number }): Promise<MessageRecord[]>;
  /**
   * PENDING messages whose retry or expiry is due and that no live lease holds, oldest first, each
   * leased to this caller until `leaseUntil`; `updateMessage` ends the lease. Several instances
   * calling at once get disjoint sets.
   */
  claimDueMessages(q: ClaimQuery): Promise<MessageRecord[]>;

  // status notifications (outbox)
  enqueueNotification(url: string, body: JsonObject): Promise<void>;
  listDueNotifications(dueBefore: string, limit: number): Promise<NotificationRecord[]>;
  /** Due notifications, each leased by moving its next attempt to `leaseUntil`; disjoint between callers. */
  claimDueNotifications(q: ClaimQuery): Promise<NotificationRecord[]>;
  /** `nextAttemptAt` null removes it (delivered, or given up). */
  rescheduleNotification(id: number, attempts: number, nextAttemptAt: string | null): Promise<void>;

  /**
   * Changes made through other instances sharing this store: their events (for live streams),
   * profile saves and device deletions (for caches), as they commit. A store only one instance
   * opens never calls it.
   */
  onNotice(listener: (notice: StoreNotice) => void): () => void;

  /** Resolves when the store answers a query (health checks); rejects when it cannot be reached. */
  ping(): Promise<void>;

  close(): Promise<void>;
}
