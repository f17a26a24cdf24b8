import Database from 'better-sqlite3';
import type { JsonObject } from '../../formatters/contract.js';
import type { ProfileSettings } from '../schemas/profile.js';
import type { BucketRecord, BucketRow, DeviceRecord, EventInput, EventRecord, MessageRecord, MessageStatus, NotificationRecord, Page, MeasurementRecord, RecentUplink } from './records.js';
import type { Credentials } from '../networks/network.js';
import { FORMATTER_VERSIONS_KEPT, type BucketQuery, type ClaimQuery, type DeadLetterQuery, type EventQuery, type MeasurementQuery, type MessageState, type Store, type UplinkWrite, type UplinkWriteResult } from './store.js';
import { MIGRATIONS } from './sqlite-schema.js';
import { OwnedElsewhere, WriteConflict } from './errors.js';
import { Checkpointer } from './checkpointer.js';
import { boundedEvent, DEFAULT_EVENT_CAP_BYTES } from './event-size.js';
import { GroupCommit } from './group-commit.js';
import { WalSync } from './wal-sync.js';
import { where, type SqlValue } from './sql-filter.js';
import { hasRecentUplink, parseRecentUplinks, withRecentUplink, type RecentUplinks } from './recent-uplinks.js';
import { deviceListFilter, devicePage, eventListFilter, toBucket, toBucketRow, toDeadLetter, toDevice, toEvent, toFormatterVersion, toListedProfile, toMeasurement, toMessage, toNotification, toProfile, toRecentUplink } from './rows.js';
import type { BucketDataRow, BucketStatsRow, DeadLetterRow, DeviceRow, EventRow, FormatterVersionRow, MeasurementRow, MessageRow, NotificationRow, ProfileListRow, ProfileRow, RecentRow } from './rows.js';

export interface SqliteStoreOptions {
  /** Path of the database file (":memory:" is refused: data must be durable). */
  file: string;
  /** Events kept; older ones are trimmed. */
  eventCap: number;
  /** Bytes of titles and details kept (default 256 MiB); older events are trimmed. */
  eventCapBytes?: number;
  /** Uplinks kept per application in its ring of recent traffic (default 200). */
  recentPerApp?: number;
  now: () => Date;
}

/** Uplinks a ring of recent traffic may hold beyond its size before they are trimmed together. */
const RECENT_TRIM_EVERY = 32;

/** A device row with whether it has credentials (0 or 1); its properties are read apart. */
interface SqliteDeviceRow extends DeviceRow {
  has_credentials: number;
}

/** A bucket's own row: its row count and newest time are read apart. */
type BucketOwnRow = Omit<BucketStatsRow, 'rows' | 'last_ts'>;

/** Embedded default store: better-sqlite3 in WAL mode, every (group) commit synced to disk before it is answered. */
export class SqliteStore implements Store {
  private readonly db: Database.Database;
  private readonly commits: GroupCommit;
  private readonly checkpointer: Checkpointer;
  private readonly walSync: WalSync;
  private readonly stmt;
  private eventsSinceTrim = 0;
  /** Last sequence number of each application's ring of recent uplinks written since start. */
  private readonly recentSeq = new Map<string, number>();
  private readonly recentPerApp: number;
  /** Characters of titles and details in the events table, counted at start and kept up to date. */
  private eventBytes = 0;

  constructor(private readonly options: SqliteStoreOptions) {
    this.recentPerApp = options.recentPerApp ?? 200;
    this.db = new Database(options.file);
    this.db.pragma('journal_mode = WAL');
    // NORMAL writes commits to the WAL without syncing; WalSync syncs the WAL off the event loop and
    // every write is answered only after that, so a commit is on disk before its webhook is answered.
    this.db.pragma('synchronous = NORMAL');
    this.db.pragma('foreign_keys = OFF');
    this.db.pragma('busy_timeout = 5000');
    // Checkpoints run in the Checkpointer's thread; this high threshold is only a safety net.
    this.db.pragma('wal_autocheckpoint = 25000');
    this.migrate();
    this.eventBytes = (this.db.prepare('SELECT COALESCE(SUM(LENGTH(title) + LENGTH(details)), 0) AS n FROM events').get() as { n: number }).n;
    this.walSync = new WalSync(`${options.file}-wal`);
    this.commits = new GroupCommit(this.db, () => this.walSync.sync());
    this.checkpointer = new Checkpointer(options.file);
    const db = this.db;
    this.stmt = {
      getProfile: db.prepare<[string], ProfileRow>(
        `SELECT settings, webhook_token, created_at, updated_at,
           (SELECT MAX(version) FROM formatter_versions v WHERE v.app_id = profiles.app_id) AS formatter_version
         FROM profiles WHERE app_id = ?`,
      ),
      lastFormatterVersion: db.prepare<[string], { version: number; formatter: string }>(
        'SELECT version, formatter FROM formatter_versions WHERE app_id = ? ORDER BY version DESC LIMIT 1',
      ),
      insertFormatterVersion: db.prepare('INSERT INTO formatter_versions (app_id, version, created_at, note, formatter) VALUES (?, ?, ?, ?, ?)'),
      trimFormatterVersions: db.prepare('DELETE FROM formatter_versions WHERE app_id = ? AND version <= ?'),
      deleteFormatterVersions: db.prepare('DELETE FROM formatter_versions WHERE app_id = ?'),
      listFormatterVersions: db.prepare<[string], FormatterVersionRow>(
        'SELECT version, created_at, note, formatter FROM formatter_versions WHERE app_id = ? ORDER BY version DESC',
      ),
      getFormatterVersion: db.prepare<[string, number], FormatterVersionRow>(
        'SELECT version, created_at, note, formatter FROM formatter_versions WHERE app_id = ? AND version = ?',
      ),
      setFormatterVersionNote: db.prepare('UPDATE formatter_versions SET note = ? WHERE app_id = ? AND version = ?'),
      lastRecentSeq: db.prepare<[string], { seq: number | null }>('SELECT MAX(seq) AS seq FROM recent_traffic WHERE app_id = ?'),
      insertRecent: db.prepare(
        `INSERT INTO recent_traffic (app_id, seq, device_id, network, received_at, report, outcome, formatter_version)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
      ),
      trimRecent: db.prepare('DELETE FROM recent_traffic WHERE app_id = ? AND seq <= ?'),
      listRecent: db.prepare<[string, number], RecentRow>('SELECT * FROM recent_traffic WHERE app_id = ? ORDER BY seq DESC LIMIT ?'),
      listProfiles: db.prepare<[], ProfileListRow>(
        "SELECT app_id, settings, created_at, updated_at FROM profiles ORDER BY app_id = 'default' DESC, app_id",
      ),
      insertProfile: db.prepare(
        'INSERT INTO profiles (app_id, settings, webhook_token, created_at, updated_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT (app_id) DO NOTHING',
      ),
      updateProfile: db.prepare('UPDATE profiles SET settings = ?, updated_at = ? WHERE app_id = ?'),
      deleteProfile: db.prepare('DELETE FROM profiles WHERE app_id = ?'),
      setToken: db.prepare('UPDATE profiles SET webhook_token = ?, updated_at = ? WHERE app_id = ?'),
      getDevice: db.prepare<[string], SqliteDeviceRow>(
        `SELECT d.*, EXISTS (SELECT 1 FROM device_credentials c WHERE c.device_id = d.id) AS has_credentials
         FROM devices d WHERE d.id = ?`,
      ),
      // (name, value) pairs, as toDevice takes them.
      deviceProps: db.prepare<[string], [string, string]>('SELECT name, value FROM device_properties WHERE device_id = ?').raw(),
      insertDevice: db.prepare(
        `INSERT INTO devices (id, app_id, network, ids, asset_type, asset_group, connection_timeout_min, bucket_id, created_at, last_seen_at)
         VALUES (@id, @app_id, @network, @ids, @asset_type, @asset_group, @connection_timeout_min, @bucket_id, @created_at, @last_seen_at)
         ON CONFLICT (id) DO NOTHING`,
      ),
      deviceOwner: db.prepare<[string], { app_id: string }>('SELECT app_id FROM devices WHERE id = ?'),
      recentUplinks: db.prepare<[string], { recent_uplinks: string | null }>('SELECT recent_uplinks FROM devices WHERE id = ?'),
      deviceSeen: db.prepare(
        `UPDATE devices SET last_seen_at = @ts, state = @state, recent_uplinks = COALESCE(@recent, recent_uplinks)
         WHERE id = @id AND (last_seen_at IS NULL OR last_seen_at <= @ts)`,
      ),
      setRecentUplinks: db.prepare('UPDATE devices SET recent_uplinks = ? WHERE id = ?'),
      upsertProp: db.prepare(
        `INSERT INTO device_properties (device_id, name, value, updated_at) VALUES (?, ?, ?, ?)
         ON CONFLICT (device_id, name) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`,
      ),
      deleteDevice: db.prepare('DELETE FROM devices WHERE id = ?'),
      deleteDeviceProps: db.prepare('DELETE FROM device_properties WHERE device_id = ?'),
      deleteDeviceCreds: db.prepare('DELETE FROM device_credentials WHERE device_id = ?'),
      getCreds: db.prepare<[string], { value: string }>('SELECT value FROM device_credentials WHERE device_id = ?'),
      upsertCreds: db.prepare(
        `INSERT INTO device_credentials (device_id, value, updated_at) VALUES (?, ?, ?)
         ON CONFLICT (device_id) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`,
      ),
      insertBucket: db.prepare('INSERT OR IGNORE INTO buckets (id, device_id, app_id, created_at) VALUES (?, ?, ?, ?)'),
      insertRow: db.prepare('INSERT INTO bucket_rows (bucket_id, ts, data, normalized) VALUES (?, ?, ?, ?)'),
      insertMeasurement: db.prepare('INSERT INTO measurements (quantity, ts, app_id, device_id, value) VALUES (?, ?, ?, ?, ?)'),
      measured: db.prepare<[string], { one: number }>('SELECT 1 AS one FROM measurements WHERE quantity = ? LIMIT 1'),
      measuredInApp: db.prepare<[string, string], { one: number }>('SELECT 1 AS one FROM measurements WHERE quantity = ? AND app_id = ? LIMIT 1'),
      insertDeadLetter: db.prepare(
        'INSERT INTO dead_letters (app_id, device_id, reason, error, network, body, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)',
      ),
      resolveDeadLetter: db.prepare('UPDATE dead_letters SET replayed_at = ? WHERE id = ? AND replayed_at IS NULL'),
      insertEvent: db.prepare(
        'INSERT INTO events (ts, app_id, device_id, category, severity, title, details) VALUES (?, ?, ?, ?, ?, ?, ?)',
      ),
      trimEvents: db.prepare('DELETE FROM events WHERE id <= (SELECT MAX(id) FROM events) - ?'),
      weighTrimmedEvents: db.prepare<[number], { n: number }>(
        'SELECT COALESCE(SUM(LENGTH(title) + LENGTH(details)), 0) AS n FROM events WHERE id <= (SELECT MAX(id) FROM events) - ?',
      ),
      getBucket: db.prepare<[string], BucketOwnRow>('SELECT * FROM buckets WHERE id = ?'),
      bucketStats: db.prepare<[string], { rows: number; last_ts: number | null }>(
        'SELECT COUNT(*) AS rows, MAX(ts) AS last_ts FROM bucket_rows WHERE bucket_id = ?',
      ),
      getDeadLetter: db.prepare<[number], DeadLetterRow>('SELECT * FROM dead_letters WHERE id = ?'),
      insertMessage: db.prepare(
        `INSERT OR IGNORE INTO messages (device_id, message_id, app_id, correlation_id, status, created_at, next_attempt_at, expires_at, record)
         VALUES (@device_id, @message_id, @app_id, @correlation_id, @status, @created_at, @next_attempt_at, @expires_at, @record)`,
      ),
      updateMessage: db.prepare(
        `UPDATE messages SET status = @status, next_attempt_at = @next_attempt_at, record = @record, lease_until = NULL
         WHERE device_id = @device_id AND message_id = @message_id`,
      ),
      updateMessageIf: db.prepare(
        `UPDATE messages SET status = @status, next_attempt_at = @next_attempt_at, record = @record, lease_until = NULL
         WHERE device_id = @device_id AND message_id = @message_id
           AND status = @was_status AND record ->> '$.updatedAt' = @was_updated_at AND record ->> '$.detail' = @was_detail
           AND record ->> '$.attempts' = @was_attempts`,
      ),
      getMessage: db.prepare<[string, string], MessageRow>(
        'SELECT record FROM messages WHERE device_id = ? AND message_id = ?',
      ),
      getMessageByCorrelation: db.prepare<[string], MessageRow>(
        'SELECT record FROM messages WHERE correlation_id = ?',
      ),
      listMessages: db.prepare<[string, number, number], MessageRow>(
        'SELECT record FROM messages WHERE device_id = ? ORDER BY created_at DESC, rowid DESC LIMIT ? OFFSET ?',
      ),
      countMessages: db.prepare<[string], { n: number }>('SELECT COUNT(*) AS n FROM messages WHERE device_id = ?'),
      deleteDeviceMessages: db.prepare('DELETE FROM messages WHERE device_id = ?'),
      insertNotification: db.prepare('INSERT INTO notifications (url, body, next_attempt_at, created_at) VALUES (?, ?, ?, ?)'),
      dueNotifications: db.prepare<[string, number], NotificationRow>(
        'SELECT * FROM notifications WHERE next_attempt_at <= ? ORDER BY id LIMIT ?',
      ),
      claimMessages: db.prepare<[string, string, string, string, number], { record: string; created_at: string; rowid: number }>(
        `UPDATE messages SET lease_until = ? WHERE rowid IN (
           SELECT rowid FROM messages WHERE status = 'PENDING' AND (next_attempt_at <= ? OR expires_at <= ?)
             AND (lease_until IS NULL OR lease_until <= ?) ORDER BY created_at, rowid LIMIT ?)
         RETURNING record, created_at, rowid`,
      ),
      rescheduleNotification: db.prepare('UPDATE notifications SET attempts = ?, next_attempt_at = ? WHERE id = ?'),
      deleteNotification: db.prepare('DELETE FROM notifications WHERE id = ?'),
    };
  }

  private migrate(): void {
    const version = this.db.pragma('user_version', { simple: true }) as number;
    for (let v = version; v < MIGRATIONS.length; v++) {
      this.db.transaction(() => {
        this.db.exec(MIGRATIONS[v]);
        this.db.pragma(`user_version = ${v + 1}`);
      })();
    }
  }

  private nowIso(): string {
    return this.options.now().toISOString();
  }

  // ---- profiles

  async getProfile(appId: string) {
    const row = this.stmt.getProfile.get(appId);
    return row ? toProfile(row) : null;
  }

  async listProfiles() {
    return this.stmt.listProfiles.all().map(toListedProfile);
  }

  async putProfile(appId: string, settings: ProfileSettings, newToken: string, note: string | null = null) {
    return this.commits.run(() => {
      const now = this.nowIso();
      const json = JSON.stringify(settings);
      const inserted = this.stmt.insertProfile.run(appId, json, newToken, now, now).changes > 0;
      if (!inserted) this.stmt.updateProfile.run(json, now, appId);
      const formatter = JSON.stringify(settings.formatter);
      const last = this.stmt.lastFormatterVersion.get(appId);
      if (last && last.formatter === formatter) return { created: inserted, formatterVersion: last.version };
      const version = (last?.version ?? 0) + 1;
      this.stmt.insertFormatterVersion.run(appId, version, now, note, formatter);
      this.stmt.trimFormatterVersions.run(appId, version - FORMATTER_VERSIONS_KEPT);
      return { created: inserted, formatterVersion: version };
    });
  }

  async deleteProfile(appId: string) {
    return this.commits.run(() => {
      this.stmt.deleteFormatterVersions.run(appId);
      return this.stmt.deleteProfile.run(appId).changes > 0;
    });
  }

  async listFormatterVersions(appId: string) {
    return this.stmt.listFormatterVersions.all(appId).map(toFormatterVersion);
  }

  async getFormatterVersion(appId: string, version: number) {
    const row = this.stmt.getFormatterVersion.get(appId, version);
    return row ? toFormatterVersion(row) : null;
  }

  async setFormatterVersionNote(appId: string, version: number, note: string | null) {
    return this.commits.run(() => this.stmt.setFormatterVersionNote.run(note, appId, version).changes > 0);
  }

  async listRecentUplinks(appId: string, limit: number): Promise<RecentUplink[]> {
    return this.stmt.listRecent.all(appId, Math.min(limit, this.recentPerApp)).map(toRecentUplink);
  }

  /** Next sequence number of an application's ring, from memory after its first uplink since start. */
  private nextRecentSeq(appId: string): number {
    const next = (this.recentSeq.get(appId) ?? this.stmt.lastRecentSeq.get(appId)?.seq ?? 0) + 1;
    this.recentSeq.set(appId, next);
    return next;
  }

  async setWebhookToken(appId: string, token: string) {
    return this.commits.run(() => this.stmt.setToken.run(token, this.nowIso(), appId).changes > 0);
  }

  // ---- devices

  private deviceRecord(row: SqliteDeviceRow): DeviceRecord {
    return toDevice(row, this.stmt.deviceProps.all(row.id), row.has_credentials === 1);
  }

  async getDevice(id: string) {
    const row = this.stmt.getDevice.get(id);
    return row ? this.deviceRecord(row) : null;
  }

  async listDevices(q: { appId?: string; search?: string; limit: number; cursor?: string }): Promise<Page<DeviceRecord>> {
    const filter = deviceListFilter(q, 'LIKE');
    const sql = `SELECT d.*, EXISTS (SELECT 1 FROM device_credentials c WHERE c.device_id = d.id) AS has_credentials
      FROM devices d ${filter.sql} ORDER BY d.id LIMIT ?`;
    const rows = this.db.prepare<SqlValue[], SqliteDeviceRow>(sql).all(...filter.params, q.limit + 1);
    return devicePage(rows, q.limit, (r) => this.deviceRecord(r));
  }

  async deleteDevice(id: string) {
    return this.commits.run(() => {
      const gone = this.stmt.deleteDevice.run(id).changes > 0;
      if (gone) {
        this.stmt.deleteDeviceProps.run(id);
        this.stmt.deleteDeviceCreds.run(id);
        this.stmt.deleteDeviceMessages.run(id);
      }
      return gone;
    });
  }

  async setDeviceProperty(id: string, name: string, value: unknown) {
    return this.commits.run(() => {
      if (!this.stmt.getDevice.get(id)) return false;
      this.stmt.upsertProp.run(id, name, JSON.stringify(value), this.nowIso());
      return true;
    });
  }

  async getCredentials(deviceId: string): Promise<Credentials | null> {
    const row = this.stmt.getCreds.get(deviceId);
    return row ? (JSON.parse(row.value) as Credentials) : null;
  }

  async putCredentials(deviceId: string, c: Credentials) {
    return this.commits.run(() => {
      if (!this.stmt.getDevice.get(deviceId)) return false;
      this.stmt.upsertCreds.run(deviceId, JSON.stringify(c), this.nowIso());
      return true;
    });
  }

  // ---- uplinks

  /** Told each WAL sync's duration in seconds (GET /metrics); null stops it. */
  onCommitSync(listener: ((seconds: number) => void) | null): void {
    this.commits.onSync = listener;
  }

  /** Drops the oldest events until the rest weigh at most 90% of the byte cap. */
  private trimEventsToBytes(): void {
    const keep = 0.9 * (this.options.eventCapBytes ?? DEFAULT_EVENT_CAP_BYTES);
    let total = 0;
    let oldestKept: number | null = null;
    for (const row of this.db.prepare('SELECT id, LENGTH(title) + LENGTH(details) AS n FROM events ORDER BY id DESC').iterate() as Iterable<{ id: number; n: number }>) {
      if (total + row.n > keep) break;
      total += row.n;
      oldestKept = row.id;
    }
    this.db.prepare('DELETE FROM events WHERE id < ?').run(oldestKept ?? Number.MAX_SAFE_INTEGER);
    this.eventBytes = total;
  }

  private insertEvents(events: EventInput[]): EventRecord[] {
    const ts = this.nowIso();
    const out = events.map((e) => {
      const { title, details, cut } = boundedEvent(e);
      const info = this.stmt.insertEvent.run(ts, e.appId, e.deviceId, e.category, e.severity, title, details);
      this.eventBytes += title.length + details.length;
      return { ...e, title, details: cut ? (JSON.parse(details) as JsonObject) : e.details, id: Number(info.lastInsertRowid), ts };
    });
    this.eventsSinceTrim += events.length;
    // Trimming in small bulks keeps the cap without a DELETE per insert, and without one long pause.
    if (this.eventsSinceTrim >= Math.max(100, this.options.eventCap / 100)) {
      // The rows that go are a range of the primary key: cheap to weigh before they are deleted.
      this.eventBytes -= this.stmt.weighTrimmedEvents.get(this.options.eventCap)?.n ?? 0;
      this.stmt.trimEvents.run(this.options.eventCap);
      this.eventsSinceTrim = 0;
    }
    if (this.eventBytes > (this.options.eventCapBytes ?? DEFAULT_EVENT_CAP_BYTES)) this.trimEventsToBytes();
    return out;
  }

  /**
   * Throws OwnedElsewhere when the write would provision a device or bucket that another
   * application's write provisioned since the pipeline found its id free (their first uplinks
   * raced): its rows, state and credentials must not land on another application's. Before
   * anything is written, and before the dedupe (it is no duplicate of the owner's uplinks).
   */
  private refuseOtherOwner(w: UplinkWrite): void {
    const d = w.newDevice;
    const device = d ? this.stmt.deviceOwner.get(d.id) : undefined;
    if (d && device && device.app_id !== d.appId) throw new OwnedElsewhere('device', d.id, device.app_id);
    const b = w.newBucket;
    const bucket = b ? this.stmt.getBucket.get(b.id) : undefined;
    if (b && bucket && bucket.app_id !== b.appId) throw new OwnedElsewhere('bucket', b.id, bucket.app_id);
  }

  async commitUplink(w: UplinkWrite): Promise<UplinkWriteResult> {
    return this.commits.run(() => {
      this.refuseOtherOwner(w);
      const now = this.nowIso();
      // The window of a device that does not exist yet starts empty: its row comes with this write.
      let recent: RecentUplinks | null = null;
      if (w.dedupe) {
        const row = this.stmt.recentUplinks.get(w.dedupe.deviceId);
        recent = parseRecentUplinks(row?.recent_uplinks ?? null);
        const also = w.dedupe.alsoSeenAs;
        if (hasRecentUplink(recent, w.dedupe) || (also !== undefined && hasRecentUplink(recent, { ...w.dedupe, payload: also }))) {
          return { duplicate: true, deadLetterId: null, events: [] };
        }
      }
      if (w.resolvesDeadLetter !== null && this.stmt.resolveDeadLetter.run(now, w.resolvesDeadLetter).changes === 0) {
        throw new WriteConflict(`dead letter ${w.resolvesDeadLetter} was already replayed`);
      }
      let provisioned = false;
      if (w.newDevice) {
        const d = w.newDevice;
        provisioned = this.stmt.insertDevice.run({
          id: d.id,
          app_id: d.appId,
          network: d.ids.network,
          ids: JSON.stringify(d.ids),
          asset_type: d.assetType,
          asset_group: d.assetGroup,
          connection_timeout_min: d.connectionTimeoutMin,
          bucket_id: d.bucketId,
          created_at: d.createdAt,
          last_seen_at: d.lastSeenAt,
        }).changes > 0;
        if (provisioned) {
          for (const [name, value] of Object.entries(d.properties)) this.stmt.upsertProp.run(d.id, name, JSON.stringify(value), now);
        }
      }
      if (w.newBucket) this.stmt.insertBucket.run(w.newBucket.id, w.newBucket.deviceId, w.newBucket.appId, now);
      if (w.bucketRow) {
        const row = w.bucketRow;
        this.stmt.insertRow.run(row.bucketId, row.tsMs, JSON.stringify(row.data), row.normalized ? JSON.stringify(row.normalized) : null);
        for (const m of row.measurements ?? []) this.stmt.insertMeasurement.run(m.quantity, m.tsMs, m.appId, m.deviceId, JSON.stringify(m.value));
      }
      let deadLetterId: number | null = null;
      if (w.deadLetter) {
        const dl = w.deadLetter;
        deadLetterId = Number(
          this.stmt.insertDeadLetter.run(dl.appId, dl.deviceId, dl.reason, JSON.stringify(dl.error), dl.network, JSON.stringify(dl.body), now)
            .lastInsertRowid,
        );
      }
      const seen = w.deviceSeen;
      if (seen) {
        const window = recent && w.dedupe ? JSON.stringify(withRecentUplink(recent, w.dedupe)) : null;
        if (this.stmt.deviceSeen.run({ ts: seen.lastSeenAt, state: JSON.stringify(seen.state), recent: window, id: seen.id }).changes > 0) {
          for (const [name, value] of Object.entries(seen.properties)) this.stmt.upsertProp.run(seen.id, name, JSON.stringify(value), now);
        } else if (window !== null) {
          // A late uplink: the device's state stays, its key still joins the window.
          this.stmt.setRecentUplinks.run(window, seen.id);
        }
      }
      if (w.credentials) {
        this.stmt.upsertCreds.run(w.credentials.deviceId, JSON.stringify(w.credentials.value), now);
      }
      if (w.recent && this.recentPerApp > 0) {
        const r = w.recent;
        const seq = this.nextRecentSeq(r.appId);
        this.stmt.insertRecent.run(r.appId, seq, r.deviceId, r.network, r.receivedAt, r.report, JSON.stringify(r.outcome), r.formatterVersion);
        // The ring, trimmed in steps of RECENT_TRIM_EVERY: one delete of a range now and then,
        // not one scattered row per uplink (a list takes the newest rows, so the slack never shows).
        if (seq % RECENT_TRIM_EVERY === 0) this.stmt.trimRecent.run(r.appId, seq - this.recentPerApp);
      }
      const all = provisioned ? [...w.provisionEvents, ...w.events] : w.events;
      const events = this.insertEvents(all.map((e) => (deadLetterId === null ? e : { ...e, details: { ...e.details, dead_letter_id: deadLetterId } })));
      return { duplicate: false, deadLetterId, events };
    });
  }

  // ---- buckets

  private bucketRecord(b: BucketOwnRow): BucketRecord {
    const s = this.stmt.bucketStats.get(b.id);
    return toBucket({ ...b, rows: s?.rows ?? 0, last_ts: s?.last_ts ?? null });
  }

  async listBuckets(q: { appId?: string; deviceId?: string }) {
    const filter = where([q.appId && ['app_id = ?', q.appId], q.deviceId && ['device_id = ?', q.deviceId]]);
    const rows = this.db
      .prepare<SqlValue[], BucketOwnRow>(`SELECT * FROM buckets ${filter.sql} ORDER BY id`)
      .all(...filter.params);
    return rows.map((b) => this.bucketRecord(b));
  }

  async getBucket(id: string) {
    const b = this.stmt.getBucket.get(id);
    return b ? this.bucketRecord(b) : null;
  }

  async readBucket(id: string, q: BucketQuery): Promise<BucketRow[]> {
    const rows = this.db
      .prepare<[string, number, number, number], BucketDataRow>(
        `SELECT ts, data, normalized FROM bucket_rows WHERE bucket_id = ? AND ts >= ? AND ts <= ?
         ORDER BY ts ${q.order === 'asc' ? 'ASC' : 'DESC'}, rowid ${q.order === 'asc' ? 'ASC' : 'DESC'} LIMIT ?`,
      )
      .all(id, q.fromMs ?? 0, q.toMs ?? Number.MAX_SAFE_INTEGER, q.limit);
    return rows.map(toBucketRow);
  }

  // ---- normalized measurements

  async listMeasurements(q: MeasurementQuery): Promise<MeasurementRecord[]> {
    const filter = where([['quantity = ?', q.quantity], q.appId && ['app_id = ?', q.appId], q.deviceId && ['device_id = ?', q.deviceId]]);
    const order = q.order === 'asc' ? 'ASC' : 'DESC';
    const rows = this.db
      .prepare<SqlValue[], MeasurementRow>(
        `SELECT ts, app_id, device_id, value FROM measurements ${filter.sql} AND ts >= ? AND ts <= ?
         ORDER BY ts ${order}, rowid ${order} LIMIT ?`,
      )
      .all(...filter.params, q.fromMs ?? Number.MIN_SAFE_INTEGER, q.toMs ?? Number.MAX_SAFE_INTEGER, q.limit);
    return rows.map(toMeasurement);
  }

  async measuredQuantities(quantities: readonly string[], q: { appId?: string }): Promise<string[]> {
    const appId = q.appId;
    return quantities.filter((quantity) => (appId ? this.stmt.measuredInApp.get(quantity, appId) : this.stmt.measured.get(quantity)) !== undefined);
  }

  // ---- dead letters

  async listDeadLetters(q: DeadLetterQuery) {
    const filter = where([q.appId && ['app_id = ?', q.appId]]);
    const rows = this.db.prepare<SqlValue[], DeadLetterRow>(`SELECT * FROM dead_letters ${filter.sql} ORDER BY id DESC LIMIT ?`).all(...filter.params, q.limit);
    return rows.map(toDeadLetter);
  }

  async pendingDeadLetterIds(appId: string, limit: number) {
    return this.db
      .prepare<[string, number], { id: number }>('SELECT id FROM dead_letters WHERE app_id = ? AND replayed_at IS NULL ORDER BY id LIMIT ?')
      .all(appId, limit)
      .map((r) => r.id);
  }

  async getDeadLetter(id: number) {
    const row = this.stmt.getDeadLetter.get(id);
    return row ? toDeadLetter(row) : null;
  }

  // ---- events

  async appendEvents(events: EventInput[]) {
    return this.commits.run(() => this.insertEvents(events));
  }

  async listEvents(q: EventQuery) {
    const filter = eventListFilter(q);
    const rows = this.db
      .prepare<SqlValue[], EventRow>(`SELECT * FROM events ${filter.sql} ORDER BY id DESC LIMIT ?`)
      .all(...filter.params, q.limit);
    return rows.map(toEvent);
  }

  // ---- downlink messages

  private messageParams(m: MessageRecord) {
    return {
      device_id: m.deviceId,
      message_id: m.messageId,
      app_id: m.appId,
      correlation_id: m.correlationId,
      status: m.status,
      created_at: m.createdAt,
      next_attempt_at: m.nextAttemptAt,
      expires_at: m.expiresAt,
      record: JSON.stringify(m),
    };
  }

  async insertMessage(m: MessageRecord) {
    return this.commits.run(() => this.stmt.insertMessage.run(this.messageParams(m)).changes > 0);
  }

  async updateMessage(m: MessageRecord, expected?: MessageState) {
    const params = this.messageParams(m);
    return this.commits.run(
      () =>
        (expected
          ? this.stmt.updateMessageIf.run({ ...params, was_updated_at: expected.updatedAt, was_status: expected.status, was_detail: expected.detail, was_attempts: expected.attempts })
          : this.stmt.updateMessage.run(params)
        ).changes > 0,
    );
  }

  async getMessage(deviceId: string, messageId: string) {
    const row = this.stmt.getMessage.get(deviceId, messageId);
    return row ? toMessage(row) : null;
  }

  async getMessageByCorrelation(correlationId: string) {
    const row = this.stmt.getMessageByCorrelation.get(correlationId);
    return row ? toMessage(row) : null;
  }

  async listMessages(deviceId: string, q: { limit: number; offset: number }) {
    const items = this.stmt.listMessages.all(deviceId, q.limit, q.offset).map(toMessage);
    return { items, total: this.stmt.countMessages.get(deviceId)?.n ?? 0 };
  }

  async listOpenMessages(q: { deviceId?: string; dueBefore?: string; statuses: MessageStatus[]; limit: number }) {
    const filter = where([
      [`status IN (${q.statuses.map(() => '?').join(', ')})`, ...q.statuses],
      q.deviceId && ['device_id = ?', q.deviceId],
      q.dueBefore && ['(next_attempt_at <= ? OR expires_at <= ?)', q.dueBefore, q.dueBefore],
    ]);
    return this.db
      .prepare<SqlValue[], MessageRow>(`SELECT record FROM messages ${filter.sql} ORDER BY created_at, rowid LIMIT ?`)
      .all(...filter.params, q.limit)
      .map(toMessage);
  }

  async claimDueMessages(q: ClaimQuery) {
    const rows = await this.commits.run(() => this.stmt.claimMessages.all(q.leaseUntil, q.dueBefore, q.dueBefore, q.dueBefore, q.limit));
    // RETURNING comes in no promised order.
    rows.sort((a, b) => (a.created_at < b.created_at ? -1 : a.created_at > b.created_at ? 1 : a.rowid - b.rowid));
    return rows.map(toMessage);
  }

  // ---- notifications

  async enqueueNotification(url: string, body: JsonObject) {
    await this.commits.run(() => {
      const now = this.nowIso();
      this.stmt.insertNotification.run(url, JSON.stringify(body), now, now);
    });
  }

  async listDueNotifications(dueBefore: string, limit: number): Promise<NotificationRecord[]> {
    return this.stmt.dueNotifications.all(dueBefore, limit).map(toNotification);
  }

  async claimDueNotifications(q: ClaimQuery): Promise<NotificationRecord[]> {
    return this.commits.run(() => {
      const due = this.stmt.dueNotifications.all(q.dueBefore, q.limit);
      for (const r of due) this.stmt.rescheduleNotification.run(r.attempts, q.leaseUntil, r.id);
      return due.map(toNotification);
    });
  }

  async ping(): Promise<void> {
    this.db.prepare('SELECT 1').get();
  }

  /** One process owns a SQLite file: nothing changes it from elsewhere. */
  onNotice(): () => void {
    return () => undefined;
  }

  async rescheduleNotification(id: number, attempts: number, nextAttemptAt: string | null) {
    await this.commits.run(() =>
      nextAttemptAt === null
        ? this.stmt.deleteNotification.run(id)
        : this.stmt.rescheduleNotification.run(attempts, nextAttemptAt, id),
    );
  }

  async close() {
    await this.commits.drain();
    this.walSync.close();
    await this.checkpointer.close();
    this.db.close();
  }
}
