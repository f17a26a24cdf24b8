import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pgDriver from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultSettings } from '../../plugin/profiles.js';
import { PgStore } from '../../plugin/store/pg-store.js';
import type { MessageRecord } from '../../plugin/store/records.js';
import { copySqliteToPostgres } from '../../plugin/store/store-copy.js';
import { SqliteStore } from '../../plugin/store/sqlite-store.js';
import type { Store } from '../../plugin/store/store.js';
import { ensureBuilt, ROOT } from '../helpers/plugin-process.js';
import { Postgres } from '../helpers/postgres.js';

const T0 = Date.parse('2025-05-01T08:00:00.000Z');
const APPS = ['greenhouse-app', 'orchard-app'];
const DEVICES_PER_APP = 3;
const UPLINKS_PER_DEVICE = 40;

function message(appId: string, deviceId: string, n: number, at: number): MessageRecord {
  const iso = new Date(at).toISOString();
  const pending = n === 0;
  return {
    deviceId,
    messageId: `msg-${n}`,
    appId,
    network: 'tts',
    name: null,
    message: { on: true },
    encoding: 'none',
    fPort: 10,
    confirmed: true,
    priority: 'NORMAL',
    replace: false,
    ttlMin: 60,
    status: pending ? 'PENDING' : 'DELIVERED',
    detail: pending ? 'retrying' : 'acknowledged',
    error: pending ? { code: 'tts_unavailable', message: 'HTTP 503' } : null,
    correlationId: `lwb:${deviceId}:${n}`,
    iotda: null,
    request: { downlinks: [{ f_port: 10, frm_payload: 'AQ==' }] },
    attempts: 1,
    createdAt: iso,
    updatedAt: iso,
    finishedAt: pending ? null : iso,
    nextAttemptAt: pending ? new Date(at + 60_000).toISOString() : null,
    expiresAt: new Date(at + 3_600_000).toISOString(),
  };
}

/** Everything a data dir holds, written through the SQLite store as the plugin writes it. */
async function populate(store: Store): Promise<void> {
  for (const [a, appId] of APPS.entries()) {
    const settings = { ...defaultSettings(), formatter: { type: 'javascript' as const, script: `module.exports.uplink = (p) => ({ v: ${a} });`, timeout_ms: 200 } };
    await store.putProfile(appId, settings, `token-${appId}-0123456789abcdef`, 'first');
    await store.putProfile(appId, { ...settings, formatter: { ...settings.formatter, script: `module.exports.uplink = (p) => ({ v: ${a + 10} });` } }, 'unused', 'second');
    for (let d = 0; d < DEVICES_PER_APP; d++) {
      const deviceId = `${appId}-dev-${d}`;
      const bucketId = `${deviceId}-data`;
      for (let f = 1; f <= UPLINKS_PER_DEVICE; f++) {
        const at = T0 + (a * 1000 + d * 100 + f) * 1000;
        const iso = new Date(at).toISOString();
        const failed = f % 10 === 0;
        await store.commitUplink({
          dedupe: { deviceId, sessionKeyId: 'session-1', fCnt: f, payload: `p${f}` },
          newDevice:
            f === 1
              ? {
                  id: deviceId,
                  appId,
                  ids: { network: 'tts', app_id: appId, network_device_id: `node-${d}`, dev_eui: `70B3D57ED00000${a}${d}` },
                  assetType: 'sensor',
                  assetGroup: null,
                  connectionTimeoutMin: 60,
                  bucketId,
                  createdAt: iso,
                  lastSeenAt: iso,
                  properties: { location: { lat: 52 + d } },
                }
              : null,
          provisionEvents: f === 1 ? [{ appId, deviceId, category: 'provisioning', severity: 'info', title: `Provisioned ${deviceId}`, details: {} }] : [],
          newBucket: f === 1 ? { id: bucketId, deviceId, appId } : null,
          bucketRow: failed ? null : { bucketId, tsMs: at, data: { f, t: 20 + f / 10 }, normalized: [{ air: { temperature: 20 + f / 10 } }], measurements: [{ quantity: 'air.temperature', tsMs: at, appId, deviceId, value: 20 + f / 10 }] },
          deadLetter: failed ? { appId, deviceId, reason: 'formatter_error', error: { message: 'boom' }, network: 'tts', body: { f_cnt: f } } : null,
          resolvesDeadLetter: null,
          deviceSeen: { id: deviceId, lastSeenAt: iso, state: { f_cnt: f }, properties: { rssi: -70 - f } },
          credentials: f === 1 ? { deviceId, value: { apiKey: `NNSXS.${deviceId}.SECRET`, pushUrl: 'https://eu1.cloud.thethings.network/push', replaceUrl: 'https://eu1.cloud.thethings.network/replace' } } : null,
          recent: { appId, deviceId, network: 'tts', receivedAt: iso, report: JSON.stringify({ f_cnt: f }), outcome: failed ? { error: { message: 'boom' } } : { data: { f } }, formatterVersion: 2 },
          events: [{ appId, deviceId, category: 'uplink', severity: failed ? 'error' : 'info', title: `Uplink ${f}`, details: { f_cnt: f } }],
        });
      }
      for (let n = 0; n < 3; n++) await store.insertMessage(message(appId, deviceId, n, T0 + n * 1000));
    }
    await store.enqueueNotification(`https://notify.example.com/${appId}`, { resource: 'device.message.status', app: appId });
  }
}

/** Every read the plugin makes, answered by a store: equal answers mean the data came over whole. */
async function everything(store: Store): Promise<unknown> {
  const out: Record<string, unknown> = {};
  out.profiles = await store.listProfiles();
  for (const appId of APPS) {
    out[`profile ${appId}`] = await store.getProfile(appId);
    out[`versions ${appId}`] = await store.listFormatterVersions(appId);
    // `seq` only orders a ring (per application in SQLite, across applications in PostgreSQL).
    out[`recent ${appId}`] = (await store.listRecentUplinks(appId, 1000)).map(({ seq: _seq, ...r }) => r);
    out[`dead letters ${appId}`] = await store.listDeadLetters({ appId, limit: 1000 });
    out[`pending ${appId}`] = await store.pendingDeadLetterIds(appId, 1000);
    out[`buckets ${appId}`] = await store.listBuckets({ appId });
    out[`measurements ${appId}`] = await store.listMeasurements({ quantity: 'air.temperature', appId, limit: 10_000, order: 'asc' });
  }
  const devices = await store.listDevices({ limit: 1000 });
  out.devices = devices;
  for (const d of devices.items) {
    out[`credentials ${d.id}`] = await store.getCredentials(d.id);
    out[`messages ${d.id}`] = await store.listMessages(d.id, { limit: 100, offset: 0 });
    if (d.bucketId) out[`rows ${d.id}`] = await store.readBucket(d.bucketId, { limit: 10_000, order: 'asc' });
  }
  out.events = await store.listEvents({ limit: 100_000 });
  out.open = await store.listOpenMessages({ statuses: ['PENDING'], limit: 1000 });
  out.outbox = await store.listDueNotifications('9999-12-31T23:59:59.999Z', 1000);
  return out;
}

/** A device written as a first uplink writes it, with `properties`. */
async function addDevice(store: Store, appId: string, id: string, properties: Record<string, unknown>, at: string): Promise<void> {
  await store.commitUplink({
    dedupe: null,
    newDevice: { id, appId, ids: { network: 'tts', app_id: appId, network_device_id: id }, assetType: null, assetGroup: null, connectionTimeoutMin: 60, bucketId: null, createdAt: at, lastSeenAt: at, properties },
    provisionEvents: [],
    newBucket: null,
    bucketRow: null,
    deadLetter: null,
    resolvesDeadLetter: null,
    deviceSeen: null,
    credentials: null,
    recent: null,
    events: [],
  });
}

describe('npm run migrate-store: a SQLite data dir into PostgreSQL', () => {
  let pg: Postgres;
  let dir: string;
  let file: string;
  let expected: unknown;
  const now = () => new Date(T0 + 86_400_000);
  const dirs: string[] = [];

  /** A data dir of its own, written through the SQLite store. */
  async function dataDir(fill: (store: SqliteStore) => Promise<void>): Promise<{ dir: string; file: string }> {
    const d = mkdtempSync(join(tmpdir(), 'migrate-store-'));
    dirs.push(d);
    const f = join(d, 'plugin.db');
    const store = new SqliteStore({ file: f, eventCap: 100_000, now });
    try {
      await fill(store);
    } finally {
      await store.close();
    }
    return { dir: d, file: f };
  }

  /** One query on a connection of its own, closed after. */
  async function query<R extends pgDriver.QueryResultRow>(url: string, sql: string, params: unknown[] = []): Promise<R[]> {
    const client = new pgDriver.Client({ connectionString: url });
    await client.connect();
    try {
      return (await client.query<R>(sql, params)).rows;
    } finally {
      await client.end();
    }
  }

  const cliEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('PLUGIN_'))) as Record<string, string>;
  const cli = (args: string[], env: Record<string, string> = {}) =>
    spawnSync(process.execPath, [join(ROOT, 'dist', 'plugin', 'migrate-store.js'), ...args], { encoding: 'utf8', timeout: 60_000, env: { ...cliEnv, ...env } });

  beforeAll(async () => {
    pg = await Postgres.start();
    dir = mkdtempSync(join(tmpdir(), 'migrate-store-'));
    file = join(dir, 'plugin.db');
    const sqlite = new SqliteStore({ file, eventCap: 100_000, now });
    await populate(sqlite);
    expected = await everything(sqlite);
    await sqlite.close();
  }, 60_000);

  afterAll(async () => {
    await pg?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it('copies every record with its ids, so the PostgreSQL store answers every read as the SQLite one did; a second run copies nothing', async () => {
    const url = await pg.createDatabase();
    const first = await copySqliteToPostgres({ file, url, now });
    const byTable = Object.fromEntries(first.map((t) => [t.table, t]));
    expect(byTable.devices).toMatchObject({ source: APPS.length * DEVICES_PER_APP, copied: APPS.length * DEVICES_PER_APP });
    expect(byTable.bucket_rows.source).toBe(APPS.length * DEVICES_PER_APP * (UPLINKS_PER_DEVICE - UPLINKS_PER_DEVICE / 10));
    for (const t of first) expect(t, t.table).toMatchObject({ copied: t.source, target: t.source });

    const again = await copySqliteToPostgres({ file, url, now });
    for (const t of again) expect(t, t.table).toMatchObject({ copied: 0, target: t.source });

    const store = await PgStore.open({ url, eventCap: 100_000, now });
    try {
      expect(await everything(store)).toEqual(expected);
      // Ids go on after the copied ones: a new event and dead letter do not collide with old ones.
      const maxEvent = Math.max(...((expected as { events: { id: number }[] }).events.map((e) => e.id)));
      const [fresh] = await store.appendEvents([{ appId: APPS[0], deviceId: null, category: 'system', severity: 'info', title: 'after the move', details: {} }]);
      expect(fresh.id).toBeGreaterThan(maxEvent);
      // The dedupe window came along: a resent uplink stays a duplicate.
      const resend = await store.commitUplink({
        dedupe: { deviceId: `${APPS[0]}-dev-0`, sessionKeyId: 'session-1', fCnt: UPLINKS_PER_DEVICE, payload: `p${UPLINKS_PER_DEVICE}` },
        newDevice: null,
        provisionEvents: [],
        newBucket: null,
        bucketRow: { bucketId: `${APPS[0]}-dev-0-data`, tsMs: T0, data: { again: true } },
        deadLetter: null,
        resolvesDeadLetter: null,
        deviceSeen: null,
        credentials: null,
        recent: null,
        events: [],
      });
      expect(resend.duplicate).toBe(true);
    } finally {
      await store.close();
    }
  });

  it('runs as `npm run migrate-store -- --from <dir> --to <url>` (or the URL in PLUGIN_DATABASE_URL), and refuses what it cannot use with a usage line', async () => {
    ensureBuilt();
    const url = await pg.createDatabase();
    const ok = cli(['--from', dir, '--to', url]);
    expect(ok.status, ok.stderr).toBe(0);
    const rows = APPS.length * DEVICES_PER_APP * (UPLINKS_PER_DEVICE - UPLINKS_PER_DEVICE / 10);
    expect(ok.stdout).toMatch(new RegExp(`bucket_rows\\s+${rows} rows,\\s+${rows} copied now,\\s+${rows} in PostgreSQL`));
    expect(ok.stdout).toContain('checked by key and content');
    // The URL from the environment (not on the command line, where `ps` shows it): a re-run, nothing to copy.
    const fromEnv = cli(['--from', dir], { PLUGIN_DATABASE_URL: url });
    expect(fromEnv.status, fromEnv.stderr).toBe(0);
    expect(fromEnv.stdout).toMatch(new RegExp(`bucket_rows\\s+${rows} rows,\\s+0 copied now,\\s+${rows} in PostgreSQL`));
    const envOnly = await pg.createDatabase();
    const intoEnv = cli(['--from', dir], { PLUGIN_DATABASE_URL: envOnly });
    expect(intoEnv.status, intoEnv.stderr).toBe(0);
    expect(intoEnv.stdout).toMatch(new RegExp(`bucket_rows\\s+${rows} rows,\\s+${rows} copied now,\\s+${rows} in PostgreSQL`));
    const bad = cli(['--from', dir]);
    expect(bad.status).toBe(64);
    expect(bad.stderr).toContain('usage: npm run migrate-store');
    expect(bad.stderr).toContain('PLUGIN_DATABASE_URL');
    const notPg = cli(['--from', dir, '--to', 'mysql://x@y/z']);
    expect(notPg.status).toBe(64);
    const notPgEnv = cli(['--from', dir], { PLUGIN_DATABASE_URL: 'mysql://x@y/z' });
    expect(notPgEnv.status).toBe(64);
    const noData = cli(['--from', join(dir, 'nothing-here'), '--to', url]);
    expect(noData.status).toBe(66);
    expect(noData.stderr).toContain('no plugin.db');
  }, 120_000);

  it('refuses a database an instance started on first (its Default profile, a new token): names the table and key, copies nothing, claims nothing', async () => {
    const source = await dataDir(async (s) => {
      await s.putProfile('default', defaultSettings(), 'OLD-default-token-that-TTS-uses');
      await s.appendEvents([{ appId: 'default', deviceId: null, category: 'webhook', severity: 'info', title: 'sqlite event', details: {} }]);
      await addDevice(s, 'default', 'sqlite-device', { location: 'shed' }, new Date(T0).toISOString());
    });
    const url = await pg.createDatabase();
    const first = await PgStore.open({ url, eventCap: 100_000, now: () => new Date(T0 + 172_800_000) });
    await first.putProfile('default', defaultSettings(), 'NEW-token-from-first-start');
    await first.close();

    const told: string[] = [];
    const err = await copySqliteToPostgres({ file: source.file, url, now, onTable: (t) => told.push(t.table) }).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(Error);
    const message = (err as Error).message;
    expect(message).toMatch(/^profiles: PostgreSQL already holds the row app_id = "default", different from the SQLite file's \(.*webhook_token.*\)/);
    expect(message).toContain('copy into an empty database, or into an earlier copy of this same file');
    expect(message).toContain('nothing was copied');
    expect(message).not.toContain('OLD-default-token');
    expect(told).toEqual([]);
    // The target as it was: its own Default profile, none of the file's rows.
    const after = await PgStore.open({ url, eventCap: 100_000, now });
    try {
      expect((await after.getProfile('default'))?.webhookToken).toBe('NEW-token-from-first-start');
      expect(await after.listEvents({ limit: 10 })).toEqual([]);
      expect((await after.listDevices({ limit: 10 })).items).toEqual([]);
    } finally {
      await after.close();
    }

    ensureBuilt();
    const run = cli(['--from', source.dir, '--to', url]);
    expect(run.status).toBe(1);
    expect(run.stderr).toContain('migrate-store failed: profiles: PostgreSQL already holds the row app_id = "default"');
    expect(run.stdout).not.toMatch(/copied now|done/);
  }, 120_000);

  it('refuses while another session is connected to the database (a running instance), before writing anything', async () => {
    const source = await dataDir(async (s) => {
      await s.putProfile('default', defaultSettings(), 'default-token-0123456789');
    });
    const url = await pg.createDatabase();
    const instance = new pgDriver.Client({ connectionString: url, application_name: 'lorawan-plugin' });
    await instance.connect();
    try {
      const err = await copySqliteToPostgres({ file: source.file, url, now }).then(
        () => null,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(Error);
      expect((err as Error).message).toMatch(/^1 other session is connected to the PostgreSQL database \(pid \d+.*application "lorawan-plugin".*\): stop the plugin instances/);
      expect((await instance.query("SELECT to_regclass('profiles') AS t")).rows[0].t).toBeNull();
    } finally {
      await instance.end();
    }
    // Once it is gone (a closed session may linger a moment: the copy waits for it), the copy runs.
    const report = await copySqliteToPostgres({ file: source.file, url, now });
    expect(report.find((t) => t.table === 'profiles')).toMatchObject({ source: 1, copied: 1, target: 1 });
  });

  it('refuses while the plugin has the SQLite file open, and copies once it is closed', async () => {
    const source = await dataDir(async (s) => {
      await s.putProfile('default', defaultSettings(), 'default-token-0123456789');
    });
    const url = await pg.createDatabase();
    const running = new SqliteStore({ file: source.file, eventCap: 100_000, now });
    try {
      const err = await copySqliteToPostgres({ file: source.file, url, now }).then(
        () => null,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(Error);
      expect((err as Error).message).toContain('the plugin seems to be running on this data dir');
    } finally {
      await running.close();
    }
    expect(await query(url, "SELECT to_regclass('profiles') AS t")).toEqual([{ t: null }]);
    const report = await copySqliteToPostgres({ file: source.file, url, now });
    expect(report.find((t) => t.table === 'profiles')).toMatchObject({ source: 1, copied: 1, target: 1 });
  });

  it('never moves a sequence backwards, below ids it handed out already', async () => {
    const source = await dataDir(async (s) => {
      await s.putProfile('default', defaultSettings(), 'default-token-0123456789');
      await s.appendEvents([1, 2, 3].map((n) => ({ appId: 'default', deviceId: null, category: 'webhook' as const, severity: 'info' as const, title: `event ${n}`, details: {} })));
    });
    const url = await pg.createDatabase();
    await copySqliteToPostgres({ file: source.file, url, now });
    // Ids drawn since (rolled back, or rows deleted): the sequence is past them, MAX(id) is not.
    const client = new pgDriver.Client({ connectionString: url });
    await client.connect();
    await client.query('BEGIN');
    const drawn = await client.query<{ id: string }>(
      "INSERT INTO events (ts, app_id, device_id, category, severity, title, details) SELECT 't', 'default', NULL, 'webhook', 'info', 'in flight', '{}' FROM generate_series(1, 5) RETURNING id",
    );
    await client.query('ROLLBACK');
    await client.end();
    const highest = Math.max(...drawn.rows.map((r) => Number(r.id)));
    expect(highest).toBeGreaterThan(3);

    const again = await copySqliteToPostgres({ file: source.file, url, now });
    expect(again.find((t) => t.table === 'events')).toMatchObject({ source: 3, copied: 0, target: 3 });
    const [next] = await query<{ id: string }>(url, "SELECT nextval(pg_get_serial_sequence('events', 'id')) AS id");
    expect(Number(next.id)).toBeGreaterThan(highest);
  });

  it('copies a NUL (kept by SQLite, e.g. in an event title from a TTS error message or a device property) as U+FFFD, as PgStore stores it, and a re-run finds it equal', async () => {
    const at = new Date(T0).toISOString();
    const source = await dataDir(async (s) => {
      await s.putProfile('default', defaultSettings(), 'default-token-0123456789');
      await s.appendEvents([{ appId: 'default', deviceId: null, category: 'downlink', severity: 'error', title: 'Downlink rejected by TTS: bad\u0000thing', details: { message: 'a\u0000b' } }]);
      await addDevice(s, 'default', 'nul-device', { label: 'left\u0000right', 'odd\u0000name': 1 }, at);
    });
    const url = await pg.createDatabase();
    const first = await copySqliteToPostgres({ file: source.file, url, now });
    for (const t of first) expect(t, t.table).toMatchObject({ copied: t.source, target: t.source });
    const again = await copySqliteToPostgres({ file: source.file, url, now });
    for (const t of again) expect(t, t.table).toMatchObject({ copied: 0, target: t.source });
    const store = await PgStore.open({ url, eventCap: 100_000, now });
    try {
      const [event] = await store.listEvents({ limit: 10 });
      expect(event.title).toBe('Downlink rejected by TTS: bad\uFFFDthing');
      // JSON text holds a NUL as the escape \u0000: it comes back as it was.
      expect(event.details).toEqual({ message: 'a\u0000b' });
      // A property's name is text (NUL as U+FFFD); its value is JSON (NUL escaped).
      expect((await store.getDevice('nul-device'))?.properties).toEqual({ label: 'left\u0000right', 'odd\uFFFDname': 1 });
    } finally {
      await store.close();
    }
  });

  it('pages tables by key (several pages of a two-column key) and copies them whole', async () => {
    const at = new Date(T0).toISOString();
    const properties = Object.fromEntries(Array.from({ length: 1_234 }, (_, i) => [`p${String(i).padStart(4, '0')}`, i]));
    const source = await dataDir(async (s) => {
      await s.putProfile('default', defaultSettings(), 'default-token-0123456789');
      await addDevice(s, 'default', 'dev-a', properties, at);
      await addDevice(s, 'default', 'dev-b', properties, at);
      await s.appendEvents(Array.from({ length: 1_100 }, (_, i) => ({ appId: 'default', deviceId: null, category: 'webhook' as const, severity: 'info' as const, title: `event ${i}`, details: {} })));
    });
    const url = await pg.createDatabase();
    const report = await copySqliteToPostgres({ file: source.file, url, now });
    expect(report.find((t) => t.table === 'device_properties')).toMatchObject({ source: 2 * 1_234, copied: 2 * 1_234, target: 2 * 1_234 });
    expect(report.find((t) => t.table === 'events')).toMatchObject({ source: 1_100, copied: 1_100, target: 1_100 });
    const store = await PgStore.open({ url, eventCap: 100_000, now });
    try {
      expect((await store.getDevice('dev-b'))?.properties).toEqual(properties);
    } finally {
      await store.close();
    }
  });
});
