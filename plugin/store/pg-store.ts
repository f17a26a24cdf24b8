import { randomUUID } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import pg from 'pg';
import type { JsonObject } from '../../formatters/contract.js';
import type { ProfileSettings } from '../schemas/profile.js';
import type { BucketRow, DeviceRecord, EventInput, EventRecord, MessageRecord, MessageStatus, NotificationRecord, Page, MeasurementRecord, RecentUplink } from './records.js';
import type { Credentials } from '../networks/network.js';
import { FORMATTER_VERSIONS_KEPT, type BucketQuery, type ClaimQuery, type DeadLetterQuery, type EventQuery, type MeasurementQuery, type MessageState, type Store, type StoreNotice, type UplinkWrite, type UplinkWriteResult } from './store.js';
import { OwnedElsewhere, WriteConflict } from './errors.js';
import { boundedEvent, DEFAULT_EVENT_CAP_BYTES } from './event-size.js';
import { where } from './sql-filter.js';
import { hasRecentUplink, parseRecentUplinks, withRecentUplink, type RecentUplinks } from './recent-uplinks.js';
import { migrate } from './pg-migrate.js';
import { noNul } from './pg-text.js';
import { deviceListFilter, devicePage, eventListFilter, toBucket, toBucketRow, toDeadLetter, toDevice, toEvent, toFormatterVersion, toListedProfile, toMeasurement, toMessage, toNotification, toProfile, toRecentUplink } from './rows.js';
import type { BucketDataRow, BucketStatsRow, DeadLetterRow, DeviceRow, EventRow, FormatterVersionRow, MeasurementRow, MessageRow, NotificationRow, ProfileListRow, ProfileRow, RecentRow } from './rows.js';

export interface PgStoreOptions {
  /** postgres://user:password@host:port/database (its sslmode and other parameters apply). */
  url: string;
  /** Events kept; older ones are trimmed (across instances, approximately). */
  eventCap: number;
  /** Bytes of titles and details kept (default 256 MiB); older events are trimmed. */
  eventCapBytes?: number;
  /** Uplinks kept per application in its ring of recent traffic (default 200). */
  recentPerApp?: number;
  now: () => Date;
  /** Connections of the pool (default 10); one more is kept for LISTEN. */
  poolSize?: number;
  /** TLS options passed to pg as they are. */
  ssl?: pg.ClientConfig['ssl'];
}

/** Uplinks a ring of recent traffic may hold beyond its size before they are trimmed together. */
const RECENT_TRIM_EVERY = 32;
/** One instance trims the events at a time (pg_try_advisory_xact_lock): the others skip. */
const EVENT_TRIM_LOCK = 7_146_238_951_402_118n;
const EVENTS_CHANNEL = 'plugin_events';
const PROFILES_CHANNEL = 'plugin_profiles';
const DEVICES_CHANNEL = 'plugin_devices';
/** How long taking a connection may wait (for the server, or for a free one in the pool). */
const CONNECT_TIMEOUT_MS = 10_000;
/** Server-side limits of every session (migrations lift them for their own). */
const STATEMENT_TIMEOUT_MS = 30_000;
const LOCK_TIMEOUT_MS = 10_000;
const IDLE_IN_TRANSACTION_TIMEOUT_MS = 30_000;
const KEEPALIVE_DELAY_MS = 10_000;
/** How often the LISTEN connection is asked whether it still answers (a socket can die silently). */
const LISTEN_HEARTBEAT_MS = 15_000;
/** Event ids per notification: payloads must stay under PostgreSQL's 8000 bytes. */
const IDS_PER_NOTICE = 400;
/** How long committed events wait to be announced together (live streams elsewhere lag by this). */
const ANNOUNCE_DELAY_MS = 10;
/** Rows read per page while weighing the newest events. */
const WEIGH_PAGE = 1000;
/** Attempts of a transaction that lost a deadlock or serialization race. */
const TX_ATTEMPTS = 3;
const RECONNECT_MIN_MS = 100;
const RECONNECT_MAX_MS = 5_000;

type Param = string | number | boolean | null | readonly (string | number | null)[];

interface Db {
  query<R extends pg.QueryResultRow>(config: pg.QueryConfig<Param[]>): Promise<pg.QueryResult<R>>;
}

function clean(v: Param): Param {
  if (typeof v === 'string') return noNul(v);
  if (Array.isArray(v)) return v.map((x: string | number | null) => (typeof x === 'string' ? noNul(x) : x));
  return v;
}

/**
 * Every query goes through here: parameters only, never values in the SQL. `name`: a named prepared
 * statement (parsed and planned once per connection), for the hot ones; one name, one text.
 */
function run<R extends pg.QueryResultRow>(db: Db, sql: string, params: Param[] = [], name?: string): Promise<pg.QueryResult<R>> {
  return db.query<R>({ text: sql, values: params.map(clean), ...(name !== undefined ? { name } : {}) });
}

/** `?` placeholders (as where() writes them) numbered for PostgreSQL; the SQL is the code's own. */
function numbered(sql: string): string {
  let n = 0;
  return sql.replace(/\?/g, () => `$${++n}`);
}

/** SQLite takes a negative LIMIT as none, and a fractional one as its integer part; PostgreSQL refuses both. */
function limitParam(limit: number): number | null {
  return limit < 0 || !Number.isFinite(limit) ? null : Math.floor(limit);
}

/** A whole number PostgreSQL's BIGINT holds, for comparisons with whole columns (ceil for a lower bound). */
function bound(n: number, round: 'floor' | 'ceil'): number {
  const whole = round === 'floor' ? Math.floor(n) : Math.ceil(n);
  return Math.max(Number.MIN_SAFE_INTEGER, Math.min(Number.MAX_SAFE_INTEGER, Number.isNaN(whole) ? 0 : whole));
}

const INT8 = 20;
/** BIGINT identities and millisecond times come back as numbers (they stay far below 2^53). */
function pgTypes(): pg.CustomTypesConfig {
  const types = new pg.TypeOverrides();
  types.setTypeParser(INT8, (v: string) => Number(v));
  return types;
}

/** A device row with whether it has credentials and its properties (names and values in name order). */
interface PgDeviceRow extends DeviceRow {
  has_credentials: boolean;
  prop_names: string[];
  prop_values: string[];
}

const toPgDevice = (row: PgDeviceRow): DeviceRecord =>
  toDevice(row, row.prop_names.map((name, i) => [name, row.prop_values[i]] as const), row.has_credentials);

/** A device with its properties (name order, as SQLite's key order) and whether it has credentials, in one query. */
const DEVICE_SELECT = `SELECT d.id, d.app_id, d.ids, d.asset_type, d.asset_group, d.connection_timeout_min, d.bucket_id,
    d.created_at, d.last_seen_at, d.state,
    EXISTS (SELECT 1 FROM device_credentials c WHERE c.device_id = d.id) AS has_credentials,
    ARRAY(SELECT p.name FROM device_properties p WHERE p.device_id = d.id ORDER BY p.name) AS prop_names,
    ARRAY(SELECT p.value FROM device_properties p WHERE p.device_id = d.id ORDER BY p.name) AS prop_values
  FROM devices d`;

const BUCKET_SELECT = `SELECT b.id, b.device_id, b.app_id, b.created_at, s.rows, s.last_ts FROM buckets b
  CROSS JOIN LATERAL (SELECT COUNT(*) AS rows, MAX(r.ts) AS last_ts FROM bucket_rows r WHERE r.bucket_id = b.id) s`;

/** What a transaction answers when it rolls back on purpose (a duplicate uplink writes nothing). */
class Rollback<T> {
  constructor(readonly value: T) {}
}

/** One statement's parameters, numbered as its text is put together. */
class Statement {
  readonly params: Param[] = [];
  /** The placeholder of a new parameter (cast when `type` is given). */
  p(value: Param, type?: string): string {
    this.params.push(value);
    return type === undefined ? `$${this.params.length}` : `$${this.params.length}::${type}`;
  }
}

/** Named prepared statements, by text: parsed and planned once per connection (at most PREPARED_MAX texts; others unnamed). */
const preparedNames = new Map<string, string>();
const PREPARED_MAX = 100;

function preparedName(text: string): string | undefined {
  let name = preparedNames.get(text);
  if (name === undefined && preparedNames.size < PREPARED_MAX) preparedNames.set(text, (name = `plugin_${preparedNames.size + 1}`));
  return name;
}

const LOCK_DEVICE = 'SELECT recent_uplinks, app_id FROM devices WHERE id = $1 FOR NO KEY UPDATE';
const READ_WINDOW = 'SELECT recent_uplinks FROM devices WHERE id = $1';
/** A window hint for a device whose window is NULL: PostgreSQL text holds no NUL, so no stored window is this. */
const NO_WINDOW = '\u0000';
/** Characters of window hints kept (a full window is about a kilobyte). */
const WINDOW_HINT_CHARS = 8 * 1024 * 1024;
/** Reads of a window that changed before the write could lock it, before the transaction takes over. */
const AT_ONCE_ATTEMPTS = 3;
const INSERT_DEVICE = `INSERT INTO devices (id, app_id, network, ids, asset_type, asset_group, connection_timeout_min, bucket_id, created_at, last_seen_at)
  VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`;
/** A new device inserted and its row locked in one statement (see lockDevice); a row there already, with its owner. */
const INSERT_AND_LOCK_DEVICE = `WITH ins AS (${INSERT_DEVICE} ON CONFLICT (id) DO NOTHING RETURNING 1),
  cur AS (SELECT recent_uplinks, app_id FROM devices WHERE id = $1 FOR NO KEY UPDATE)
  SELECT (SELECT COUNT(*) FROM ins) AS inserted, (SELECT COUNT(*) FROM cur) AS found, (SELECT recent_uplinks FROM cur) AS recent_uplinks,
    (SELECT app_id FROM cur) AS app_id`;
/** The id of the next dead letter, drawn first: its events' details carry it, and are written with it. */
const NEXT_DEAD_LETTER_ID = "SELECT nextval(pg_get_serial_sequence('dead_letters', 'id')) AS id";

/** Events as they are stored: bounded (titles and details' JSON, as SQLite stores them), and when. */
interface StoredEvents {
  events: EventInput[];
  ts: string;
  bounded: ReturnType<typeof boundedEvent>[];
}

/**
 * The uplink's writes go ahead: unconditionally (null: the transaction holds the device's row lock
 * already, or there is no device to lock), after locking the device's row (`id`), or only if its
 * window is still `window` then.
 */
type WriteGuard = null | { id: string } | { id: string; window: string | null };

/** An uplink's answer and the bytes of its events. */
interface CommittedUplink {
  out: UplinkWriteResult;
  bytes: number;
}

/** Whether the window holds the uplink's key, or its other fingerprint (alsoSeenAs). */
function isDuplicate(recent: RecentUplinks, key: NonNullable<UplinkWrite['dedupe']>): boolean {
  const also = key.alsoSeenAs;
  return hasRecentUplink(recent, key) || (also !== undefined && hasRecentUplink(recent, { ...key, payload: also }));
}

/** The INSERT of the events, in their order (each with the row of `from`, when given); RETURNING their ids (in no promised order). */
function insertEventsSql(s: Statement, e: StoredEvents, from?: string): string {
  const texts = (values: (string | null)[]) => s.p(values, 'text[]');
  const columns = [e.events.map((x) => x.appId), e.events.map((x) => x.deviceId), e.events.map((x) => x.category), e.events.map((x) => x.severity), e.bounded.map((b) => b.title), e.bounded.map((b) => b.details)];
  return `INSERT INTO events (ts, app_id, device_id, category, severity, title, details)
       SELECT ${s.p(e.ts, 'text')}, a, d, cat, sev, t, det FROM ${from === undefined ? '' : `${from}, `}unnest(${columns.map(texts).join(', ')}) WITH ORDINALITY AS u(a, d, cat, sev, t, det, n)
       ORDER BY n
     RETURNING id`;
}

/** The stored events' records, given their ids (drawn in insertion order), and their bytes. */
function eventRecords(e: StoredEvents, rows: { id: number | null }[]): { records: EventRecord[]; bytes: number } {
  const ids = rows.flatMap((r) => (r.id === null ? [] : [r.id])).sort((a, b) => a - b);
  let bytes = 0;
  const records = e.events.map((event, i) => {
    const { title, details, cut } = e.bounded[i];
    bytes += title.length + details.length;
    return { ...event, title, details: cut ? (JSON.parse(details) as JsonObject) : event.details, id: ids[i], ts: e.ts };
  });
  return { records, bytes };
}

const RETRYABLE = new Set(['40001', '40P01']);
const isRetryable = (err: unknown): boolean => err instanceof pg.DatabaseError && err.code !== undefined && RETRYABLE.has(err.code);

/** What the events an instance stored since its last look weigh, as far as it knows (see trimEvents). */
interface EventWeight {
  /** Bytes of the events up to `watermark`, as last counted (other instances' trims make it an overestimate). */
  known: number;
  watermark: number;
  /** Bytes this instance stored since `known` was counted. */
  since: number;
}

/**
 * The Store on PostgreSQL, for several plugin instances sharing one database: uplinks of a device
 * serialize on its row lock (dedupe, provisioning once), due work is claimed with leases
 * (FOR UPDATE SKIP LOCKED), and events and profile saves reach the other instances by NOTIFY.
 * Each write is answered after its COMMIT.
 */
export class PgStore implements Store {
  private readonly instanceId = randomUUID();
  private readonly recentPerApp: number;
  private readonly listeners = new Set<(notice: StoreNotice) => void>();
  /** Uplinks of each application this instance put in its ring since start (it trims every RECENT_TRIM_EVERY). */
  private readonly recentCount = new Map<string, number>();
  /**
   * Each device's dedupe window as this instance last wrote or read it, by device id: what its next
   * uplink expects to find, checked by the write (see commitUplinkAtOnce). Only a hint.
   */
  private readonly windows = new LRUCache<string, string>({ maxSize: WINDOW_HINT_CHARS, sizeCalculation: (window, id) => window.length + id.length });
  private eventsSinceTrim = 0;
  private weight: EventWeight = { known: 0, watermark: 0, since: 0 };
  private trimming = false;
  private listenClient: pg.Client | null = null;
  private reconnectTimer: NodeJS.Timeout | null = null;
  private reconnectDelay = RECONNECT_MIN_MS;
  /** Notices are handled one after another, so listeners hear events in the order they were announced. */
  private noticeChain: Promise<void> = Promise.resolve();
  private closed = false;
  /** Ids of committed events not announced yet, and the timer that will. */
  private unannounced: number[] = [];
  private listenedBefore = false;
  private heartbeat: NodeJS.Timeout | null = null;
  private announcing: NodeJS.Timeout | null = null;
  /** The last announcement sent: each waits for the one before (on another connection it could overtake it). */
  private announced: Promise<void> = Promise.resolve();

  private constructor(
    private readonly options: PgStoreOptions,
    private readonly pool: pg.Pool,
    private readonly clientConfig: pg.ClientConfig,
  ) {
    this.recentPerApp = options.recentPerApp ?? 200;
  }

  static async open(options: PgStoreOptions): Promise<PgStore> {
    const clientConfig: pg.ClientConfig = {
      connectionString: options.url,
      types: pgTypes(),
      ...(options.ssl !== undefined ? { ssl: options.ssl } : {}),
      // A frozen or cut-off instance must not hold a device's row lock (every instance's uplinks of
      // it wait) or a statement for ever: the server ends such sessions, and dead peers are noticed.
      statement_timeout: STATEMENT_TIMEOUT_MS,
      lock_timeout: LOCK_TIMEOUT_MS,
      idle_in_transaction_session_timeout: IDLE_IN_TRANSACTION_TIMEOUT_MS,
      keepAlive: true,
      keepAliveInitialDelayMillis: KEEPALIVE_DELAY_MS,
    };
    // A database that does not answer fails requests (TTS retries a webhook) instead of holding them forever.
    const pool = new pg.Pool({ ...clientConfig, max: options.poolSize ?? 10, connectionTimeoutMillis: CONNECT_TIMEOUT_MS });
    // An idle connection that drops emits 'error' on the pool, a busy one on its client: neither may
    // end the process (the query it served fails, the pool replaces the connection).
    pool.on('error', () => undefined);
    pool.on('connect', (client) => client.on('error', () => undefined));
    const store = new PgStore(options, pool, clientConfig);
    try {
      await migrate(pool, options.now);
      const w = (await run<{ n: number; top: number }>(pool, 'SELECT COALESCE(SUM(LENGTH(title) + LENGTH(details)), 0) AS n, COALESCE(MAX(id), 0) AS top FROM events')).rows[0];
      store.weight = { known: w.n, watermark: w.top, since: 0 };
      await store.listen();
    } catch (err) {
      await store.close();
      throw err;
    }
    return store;
  }

  private nowIso(): string {
    return this.options.now().toISOString();
  }

  /**
   * `fn` in one transaction on one connection, answered after COMMIT (or the Rollback's value after
   * ROLLBACK). A deadlock or serialization failure runs it again: `fn` changes nothing but the database.
   */
  private async tx<T>(fn: (c: Db) => Promise<T | Rollback<T>>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      const client = await this.pool.connect();
      let broken = false;
      try {
        await client.query('BEGIN');
        const out = await fn(client);
        if (out instanceof Rollback) {
          await client.query('ROLLBACK');
          return out.value;
        }
        await client.query('COMMIT');
        return out;
      } catch (err) {
        await client.query('ROLLBACK').catch(() => (broken = true));
        if (attempt < TX_ATTEMPTS && isRetryable(err)) continue;
        throw err;
      } finally {
        client.release(broken);
      }
    }
  }

  /**
   * Tells the other instances which events were committed, a few milliseconds later in one NOTIFY
   * for all of them. Not inside the uplink's transaction: PostgreSQL commits transactions that
   * notify one at a time, disk flush included, which would serialize every uplink of every instance.
   * An instance that dies in between leaves those events unannounced (stored, not shown live elsewhere).
   */
  private announce(ids: number[]): void {
    if (ids.length === 0) return;
    this.unannounced.push(...ids);
    this.announcing ??= setTimeout(() => void this.flushAnnouncements(), ANNOUNCE_DELAY_MS);
  }

  private flushAnnouncements(): Promise<void> {
    this.announcing = null;
    const ids = this.unannounced.splice(0);
    if (ids.length === 0) return this.announced;
    const payloads: string[] = [];
    for (let i = 0; i < ids.length; i += IDS_PER_NOTICE) payloads.push(JSON.stringify({ i: this.instanceId, e: ids.slice(i, i + IDS_PER_NOTICE) }));
    const notify = () => run(this.pool, 'SELECT pg_notify($1, p) FROM unnest($2::text[]) WITH ORDINALITY AS t(p, n) ORDER BY n', [EVENTS_CHANNEL, payloads]).then(() => undefined, () => undefined);
    this.announced = this.announced.then(notify);
    return this.announced;
  }

  private async notifyProfile(c: Db, appId: string): Promise<void> {
    await run(c, 'SELECT pg_notify($1, $2)', [PROFILES_CHANNEL, JSON.stringify({ i: this.instanceId, a: appId })]);
  }

  // ---- profiles

  async getProfile(appId: string) {
    const row = (
      await run<ProfileRow>(
        this.pool,
        `SELECT settings, webhook_token, created_at, updated_at,
           (SELECT MAX(version) FROM formatter_versions v WHERE v.app_id = profiles.app_id) AS formatter_version
         FROM profiles WHERE app_id = $1`,
        [appId],
      )
    ).rows[0];
    return row ? toProfile(row) : null;
  }

  async listProfiles() {
    const rows = await run<ProfileListRow>(this.pool, "SELECT app_id, settings, created_at, updated_at FROM profiles ORDER BY app_id = 'default' DESC, app_id");
    return rows.rows.map(toListedProfile);
  }

  async putProfile(appId: string, settings: ProfileSettings, newToken: string, note: string | null = null) {
    return this.tx(async (c) => {
      const now = this.nowIso();
      const json = JSON.stringify(settings);
      // Inserted, or else updated, which locks the row: concurrent saves number their formatter
      // versions one after another. A row deleted between the two is inserted again.
      let inserted = false;
      for (;;) {
        const insert = await run(
          c,
          'INSERT INTO profiles (app_id, settings, webhook_token, created_at, updated_at) VALUES ($1, $2, $3, $4, $4) ON CONFLICT (app_id) DO NOTHING',
          [appId, json, newToken, now],
        );
        if ((inserted = insert.rowCount === 1)) break;
        if ((await run(c, 'UPDATE profiles SET settings = $1, updated_at = $2 WHERE app_id = $3', [json, now, appId])).rowCount === 1) break;
      }
      await this.notifyProfile(c, appId);
      const formatter = JSON.stringify(settings.formatter);
      const last = (
        await run<{ version: number; formatter: string }>(c, 'SELECT version, formatter FROM formatter_versions WHERE app_id = $1 ORDER BY version DESC LIMIT 1', [appId])
      ).rows[0];
      if (last && last.formatter === formatter) return { created: inserted, formatterVersion: last.version };
      const version = (last?.version ?? 0) + 1;
      await run(c, 'INSERT INTO formatter_versions (app_id, version, created_at, note, formatter) VALUES ($1, $2, $3, $4, $5)', [appId, version, now, note, formatter]);
      await run(c, 'DELETE FROM formatter_versions WHERE app_id = $1 AND version <= $2', [appId, version - FORMATTER_VERSIONS_KEPT]);
      return { created: inserted, formatterVersion: version };
    });
  }

  async deleteProfile(appId: string) {
    return this.tx(async (c) => {
      // The profile's row first, as putProfile locks it: a save and a delete at once wait, not deadlock.
      const gone = (await run(c, 'DELETE FROM profiles WHERE app_id = $1', [appId])).rowCount === 1;
      await run(c, 'DELETE FROM formatter_versions WHERE app_id = $1', [appId]);
      if (gone) await this.notifyProfile(c, appId);
      return gone;
    });
  }

  async listFormatterVersions(appId: string) {
    const rows = await run<FormatterVersionRow>(this.pool, 'SELECT version, created_at, note, formatter FROM formatter_versions WHERE app_id = $1 ORDER BY version DESC', [appId]);
    return rows.rows.map(toFormatterVersion);
  }

  async getFormatterVersion(appId: string, version: number) {
    if (!Number.isSafeInteger(version) || Math.abs(version) > 2 ** 31 - 1) return null;
    const row = (
      await run<FormatterVersionRow>(this.pool, 'SELECT version, created_at, note, formatter FROM formatter_versions WHERE app_id = $1 AND version = $2', [appId, version])
    ).rows[0];
    return row ? toFormatterVersion(row) : null;
  }

  async setFormatterVersionNote(appId: string, version: number, note: string | null) {
    if (!Number.isSafeInteger(version) || Math.abs(version) > 2 ** 31 - 1) return false;
    return (await run(this.pool, 'UPDATE formatter_versions SET note = $1 WHERE app_id = $2 AND version = $3', [note, appId, version])).rowCount === 1;
  }

  async listRecentUplinks(appId: string, limit: number): Promise<RecentUplink[]> {
    const rows = await run<RecentRow>(
      this.pool,
      'SELECT app_id, seq, device_id, network, received_at, report, outcome, formatter_version FROM recent_traffic WHERE app_id = $1 ORDER BY seq DESC LIMIT $2',
      [appId, limitParam(Math.min(limit, this.recentPerApp))],
    );
    return rows.rows.map(toRecentUplink);
  }

  async setWebhookToken(appId: string, token: string) {
    return this.tx(async (c) => {
      const changed = (await run(c, 'UPDATE profiles SET webhook_token = $1, updated_at = $2 WHERE app_id = $3', [token, this.nowIso(), appId])).rowCount === 1;
      if (changed) await this.notifyProfile(c, appId);
      return changed;
    });
  }

  // ---- devices

  async getDevice(id: string) {
    const row = (await run<PgDeviceRow>(this.pool, `${DEVICE_SELECT} WHERE d.id = $1`, [id])).rows[0];
    return row ? toPgDevice(row) : null;
  }

  async listDevices(q: { appId?: string; search?: string; limit: number; cursor?: string }): Promise<Page<DeviceRecord>> {
    // ILIKE on "C" text folds ASCII letters only, as SQLite's LIKE does.
    const filter = deviceListFilter(q, 'ILIKE');
    const rows = (await run<PgDeviceRow>(this.pool, numbered(`${DEVICE_SELECT} ${filter.sql} ORDER BY d.id LIMIT ?`), [...filter.params, limitParam(q.limit + 1)])).rows;
    return devicePage(rows, q.limit, toPgDevice);
  }

  async deleteDevice(id: string) {
    return this.tx(async (c) => {
      const gone = (await run(c, 'DELETE FROM devices WHERE id = $1', [id])).rowCount === 1;
      if (gone) {
        await run(c, 'DELETE FROM device_properties WHERE device_id = $1', [id]);
        await run(c, 'DELETE FROM device_credentials WHERE device_id = $1', [id]);
        await run(c, 'DELETE FROM messages WHERE device_id = $1', [id]);
        // Other instances remember the device for their uplinks: its next one must provision it again.
        await run(c, 'SELECT pg_notify($1, $2)', [DEVICES_CHANNEL, JSON.stringify({ i: this.instanceId, d: id })]);
      }
      return gone;
    });
  }

  /**
   * Whether the device exists, holding it (FOR KEY SHARE) until COMMIT: a concurrent delete waits,
   * so nothing is written for a device deleted meanwhile. Uplinks (FOR NO KEY UPDATE) do not wait.
   */
  private async holdDevice(c: Db, id: string): Promise<boolean> {
    return (await run(c, 'SELECT 1 FROM devices WHERE id = $1 FOR KEY SHARE', [id])).rowCount === 1;
  }

  async setDeviceProperty(id: string, name: string, value: unknown) {
    return this.tx(async (c) => {
      if (!(await this.holdDevice(c, id))) return false;
      await this.upsertProps(c, id, [[name, value]], this.nowIso());
      return true;
    });
  }

  private async upsertProps(c: Db, deviceId: string, props: [string, unknown][], now: string): Promise<void> {
    if (props.length === 0) return;
    await run(
      c,
      `INSERT INTO device_properties (device_id, name, value, updated_at)
         SELECT $1, n, v, $2 FROM unnest($3::text[], $4::text[]) AS t(n, v)
       ON CONFLICT (device_id, name) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`,
      [deviceId, now, props.map(([n]) => n), props.map(([, v]) => JSON.stringify(v) ?? null)],
    );
  }

  async getCredentials(deviceId: string): Promise<Credentials | null> {
    const row = (await run<{ value: string }>(this.pool, 'SELECT value FROM device_credentials WHERE device_id = $1', [deviceId])).rows[0];
    return row ? (JSON.parse(row.value) as Credentials) : null;
  }

  private async upsertCredentials(c: Db, deviceId: string, value: Credentials, now: string): Promise<void> {
    await run(
      c,
      `INSERT INTO device_credentials (device_id, value, updated_at) VALUES ($1, $2, $3)
       ON CONFLICT (device_id) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`,
      [deviceId, JSON.stringify(value), now],
    );
  }

  async putCredentials(deviceId: string, value: Credentials) {
    return this.tx(async (c) => {
      if (!(await this.holdDevice(c, deviceId))) return false;
      await this.upsertCredentials(c, deviceId, value, this.nowIso());
      return true;
    });
  }

  // ---- uplinks

  /** The events as stored (bounded as in SQLite), and when. */
  private storedEvents(events: EventInput[]): StoredEvents {
    return { events, ts: this.nowIso(), bounded: events.map(boundedEvent) };
  }

  /** Inserts the events; ids in insertion order. */
  private async insertEvents(c: Db, events: EventInput[]): Promise<{ records: EventRecord[]; bytes: number }> {
    if (events.length === 0) return { records: [], bytes: 0 };
    const stored = this.storedEvents(events);
    const s = new Statement();
    const inserted = await run<{ id: number }>(c, insertEventsSql(s, stored), s.params);
    return eventRecords(stored, inserted.rows);
  }

  /**
   * One uplink, answered after its COMMIT. The common one (a device that exists, no dead letter)
   * takes one or two statements and no transaction block (see commitUplinkAtOnce); the others a
   * transaction: the device inserted if new and its row locked with its window read (one
   * statement), the dedupe decided here, a replay's dead letter resolved, a dead letter's id drawn
   * (its events carry it), then every write in one statement.
   */
  async commitUplink(w: UplinkWrite): Promise<UplinkWriteResult> {
    let result = await this.commitUplinkAtOnce(w);
    result ??= await this.tx<CommittedUplink | 'duplicate'>(async (c) => {
      const now = this.nowIso();
      // The device's row lock serializes its uplinks across instances: the window read here is the
      // one this write replaces. NO KEY UPDATE is enough for that and lets property writes proceed.
      const lockId = w.dedupe?.deviceId ?? w.deviceSeen?.id ?? null;
      const { provisioned, window, owner } = await this.lockDevice(c, w.newDevice, lockId);
      // Another application's first uplink of this id provisioned it first: nothing of this one may
      // land on it (nor is it a duplicate of that application's). Its bucket is checked as it is written.
      if (w.newDevice && owner !== null && owner !== w.newDevice.appId) throw new OwnedElsewhere('device', w.newDevice.id, owner);
      // The window of a device that does not exist yet starts empty: its row comes with this write.
      const recent = w.dedupe ? parseRecentUplinks(window) : null;
      if (w.dedupe && recent && isDuplicate(recent, w.dedupe)) return new Rollback('duplicate');
      if (w.resolvesDeadLetter !== null) {
        const resolved = Number.isSafeInteger(w.resolvesDeadLetter)
          ? (await run(c, 'UPDATE dead_letters SET replayed_at = $1 WHERE id = $2 AND replayed_at IS NULL', [now, w.resolvesDeadLetter])).rowCount === 1
          : false;
        if (!resolved) throw new WriteConflict(`dead letter ${w.resolvesDeadLetter} was already replayed`);
      }
      const deadLetterId = w.deadLetter ? (await run<{ id: number }>(c, NEXT_DEAD_LETTER_ID, [], preparedName(NEXT_DEAD_LETTER_ID))).rows[0].id : null;
      const next = recent && w.dedupe ? JSON.stringify(withRecentUplink(recent, w.dedupe)) : null;
      // The row is locked already: the writes go ahead unconditionally.
      const written = await this.writeUplink(c, w, { now, provisioned, deadLetterId, window: next, guard: null });
      if (!('out' in written)) throw new Error('uplink writes skipped under the row lock');
      // A new device's next uplink here need not read its window first (a hint: see commitUplinkAtOnce).
      if (w.dedupe && provisioned && w.newDevice?.id === w.dedupe.deviceId && w.deviceSeen?.id === w.dedupe.deviceId) this.windows.set(w.dedupe.deviceId, next ?? NO_WINDOW);
      return written;
    });
    if (result === 'duplicate') return { duplicate: true, deadLetterId: null, events: [] };
    // Trims run after the commit, in their own statements: an uplink's transaction holds no lock on old rows.
    if (w.recent && this.recentPerApp > 0) await this.afterRecent(w.recent.appId);
    await this.afterEvents(result.out.events, result.bytes);
    return result.out;
  }

  /**
   * The common uplink without a transaction block, in one statement (a transaction of its own) that
   * first locks the device's row and writes only if the device's window is still the one the dedupe
   * was decided on, else nothing (and answers the window as it is then, to decide again). What it
   * writes is then what the transaction would have written under the row lock with that window.
   * The window it expects is the one this instance last wrote or read (`windows`, a hint only: the
   * statement checks it), else read first; a duplicate by a hint is decided again on a read. An
   * uplink without dedupe takes the statement only (its device's row locked first all the same).
   * Undefined: the transaction does it (a new device or bucket, a dead letter or a replay's, a device
   * without its row, or a window that changed under each of AT_ONCE_ATTEMPTS tries).
   */
  private async commitUplinkAtOnce(w: UplinkWrite): Promise<CommittedUplink | 'duplicate' | undefined> {
    // A new bucket may turn out to be another application's (see writeUplink): only a transaction can take that back.
    if (w.newDevice || w.newBucket || w.deadLetter || w.resolvesDeadLetter !== null) return undefined;
    const now = this.nowIso();
    const key = w.dedupe;
    if (!key) {
      const lockId = w.deviceSeen?.id ?? null;
      const written = await this.retrying(() => this.writeUplink(this.pool, w, { now, provisioned: false, deadLetterId: null, window: null, guard: lockId === null ? null : { id: lockId } }));
      return 'out' in written ? written : undefined;
    }
    const id = key.deviceId;
    const hint = this.windows.get(id);
    let expected: { window: string | null; hint: boolean } | null = hint === undefined ? null : { window: hint === NO_WINDOW ? null : hint, hint: true };
    for (let tries = 0; tries < AT_ONCE_ATTEMPTS; ) {
      if (expected === null) {
        const row = (await run<{ recent_uplinks: string | null }>(this.pool, READ_WINDOW, [id], preparedName(READ_WINDOW))).rows[0];
        if (!row) break;
        expected = { window: row.recent_uplinks, hint: false };
      }
      const recent = parseRecentUplinks(expected.window);
      if (isDuplicate(recent, key)) {
        if (!expected.hint) return 'duplicate';
        expected = null;
        continue;
      }
      // Written with deviceSeen (the same device, as the pipeline makes it); else the window stays.
      const next = w.deviceSeen ? JSON.stringify(withRecentUplink(recent, key)) : expected.window;
      const guard = { id, window: expected.window };
      const written = await this.retrying(() => this.writeUplink(this.pool, w, { now, provisioned: false, deadLetterId: null, window: w.deviceSeen ? next : null, guard }));
      if ('out' in written) {
        if (!w.deviceSeen || w.deviceSeen.id === id) this.windows.set(id, next ?? NO_WINDOW);
        else this.windows.delete(id);
        return written;
      }
      if (!written.found) break;
      expected = { window: written.window, hint: false };
      tries++;
    }
    this.windows.delete(id);
    return undefined;
  }

  /** `write` again when it lost a deadlock or serialization race: a statement that fails is rolled back whole. */
  private async retrying<T>(write: () => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await write();
      } catch (err) {
        if (attempt >= TX_ATTEMPTS || !isRetryable(err)) throw err;
      }
    }
  }

  /**
   * Inserts the uplink's new device, if any, and locks the row of the device whose uplinks it
   * serializes (`lockId`), reading its dedupe window. `provisioned`: this transaction created the
   * device (concurrent first uplinks wait on the insert for the one that does, and only it provisions).
   * `owner`: the application of the new device's row when another transaction created it, else null.
   */
  private async lockDevice(
    c: Db,
    d: UplinkWrite['newDevice'],
    lockId: string | null,
  ): Promise<{ provisioned: boolean; window: string | null; owner: string | null }> {
    const lock = async (id: string) => (await run<{ recent_uplinks: string | null; app_id: string }>(c, LOCK_DEVICE, [id], preparedName(LOCK_DEVICE))).rows[0];
    if (!d) return { provisioned: false, window: lockId === null ? null : ((await lock(lockId))?.recent_uplinks ?? null), owner: null };
    const values = [d.id, d.appId, d.ids.network, JSON.stringify(d.ids), d.assetType, d.assetGroup, d.connectionTimeoutMin, d.bucketId, d.createdAt, d.lastSeenAt];
    if (lockId !== d.id) {
      // Not the pipeline's (its uplinks lock the device they provision): a statement more to read the owner.
      const provisioned = (await run(c, `${INSERT_DEVICE} ON CONFLICT (id) DO NOTHING`, values)).rowCount === 1;
      const owner = provisioned ? null : ((await run<{ app_id: string }>(c, 'SELECT app_id FROM devices WHERE id = $1 FOR KEY SHARE', [d.id])).rows[0]?.app_id ?? null);
      return { provisioned, window: lockId === null ? null : ((await lock(lockId))?.recent_uplinks ?? null), owner };
    }
    // In one statement: a row this statement inserts is not seen by its lock (found 0), its window
    // starts empty; a row another transaction committed after this statement began is not seen
    // either (inserted 0, found 0): locked and read again by a statement of its own.
    const row = (
      await run<{ inserted: number; found: number; recent_uplinks: string | null; app_id: string | null }>(c, INSERT_AND_LOCK_DEVICE, values, preparedName(INSERT_AND_LOCK_DEVICE))
    ).rows[0];
    if (row.inserted > 0) return { provisioned: true, window: null, owner: null };
    const cur = row.found > 0 ? row : await lock(lockId);
    return { provisioned: false, window: cur?.recent_uplinks ?? null, owner: cur?.app_id ?? null };
  }

  /**
   * Every write of an uplink but its dead letter's resolution, in one statement of data-modifying
   * CTEs, each of which goes ahead only with the row of `go`: always there without a guard or with
   * a guard's `id` only (after the device's row lock), else only while the device's window is the
   * guard's. `window`: the device's new window (null: it stays). When it did not go ahead: whether
   * the device has its row, and its window as this statement saw it.
   *
   * CTEs of one statement share its snapshot and do not see each other's rows: each writes rows the
   * others do not touch, but for the device's row, which `seen` updates (when this uplink is not
   * older than the stored one) and else `late` (its window only), and the properties, those of a new
   * device and the uplink's (these only if `seen` updated, the latter winning), upserted together.
   */
  private async writeUplink(
    c: Db,
    w: UplinkWrite,
    o: { now: string; provisioned: boolean; deadLetterId: number | null; window: string | null; guard: WriteGuard },
  ): Promise<CommittedUplink | { found: boolean; window: string | null }> {
    const all = o.provisioned ? [...w.provisionEvents, ...w.events] : w.events;
    const deadLetterId = o.deadLetterId;
    const events = all.length === 0 ? null : this.storedEvents(all.map((e) => (deadLetterId === null ? e : { ...e, details: { ...e.details, dead_letter_id: deadLetterId } })));
    const s = new Statement();
    const ctes: string[] = [];
    const g = o.guard;
    // The device's row is locked before anything is written (every write reads `go` first).
    const guardId = g === null ? null : s.p(g.id, 'text');
    ctes.push(
      g === null
        ? 'go AS (SELECT 1)'
        : 'window' in g
          ? `go AS (SELECT 1 FROM devices WHERE id = ${guardId} AND recent_uplinks IS NOT DISTINCT FROM ${s.p(g.window, 'text')} FOR NO KEY UPDATE)`
          : `go AS (SELECT COUNT(*) FROM (SELECT 1 FROM devices WHERE id = ${guardId} FOR NO KEY UPDATE) AS d)`,
    );
    let nowParam: string | null = null;
    const now = () => (nowParam ??= s.p(o.now, 'text'));
    if (w.newBucket) {
      const b = w.newBucket;
      // A bucket there already is left as it is, but for another application's: then its owner is
      // answered (a no-op update, the only way to see a row committed after this statement began),
      // and the transaction rolled back.
      ctes.push(`new_bucket AS (INSERT INTO buckets (id, device_id, app_id, created_at)
         SELECT ${s.p(b.id, 'text')}, ${s.p(b.deviceId, 'text')}, ${s.p(b.appId, 'text')}, ${now()} FROM go
         ON CONFLICT (id) DO UPDATE SET app_id = buckets.app_id WHERE buckets.app_id <> excluded.app_id RETURNING app_id)`);
    }
    if (w.bucketRow) {
      const r = w.bucketRow;
      ctes.push(`new_row AS (INSERT INTO bucket_rows (bucket_id, ts, data, normalized)
         SELECT ${s.p(r.bucketId, 'text')}, ${s.p(r.tsMs, 'bigint')}, ${s.p(JSON.stringify(r.data), 'text')}, ${s.p(r.normalized ? JSON.stringify(r.normalized) : null, 'text')} FROM go)`);
      const ms = r.measurements ?? [];
      if (ms.length > 0) {
        const columns = `${s.p(ms.map((m) => m.quantity), 'text[]')}, ${s.p(ms.map((m) => m.tsMs), 'bigint[]')}, ${s.p(ms.map((m) => m.appId), 'text[]')}, ${s.p(ms.map((m) => m.deviceId), 'text[]')}, ${s.p(ms.map((m) => JSON.stringify(m.value)), 'text[]')}`;
        ctes.push(`new_measurements AS (INSERT INTO measurements (quantity, ts, app_id, device_id, value)
           SELECT q, t, a, d, v FROM go, unnest(${columns}) WITH ORDINALITY AS u(q, t, a, d, v, n) ORDER BY n)`);
      }
    }
    if (w.deadLetter && deadLetterId !== null) {
      const dl = w.deadLetter;
      ctes.push(`new_dead_letter AS (INSERT INTO dead_letters (id, app_id, device_id, reason, error, network, body, created_at) OVERRIDING SYSTEM VALUE
         SELECT ${s.p(deadLetterId, 'bigint')}, ${s.p(dl.appId, 'text')}, ${s.p(dl.deviceId, 'text')}, ${s.p(dl.reason, 'text')}, ${s.p(JSON.stringify(dl.error), 'text')}, ${s.p(dl.network, 'text')}, ${s.p(JSON.stringify(dl.body), 'text')}, ${now()} FROM go)`);
    }
    // Properties in the order they apply: a new device's first, then (if `seen` updated) the uplink's.
    const props: [string, string, string | null][] = [];
    if (o.provisioned && w.newDevice) for (const [name, value] of Object.entries(w.newDevice.properties)) props.push([w.newDevice.id, name, JSON.stringify(value) ?? null]);
    const unconditional = props.length;
    const seen = w.deviceSeen;
    if (seen) {
      const id = s.p(seen.id, 'text');
      const ts = s.p(seen.lastSeenAt, 'text');
      const window = o.window === null ? null : s.p(o.window, 'text');
      ctes.push(`seen AS (UPDATE devices SET last_seen_at = ${ts}, state = ${s.p(JSON.stringify(seen.state), 'text')}${window === null ? '' : `, recent_uplinks = ${window}`}
         WHERE id = ${id} AND (last_seen_at IS NULL OR last_seen_at <= ${ts}) AND EXISTS (SELECT 1 FROM go) RETURNING 1)`);
      // A late uplink: the device's state stays, its key still joins the window.
      if (window !== null) ctes.push(`late AS (UPDATE devices SET recent_uplinks = ${window} WHERE id = ${id} AND NOT EXISTS (SELECT 1 FROM seen) AND EXISTS (SELECT 1 FROM go))`);
      for (const [name, value] of Object.entries(seen.properties)) props.push([seen.id, name, JSON.stringify(value) ?? null]);
    }
    if (props.length > 0) {
      const columns = `${s.p(props.map((p) => p[0]), 'text[]')}, ${s.p(props.map((p) => p[1]), 'text[]')}, ${s.p(props.map((p) => p[2]), 'text[]')}`;
      const applies = props.length === unconditional ? '' : `WHERE u.n <= ${s.p(unconditional, 'bigint')} OR EXISTS (SELECT 1 FROM seen)`;
      ctes.push(`props AS (INSERT INTO device_properties (device_id, name, value, updated_at)
         SELECT DISTINCT ON (u.d, u.k) u.d, u.k, u.v, ${now()} FROM go, unnest(${columns}) WITH ORDINALITY AS u(d, k, v, n)
         ${applies} ORDER BY u.d, u.k, u.n DESC
         ON CONFLICT (device_id, name) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at)`);
    }
    if (w.credentials) {
      ctes.push(`creds AS (INSERT INTO device_credentials (device_id, value, updated_at)
         SELECT ${s.p(w.credentials.deviceId, 'text')}, ${s.p(JSON.stringify(w.credentials.value), 'text')}, ${now()} FROM go
         ON CONFLICT (device_id) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at)`);
    }
    if (w.recent && this.recentPerApp > 0) {
      const r = w.recent;
      ctes.push(`ring AS (INSERT INTO recent_traffic (app_id, device_id, network, received_at, report, outcome, formatter_version)
         SELECT ${s.p(r.appId, 'text')}, ${s.p(r.deviceId, 'text')}, ${s.p(r.network, 'text')}, ${s.p(r.receivedAt, 'text')}, ${s.p(r.report, 'text')}, ${s.p(JSON.stringify(r.outcome), 'text')}, ${s.p(r.formatterVersion, 'integer')} FROM go)`);
    }
    if (events) ctes.push(`new_events AS (${insertEventsSql(s, events, 'go')})`);
    // Rows when it went ahead (one per event, with its id; and a new bucket's owner); else the device's window as it is, if it has a row.
    const owner = w.newBucket ? ', (SELECT app_id FROM new_bucket) AS bucket_owner' : '';
    const went = `SELECT TRUE AS went, ${events ? 'e.id' : 'NULL::bigint AS id'}, NULL::text AS recent_uplinks${owner} FROM go${events ? ' LEFT JOIN new_events e ON TRUE' : ''}`;
    const stale = g !== null && 'window' in g ? `\nUNION ALL SELECT FALSE, NULL, recent_uplinks${owner ? ', NULL' : ''} FROM devices WHERE id = ${guardId} AND NOT EXISTS (SELECT 1 FROM go)` : '';
    const text = `WITH ${ctes.join(',\n  ')}\n${went}${stale}`;
    const rows = (await run<{ went: boolean; id: number | null; recent_uplinks: string | null; bucket_owner?: string | null }>(c, text, s.params, preparedName(text))).rows;
    if (rows.length === 0 || !rows[0].went) return { found: rows.length > 0, window: rows[0]?.recent_uplinks ?? null };
    // Thrown inside the uplink's transaction only (commitUplinkAtOnce leaves new buckets to it): rolled back whole.
    const bucketOwner = rows[0].bucket_owner;
    if (w.newBucket && bucketOwner && bucketOwner !== w.newBucket.appId) throw new OwnedElsewhere('bucket', w.newBucket.id, bucketOwner);
    const { records, bytes } = events ? eventRecords(events, rows) : { records: [], bytes: 0 };
    return { out: { duplicate: false, deadLetterId, events: records }, bytes };
  }

  /** The ring, trimmed in steps of RECENT_TRIM_EVERY: one delete of a range now and then (a list takes the newest rows, so the slack never shows). */
  private async afterRecent(appId: string): Promise<void> {
    const count = (this.recentCount.get(appId) ?? 0) + 1;
    this.recentCount.set(appId, count);
    if (count % RECENT_TRIM_EVERY !== 0) return;
    await run(
      this.pool,
      `DELETE FROM recent_traffic WHERE app_id = $1 AND seq <= (
         SELECT seq FROM recent_traffic WHERE app_id = $1 ORDER BY seq DESC OFFSET $2 LIMIT 1)`,
      [appId, this.recentPerApp],
    ).catch(() => undefined); // trimmed at a later step instead
  }

  /** Announces what was stored to the other instances; counts it; trims when this instance's share of the cadence is reached or the log may be over its bytes. */
  private async afterEvents(events: EventRecord[], bytes: number): Promise<void> {
    if (events.length === 0) return;
    this.announce(events.map((e) => e.id));
    this.eventsSinceTrim += events.length;
    this.weight.since += bytes;
    const countDue = this.eventsSinceTrim >= Math.max(100, this.options.eventCap / 100);
    const bytesDue = this.weight.known + this.weight.since > this.capBytes();
    if (countDue || bytesDue) await this.trimEvents(countDue);
  }

  private capBytes(): number {
    return this.options.eventCapBytes ?? DEFAULT_EVENT_CAP_BYTES;
  }

  /**
   * Keeps the events under their caps, as SQLite does, approximately across instances: by count,
   * a range of ids below the newest minus the cap; by bytes, from what this instance knows the log
   * weighs (updated from the ids it has not counted yet, an index range), checked exactly by
   * weighing the newest events when it seems over. One instance trims at a time; a failed trim is
   * done by a later one.
   */
  private async trimEvents(countDue: boolean): Promise<void> {
    if (this.trimming) return;
    this.trimming = true;
    if (countDue) this.eventsSinceTrim = 0;
    try {
      // The weight is worked out aside and kept only once committed (a retried transaction counts once).
      const weight = await this.tx(async (c): Promise<EventWeight | null> => {
        const locked = (await run<{ ok: boolean }>(c, 'SELECT pg_try_advisory_xact_lock($1) AS ok', [EVENT_TRIM_LOCK.toString()])).rows[0].ok;
        if (!locked) return null;
        const before = this.weight;
        const fresh = (
          await run<{ n: number; top: number | null }>(c, 'SELECT COALESCE(SUM(LENGTH(title) + LENGTH(details)), 0) AS n, MAX(id) AS top FROM events WHERE id > $1', [
            before.watermark,
          ])
        ).rows[0];
        let known = before.known + fresh.n;
        const watermark = Math.max(before.watermark, fresh.top ?? 0);
        if (countDue) {
          const gone = await run<{ n: number }>(
            c,
            `WITH gone AS (DELETE FROM events WHERE id <= (SELECT MAX(id) FROM events) - $1 RETURNING LENGTH(title) + LENGTH(details) AS n)
             SELECT COALESCE(SUM(n), 0) AS n FROM gone`,
            [bound(this.options.eventCap, 'floor')],
          );
          known -= gone.rows[0].n;
        }
        if (known > this.capBytes()) return this.trimEventsToBytes(c, watermark);
        return { known, watermark, since: 0 };
      });
      // What was stored meanwhile has ids above the watermark: the next look counts it.
      if (weight) this.weight = weight;
    } catch {
      // a later commit trims instead
    } finally {
      this.trimming = false;
    }
  }

  /** Drops the oldest events until the rest weigh at most 90% of the byte cap (newest first, a page at a time); their weight. */
  private async trimEventsToBytes(c: Db, watermark: number): Promise<EventWeight> {
    const keep = 0.9 * this.capBytes();
    let total = 0;
    let oldestKept: number | null = null;
    let newest = 0;
    let before = Number.MAX_SAFE_INTEGER;
    for (let full = true; full; ) {
      const page = (await run<{ id: number; n: number }>(c, 'SELECT id, LENGTH(title) + LENGTH(details) AS n FROM events WHERE id < $1 ORDER BY id DESC LIMIT $2', [before, WEIGH_PAGE]))
        .rows;
      full = page.length === WEIGH_PAGE;
      for (const row of page) {
        newest ||= row.id;
        if (total + row.n > keep) {
          full = false;
          break;
        }
        total += row.n;
        oldestKept = row.id;
      }
      before = page[page.length - 1]?.id ?? 0;
    }
    await run(c, 'DELETE FROM events WHERE id < $1', [oldestKept ?? Number.MAX_SAFE_INTEGER]);
    return { known: total, watermark: Math.max(watermark, newest), since: 0 };
  }

  // ---- buckets

  async listBuckets(q: { appId?: string; deviceId?: string }) {
    const filter = where([q.appId && ['b.app_id = ?', q.appId], q.deviceId && ['b.device_id = ?', q.deviceId]]);
    const rows = await run<BucketStatsRow>(this.pool, numbered(`${BUCKET_SELECT} ${filter.sql} ORDER BY b.id`), filter.params);
    return rows.rows.map(toBucket);
  }

  async getBucket(id: string) {
    const row = (await run<BucketStatsRow>(this.pool, `${BUCKET_SELECT} WHERE b.id = $1`, [id])).rows[0];
    return row ? toBucket(row) : null;
  }

  async readBucket(id: string, q: BucketQuery): Promise<BucketRow[]> {
    const order = q.order === 'asc' ? 'ASC' : 'DESC';
    const rows = await run<BucketDataRow>(
      this.pool,
      `SELECT ts, data, normalized FROM bucket_rows WHERE bucket_id = $1 AND ts >= $2 AND ts <= $3
       ORDER BY ts ${order}, seq ${order} LIMIT $4`,
      [id, bound(q.fromMs ?? 0, 'ceil'), bound(q.toMs ?? Number.MAX_SAFE_INTEGER, 'floor'), limitParam(q.limit)],
    );
    return rows.rows.map(toBucketRow);
  }

  // ---- normalized measurements

  async listMeasurements(q: MeasurementQuery): Promise<MeasurementRecord[]> {
    const filter = where([['quantity = ?', q.quantity], q.appId && ['app_id = ?', q.appId], q.deviceId && ['device_id = ?', q.deviceId]]);
    const order = q.order === 'asc' ? 'ASC' : 'DESC';
    const rows = await run<MeasurementRow>(
      this.pool,
      numbered(`SELECT ts, app_id, device_id, value FROM measurements ${filter.sql} AND ts >= ? AND ts <= ? ORDER BY ts ${order}, seq ${order} LIMIT ?`),
      [...filter.params, bound(q.fromMs ?? Number.MIN_SAFE_INTEGER, 'ceil'), bound(q.toMs ?? Number.MAX_SAFE_INTEGER, 'floor'), limitParam(q.limit)],
    );
    return rows.rows.map(toMeasurement);
  }

  async measuredQuantities(quantities: readonly string[], q: { appId?: string }): Promise<string[]> {
    if (quantities.length === 0) return [];
    const rows = await run<{ q: string }>(
      this.pool,
      `SELECT q FROM unnest($1::text[]) AS u(q)
       WHERE EXISTS (SELECT 1 FROM measurements m WHERE m.quantity = u.q AND ($2::text IS NULL OR m.app_id = $2))`,
      [[...quantities], q.appId || null],
    );
    const measured = new Set(rows.rows.map((r) => r.q));
    return quantities.filter((quantity) => measured.has(noNul(quantity)));
  }

  // ---- dead letters

  async listDeadLetters(q: DeadLetterQuery) {
    const filter = where([q.appId && ['app_id = ?', q.appId]]);
    const rows = await run<DeadLetterRow>(this.pool, numbered(`SELECT * FROM dead_letters ${filter.sql} ORDER BY id DESC LIMIT ?`), [...filter.params, limitParam(q.limit)]);
    return rows.rows.map(toDeadLetter);
  }

  async pendingDeadLetterIds(appId: string, limit: number) {
    const rows = await run<{ id: number }>(this.pool, 'SELECT id FROM dead_letters WHERE app_id = $1 AND replayed_at IS NULL ORDER BY id LIMIT $2', [appId, limitParam(limit)]);
    return rows.rows.map((r) => r.id);
  }

  async getDeadLetter(id: number) {
    if (!Number.isSafeInteger(id)) return null;
    const row = (await run<DeadLetterRow>(this.pool, 'SELECT * FROM dead_letters WHERE id = $1', [id])).rows[0];
    return row ? toDeadLetter(row) : null;
  }

  // ---- events

  async appendEvents(events: EventInput[]) {
    const { records, bytes } = await this.tx((c) => this.insertEvents(c, events));
    await this.afterEvents(records, bytes);
    return records;
  }

  async listEvents(q: EventQuery) {
    const filter = eventListFilter(q, (id) => bound(id, 'floor'));
    const rows = await run<EventRow>(this.pool, numbered(`SELECT * FROM events ${filter.sql} ORDER BY id DESC LIMIT ?`), [...filter.params, limitParam(q.limit)]);
    return rows.rows.map(toEvent);
  }

  // ---- downlink messages

  private messageParams(m: MessageRecord): Param[] {
    return [m.deviceId, m.messageId, m.appId, m.correlationId, m.status, m.createdAt, m.nextAttemptAt, m.expiresAt, JSON.stringify(m)];
  }

  async insertMessage(m: MessageRecord) {
    // No conflict target: a taken correlation id is ignored too, as SQLite's INSERT OR IGNORE does.
    const r = await run(
      this.pool,
      `INSERT INTO messages (device_id, message_id, app_id, correlation_id, status, created_at, next_attempt_at, expires_at, record)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT DO NOTHING`,
      this.messageParams(m),
    );
    return r.rowCount === 1;
  }

  async updateMessage(m: MessageRecord, expected?: MessageState) {
    const set = 'UPDATE messages SET status = $1, next_attempt_at = $2, record = $3, lease_until = NULL WHERE device_id = $4 AND message_id = $5';
    const params = [m.status, m.nextAttemptAt, JSON.stringify(m), m.deviceId, m.messageId];
    const updated = expected
      ? await run(this.pool, `${set} AND status = $6 AND record::json ->> 'updatedAt' = $7 AND record::json ->> 'detail' = $8 AND record::json ->> 'attempts' = $9`, [
          ...params,
          expected.status,
          expected.updatedAt,
          expected.detail,
          String(expected.attempts),
        ])
      : await run(this.pool, set, params);
    return (updated.rowCount ?? 0) > 0;
  }

  async getMessage(deviceId: string, messageId: string) {
    const row = (await run<MessageRow>(this.pool, 'SELECT record FROM messages WHERE device_id = $1 AND message_id = $2', [deviceId, messageId])).rows[0];
    return row ? toMessage(row) : null;
  }

  async getMessageByCorrelation(correlationId: string) {
    const row = (await run<MessageRow>(this.pool, 'SELECT record FROM messages WHERE correlation_id = $1', [correlationId])).rows[0];
    return row ? toMessage(row) : null;
  }

  async listMessages(deviceId: string, q: { limit: number; offset: number }) {
    const rows = await run<MessageRow>(this.pool, 'SELECT record FROM messages WHERE device_id = $1 ORDER BY created_at DESC, seq DESC LIMIT $2 OFFSET $3', [
      deviceId,
      limitParam(q.limit),
      Math.max(0, bound(q.offset, 'floor')),
    ]);
    const total = (await run<{ n: number }>(this.pool, 'SELECT COUNT(*) AS n FROM messages WHERE device_id = $1', [deviceId])).rows[0].n;
    return { items: rows.rows.map(toMessage), total };
  }

  async listOpenMessages(q: { deviceId?: string; dueBefore?: string; statuses: MessageStatus[]; limit: number }) {
    const filter = where([
      q.statuses.length > 0 ? [`status IN (${q.statuses.map(() => '?').join(', ')})`, ...q.statuses] : ['FALSE'],
      q.deviceId && ['device_id = ?', q.deviceId],
      q.dueBefore && ['(next_attempt_at <= ? OR expires_at <= ?)', q.dueBefore, q.dueBefore],
    ]);
    const rows = await run<MessageRow>(this.pool, numbered(`SELECT record FROM messages ${filter.sql} ORDER BY created_at, seq LIMIT ?`), [
      ...filter.params,
      limitParam(q.limit),
    ]);
    return rows.rows.map(toMessage);
  }

  async claimDueMessages(q: ClaimQuery) {
    // SKIP LOCKED: a row another instance is claiming is not waited for; one it claimed just now is
    // rechecked on its new version (its lease) and left out. Disjoint claims either way.
    const rows = await run<{ record: string; created_at: string; seq: number }>(
      this.pool,
      `WITH due AS (
         SELECT device_id, message_id FROM messages
         WHERE status = 'PENDING' AND (next_attempt_at <= $1 OR expires_at <= $1) AND (lease_until IS NULL OR lease_until <= $1)
         ORDER BY created_at, seq LIMIT $2 FOR UPDATE SKIP LOCKED)
       UPDATE messages m SET lease_until = $3 FROM due WHERE m.device_id = due.device_id AND m.message_id = due.message_id
       RETURNING m.record, m.created_at, m.seq`,
      [q.dueBefore, limitParam(q.limit), q.leaseUntil],
    );
    // RETURNING comes in no promised order.
    const sorted = rows.rows.sort((a, b) => (a.created_at < b.created_at ? -1 : a.created_at > b.created_at ? 1 : a.seq - b.seq));
    return sorted.map(toMessage);
  }

  // ---- notifications

  async enqueueNotification(url: string, body: JsonObject) {
    const now = this.nowIso();
    await run(this.pool, 'INSERT INTO notifications (url, body, next_attempt_at, created_at) VALUES ($1, $2, $3, $3)', [url, JSON.stringify(body), now]);
  }

  async listDueNotifications(dueBefore: string, limit: number): Promise<NotificationRecord[]> {
    const rows = await run<NotificationRow>(this.pool, 'SELECT * FROM notifications WHERE next_attempt_at <= $1 ORDER BY id LIMIT $2', [dueBefore, limitParam(limit)]);
    return rows.rows.map(toNotification);
  }

  async claimDueNotifications(q: ClaimQuery): Promise<NotificationRecord[]> {
    // The lease is the next attempt moved to its end: a crashed holder's notification is due again then.
    const rows = await run<NotificationRow>(
      this.pool,
      `WITH due AS (
         SELECT id, next_attempt_at FROM notifications WHERE next_attempt_at <= $1 ORDER BY id LIMIT $2 FOR UPDATE SKIP LOCKED)
       UPDATE notifications n SET next_attempt_at = $3 FROM due WHERE n.id = due.id
       RETURNING n.id, n.url, n.body, n.attempts, due.next_attempt_at, n.created_at`,
      [q.dueBefore, limitParam(q.limit), q.leaseUntil],
    );
    return rows.rows.sort((a, b) => a.id - b.id).map(toNotification);
  }

  async rescheduleNotification(id: number, attempts: number, nextAttemptAt: string | null) {
    if (!Number.isSafeInteger(id)) return;
    if (nextAttemptAt === null) await run(this.pool, 'DELETE FROM notifications WHERE id = $1', [id]);
    else await run(this.pool, 'UPDATE notifications SET attempts = $1, next_attempt_at = $2 WHERE id = $3', [attempts, nextAttemptAt, id]);
  }

  // ---- notices from other instances

  onNotice(listener: (notice: StoreNotice) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Connects the LISTEN client; when its connection drops, another one listens (notices meanwhile are missed). */
  private async listen(): Promise<void> {
    const client = new pg.Client(this.clientConfig);
    const lost = () => this.listenerLost(client);
    client.on('error', lost);
    client.on('end', lost);
    client.on('notification', (msg) => {
      this.noticeChain = this.noticeChain.then(() => this.handleNotification(msg.channel, msg.payload)).catch(() => undefined);
    });
    try {
      await client.connect();
      await client.query(`LISTEN ${EVENTS_CHANNEL}`);
      await client.query(`LISTEN ${PROFILES_CHANNEL}`);
      await client.query(`LISTEN ${DEVICES_CHANNEL}`);
    } catch (err) {
      client.removeListener('end', lost);
      await client.end().catch(() => undefined);
      throw err;
    }
    if (this.closed) {
      await client.end().catch(() => undefined);
      return;
    }
    this.listenClient = client;
    this.reconnectDelay = RECONNECT_MIN_MS;
    // Notices sent while it was away are lost: whoever caches what they would have changed starts over.
    if (this.listenedBefore) this.tell({ kind: 'resync' });
    this.listenedBefore = true;
    this.heartbeat ??= setInterval(() => this.checkListener(), LISTEN_HEARTBEAT_MS);
    this.heartbeat.unref();
  }

  /** A query on the LISTEN connection; no answer in time counts as a lost connection. */
  private checkListener(): void {
    const client = this.listenClient;
    if (!client) return;
    let timer: NodeJS.Timeout | undefined;
    const silent = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error('no answer')), LISTEN_HEARTBEAT_MS / 2);
    });
    void Promise.race([client.query('SELECT 1'), silent])
      .catch(() => this.listenerLost(client))
      .finally(() => clearTimeout(timer));
  }

  private listenerLost(client: pg.Client): void {
    if (this.closed || client !== this.listenClient) return;
    this.listenClient = null;
    void client.end().catch(() => undefined);
    this.scheduleListen();
  }

  private scheduleListen(): void {
    if (this.closed || this.reconnectTimer) return;
    const delay = this.reconnectDelay;
    this.reconnectDelay = Math.min(RECONNECT_MAX_MS, delay * 2);
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = null;
      this.listen().catch(() => this.scheduleListen());
    }, delay);
    this.reconnectTimer.unref();
  }

  private async handleNotification(channel: string, payload: string | undefined): Promise<void> {
    if (this.listeners.size === 0 || payload === undefined) return;
    let parsed: unknown;
    try {
      parsed = JSON.parse(payload);
    } catch {
      return;
    }
    if (typeof parsed !== 'object' || parsed === null) return;
    const p = parsed as { i?: unknown; e?: unknown; a?: unknown; d?: unknown };
    if (p.i === this.instanceId) return;
    let notice: StoreNotice;
    if (channel === EVENTS_CHANNEL && Array.isArray(p.e)) {
      const ids = p.e.filter((id): id is number => Number.isSafeInteger(id));
      if (ids.length === 0) return;
      const rows = await run<EventRow>(this.pool, 'SELECT * FROM events WHERE id = ANY($1::bigint[]) ORDER BY id', [ids]);
      if (rows.rows.length === 0) return; // trimmed already
      notice = { kind: 'events', events: rows.rows.map(toEvent) };
    } else if (channel === PROFILES_CHANNEL && typeof p.a === 'string') {
      notice = { kind: 'profile', appId: p.a };
    } else if (channel === DEVICES_CHANNEL && typeof p.d === 'string') {
      notice = { kind: 'device-deleted', deviceId: p.d };
    } else {
      return;
    }
    this.tell(notice);
  }

  private tell(notice: StoreNotice): void {
    for (const listener of [...this.listeners]) {
      try {
        listener(notice);
      } catch {
        // one listener's failure does not keep the notice from the others
      }
    }
  }

  async ping(): Promise<void> {
    await run(this.pool, 'SELECT 1');
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.announcing) clearTimeout(this.announcing);
    if (this.heartbeat) clearInterval(this.heartbeat);
    await this.flushAnnouncements();
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    this.reconnectTimer = null;
    const client = this.listenClient;
    this.listenClient = null;
    if (client) await client.end().catch(() => undefined);
    await this.pool.end();
  }
}
