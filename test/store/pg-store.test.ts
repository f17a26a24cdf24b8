import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { JsonObject } from '../../formatters/contract.js';
import { defaultSettings } from '../../plugin/profiles.js';
import { WriteConflict } from '../../plugin/store/errors.js';
import { migrate } from '../../plugin/store/pg-migrate.js';
import { PG_MIGRATIONS } from '../../plugin/store/pg-schema.js';
import { PgStore, type PgStoreOptions } from '../../plugin/store/pg-store.js';
import type { EventInput, MessageRecord } from '../../plugin/store/records.js';
import type { StoreNotice, UplinkWrite } from '../../plugin/store/store.js';
import { eventually } from '../helpers/eventually.js';
import { postgresForFile, type FilePostgres } from '../helpers/postgres.js';

let server: FilePostgres;
const opened: PgStore[] = [];

beforeAll(async () => {
  server = await postgresForFile();
});

afterAll(async () => {
  await server?.stop();
});

afterEach(async () => {
  await Promise.all(opened.splice(0).map((s) => s.close()));
});

/** A clock the test moves. */
function clock(start = '2030-01-01T00:00:00.000Z') {
  let t = Date.parse(start);
  return {
    now: () => new Date(t),
    set: (iso: string) => (t = Date.parse(iso)),
    advance: (ms: number) => (t += ms),
  };
}

async function open(url: string, options: Partial<PgStoreOptions> = {}): Promise<PgStore> {
  const store = await PgStore.open({ url, eventCap: 10_000, now: () => new Date('2030-01-01T00:00:00.000Z'), ...options });
  opened.push(store);
  return store;
}

/** Opens `n` instances on one fresh database. */
async function instances(n: number, options: Partial<PgStoreOptions> = {}): Promise<{ url: string; stores: PgStore[] }> {
  const url = await server.createDatabase();
  const stores: PgStore[] = [];
  for (let i = 0; i < n; i++) stores.push(await open(url, options));
  return { url, stores };
}

async function sql<R extends pg.QueryResultRow>(url: string, text: string, values: unknown[] = []): Promise<R[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<R>(text, values)).rows;
  } finally {
    await client.end();
  }
}

const APP = 'app-one';

function event(title: string, over: Partial<EventInput> = {}): EventInput {
  return { appId: APP, deviceId: null, category: 'uplink', severity: 'info', title, details: { title }, ...over };
}

interface UplinkOptions {
  deviceId?: string;
  appId?: string;
  fCnt?: number | null;
  payload?: string;
  alsoSeenAs?: string;
  provision?: boolean;
  seenAt?: string;
  tsMs?: number;
  deadLetter?: boolean;
  resolves?: number | null;
  recent?: boolean;
  title?: string;
}

/** The write of one uplink, shaped as the uplink pipeline makes it. */
function uplink(o: UplinkOptions = {}): UplinkWrite {
  const deviceId = o.deviceId ?? 'dev-1';
  const appId = o.appId ?? APP;
  const seenAt = o.seenAt ?? '2030-01-01T00:00:00.000Z';
  const fCnt = o.fCnt === undefined ? 1 : o.fCnt;
  const bucketId = `bucket-${deviceId}`;
  return {
    dedupe: fCnt === null ? null : { deviceId, sessionKeyId: 'sk-1', fCnt, payload: o.payload ?? `p${fCnt}`, ...(o.alsoSeenAs ? { alsoSeenAs: o.alsoSeenAs } : {}) },
    newDevice: o.provision
      ? {
          id: deviceId,
          appId,
          ids: { network: 'tts', app_id: appId, network_device_id: deviceId, dev_eui: '0004A30B001C0530' },
          assetType: 'sensor',
          assetGroup: null,
          connectionTimeoutMin: 10,
          bucketId,
          createdAt: seenAt,
          lastSeenAt: null,
          properties: { downlink: { initial: true }, location: null },
        }
      : null,
    provisionEvents: [event(`Device ${deviceId} provisioned`, { deviceId, category: 'provisioning' })],
    newBucket: o.provision ? { id: bucketId, deviceId, appId } : null,
    bucketRow: o.deadLetter
      ? null
      : {
          bucketId,
          tsMs: o.tsMs ?? Date.parse(seenAt),
          data: { t: fCnt ?? 0, z: 'last', a: 'first' },
          normalized: [{ air: { temperature: 21.5 } }],
          measurements: [{ quantity: 'air.temperature', tsMs: o.tsMs ?? Date.parse(seenAt), appId, deviceId, value: 21.5 }],
        },
    deadLetter: o.deadLetter ? { appId, deviceId, reason: 'formatter_error', error: { message: 'boom' }, network: 'tts', body: { f_cnt: fCnt } } : null,
    resolvesDeadLetter: o.resolves ?? null,
    deviceSeen: { id: deviceId, lastSeenAt: seenAt, state: { f_cnt: fCnt }, properties: { rssi: -70 } },
    credentials: null,
    recent: o.recent
      ? { appId, deviceId, network: 'tts', receivedAt: seenAt, report: JSON.stringify({ f_cnt: fCnt }), outcome: { data: { t: fCnt ?? 0 } }, formatterVersion: 1 }
      : null,
    events: [event(o.title ?? `Uplink ${fCnt}`, { deviceId })],
  };
}

function message(deviceId: string, messageId: string, over: Partial<MessageRecord> = {}): MessageRecord {
  return {
    deviceId,
    messageId,
    appId: APP,
    network: 'tts',
    name: null,
    message: { b: 1, a: 2 },
    encoding: 'none',
    fPort: 1,
    confirmed: false,
    priority: 'NORMAL',
    replace: false,
    ttlMin: 60,
    status: 'PENDING',
    detail: 'retrying',
    error: null,
    correlationId: `corr-${deviceId}-${messageId}`,
    iotda: null,
    request: null,
    attempts: 0,
    createdAt: '2030-01-01T00:00:00.000Z',
    updatedAt: '2030-01-01T00:00:00.000Z',
    finishedAt: null,
    nextAttemptAt: '2030-01-01T00:01:00.000Z',
    expiresAt: '2030-01-01T01:00:00.000Z',
    ...over,
  };
}

describe('PgStore migrations', () => {
  it('four instances starting at once on a fresh database all open, and the schema is applied once', async () => {
    const url = await server.createDatabase();
    const stores = await Promise.all([0, 1, 2, 3].map(() => open(url)));
    expect(stores).toHaveLength(4);
    const versions = await sql<{ version: number }>(url, 'SELECT version FROM schema_migrations ORDER BY version');
    expect(versions.map((v) => v.version)).toEqual(PG_MIGRATIONS.map((_, i) => i + 1));
    // once more: nothing to apply
    const pool = new pg.Pool({ connectionString: url });
    try {
      expect(await migrate(pool, () => new Date())).toEqual([]);
    } finally {
      await pool.end();
    }
  });

  it('applies only the versions missing, each in its own transaction; a failing one leaves the earlier ones', async () => {
    const url = await server.createDatabase();
    const pool = new pg.Pool({ connectionString: url });
    try {
      const one = 'CREATE TABLE m_one (x INTEGER)';
      const two = 'CREATE TABLE m_two (x INTEGER)';
      expect(await migrate(pool, () => new Date(), [one])).toEqual([1]);
      expect(await migrate(pool, () => new Date(), [one, two])).toEqual([2]);
      await expect(migrate(pool, () => new Date(), [one, two, 'CREATE TABLE m_three (x INTEGER); SELECT nonsense FROM nowhere'])).rejects.toThrow();
      const tables = await sql<{ t: string }>(url, "SELECT tablename AS t FROM pg_tables WHERE tablename LIKE 'm\\_%' ORDER BY 1");
      expect(tables.map((r) => r.t)).toEqual(['m_one', 'm_two']);
      // the lock was given back: another run proceeds
      expect(await migrate(pool, () => new Date(), [one, two, 'CREATE TABLE m_three (x INTEGER)'])).toEqual([3]);
    } finally {
      await pool.end();
    }
  });
});

describe('PgStore round trips', () => {
  it('profiles and formatter versions', async () => {
    const t = clock();
    const { stores } = await instances(1, { now: t.now });
    const [s] = stores;
    const settings = defaultSettings();
    expect(await s.getProfile(APP)).toBeNull();
    expect(await s.putProfile(APP, settings, 'token-1', 'first')).toEqual({ created: true, formatterVersion: 1 });
    t.advance(1000);
    // same formatter: no new version, the token stays
    expect(await s.putProfile(APP, { ...settings, enabled: false }, 'token-2')).toEqual({ created: false, formatterVersion: 1 });
    const p = await s.getProfile(APP);
    expect(p).toMatchObject({ webhookToken: 'token-1', createdAt: '2030-01-01T00:00:00.000Z', updatedAt: '2030-01-01T00:00:01.000Z', formatterVersion: 1 });
    expect(JSON.stringify(p?.settings)).toBe(JSON.stringify({ ...settings, enabled: false }));
    const script = 'function decodeUplink(input) { return { data: { "é": input.bytes } }; }';
    expect(await s.putProfile(APP, { ...settings, formatter: { ...settings.formatter, script } }, 'x', 'second')).toEqual({ created: false, formatterVersion: 2 });
    expect((await s.listFormatterVersions(APP)).map((v) => [v.version, v.note])).toEqual([
      [2, 'second'],
      [1, 'first'],
    ]);
    expect((await s.getFormatterVersion(APP, 2))?.formatter.script).toBe(script);
    expect(await s.getFormatterVersion(APP, 3)).toBeNull();
    expect(await s.getFormatterVersion(APP, 2 ** 40)).toBeNull();
    expect(await s.setFormatterVersionNote(APP, 1, 'renamed')).toBe(true);
    expect(await s.setFormatterVersionNote(APP, 9, 'none')).toBe(false);
    expect((await s.getFormatterVersion(APP, 1))?.note).toBe('renamed');
    expect(await s.setWebhookToken(APP, 'token-3')).toBe(true);
    expect(await s.setWebhookToken('nope', 'token-3')).toBe(false);
    expect((await s.getProfile(APP))?.webhookToken).toBe('token-3');
    await s.putProfile('default', settings, 't');
    await s.putProfile('Zeta', settings, 't');
    await s.putProfile('alpha', settings, 't');
    // default first, then byte order (upper case before lower case), as SQLite
    expect((await s.listProfiles()).map((r) => r.appId)).toEqual(['default', 'Zeta', 'alpha', APP]);
    expect(await s.deleteProfile(APP)).toBe(true);
    expect(await s.deleteProfile(APP)).toBe(false);
    expect(await s.listFormatterVersions(APP)).toEqual([]);
  });

  it('keeps the last 100 formatter versions', async () => {
    const { stores } = await instances(1);
    const [s] = stores;
    const settings = defaultSettings();
    for (let i = 0; i < 103; i++) await s.putProfile(APP, { ...settings, formatter: { ...settings.formatter, script: `// ${i}` } }, 't');
    const versions = await s.listFormatterVersions(APP);
    expect(versions).toHaveLength(100);
    expect(versions[0].version).toBe(103);
    expect(versions[99].version).toBe(4);
  });

  it('devices, properties, credentials, buckets, measurements and the uplink write', async () => {
    const { stores } = await instances(1);
    const [s] = stores;
    const first = await s.commitUplink(uplink({ provision: true, fCnt: 1, recent: true }));
    expect(first.duplicate).toBe(false);
    expect(first.events.map((e) => e.title)).toEqual(['Device dev-1 provisioned', 'Uplink 1']);
    expect(first.events[1].id).toBe(first.events[0].id + 1);
    const device = await s.getDevice('dev-1');
    expect(device).toEqual({
      id: 'dev-1',
      appId: APP,
      ids: { network: 'tts', app_id: APP, network_device_id: 'dev-1', dev_eui: '0004A30B001C0530' },
      assetType: 'sensor',
      assetGroup: null,
      connectionTimeoutMin: 10,
      bucketId: 'bucket-dev-1',
      createdAt: '2030-01-01T00:00:00.000Z',
      lastSeenAt: '2030-01-01T00:00:00.000Z',
      properties: { device: { f_cnt: 1 }, downlink: { initial: true }, location: null, rssi: -70 },
      downlinkReady: false,
    });
    // key order as SQLite gives it: device first, then the others by name
    expect(Object.keys(device?.properties ?? {})).toEqual(['device', 'downlink', 'location', 'rssi']);
    expect(await s.getDevice('nope')).toBeNull();

    // a duplicate (also under its other fingerprint) writes nothing
    expect(await s.commitUplink(uplink({ fCnt: 1 }))).toEqual({ duplicate: true, deadLetterId: null, events: [] });
    expect((await s.commitUplink(uplink({ fCnt: 2, payload: 'normalized', alsoSeenAs: 'p1' }))).duplicate).toBe(false);
    expect((await s.commitUplink(uplink({ fCnt: 2, payload: 'other', alsoSeenAs: 'normalized' }))).duplicate).toBe(true);
    // the same f_cnt with another payload is new data
    expect((await s.commitUplink(uplink({ fCnt: 1, payload: 'reset', seenAt: '2030-01-01T00:00:05.000Z' }))).duplicate).toBe(false);
    // a late uplink: state stays, its key joins the window
    expect((await s.commitUplink(uplink({ fCnt: 0, seenAt: '2029-12-31T00:00:00.000Z' }))).duplicate).toBe(false);
    expect((await s.getDevice('dev-1'))?.lastSeenAt).toBe('2030-01-01T00:00:05.000Z');
    expect((await s.getDevice('dev-1'))?.properties.device).toEqual({ f_cnt: 1 });
    expect((await s.commitUplink(uplink({ fCnt: 0, seenAt: '2029-12-31T00:00:00.000Z' }))).duplicate).toBe(true);

    expect(await s.setDeviceProperty('dev-1', 'label', { b: 2, a: 1 })).toBe(true);
    expect(await s.setDeviceProperty('nope', 'label', 1)).toBe(false);
    expect(JSON.stringify((await s.getDevice('dev-1'))?.properties.label)).toBe('{"b":2,"a":1}');
    expect(await s.putCredentials('dev-1', { apiKey: 'k', pushUrl: 'https://x/push' })).toBe(true);
    expect(await s.putCredentials('nope', { apiKey: 'k' })).toBe(false);
    expect(await s.getCredentials('dev-1')).toEqual({ apiKey: 'k', pushUrl: 'https://x/push' });
    expect(await s.getCredentials('nope')).toBeNull();
    expect((await s.getDevice('dev-1'))?.downlinkReady).toBe(true);
    // credentials from an uplink
    await s.commitUplink({ ...uplink({ fCnt: 9 }), credentials: { deviceId: 'dev-1', value: { apiKey: 'k2' } } });
    expect(await s.getCredentials('dev-1')).toEqual({ apiKey: 'k2' });

    // buckets
    const buckets = await s.listBuckets({ appId: APP });
    expect(buckets).toEqual([{ id: 'bucket-dev-1', deviceId: 'dev-1', appId: APP, createdAt: '2030-01-01T00:00:00.000Z', rows: 5, lastTs: '2030-01-01T00:00:05.000Z' }]);
    expect(await s.listBuckets({ deviceId: 'nope' })).toEqual([]);
    expect(await s.getBucket('bucket-dev-1')).toEqual(buckets[0]);
    expect(await s.getBucket('nope')).toBeNull();
    const rows = await s.readBucket('bucket-dev-1', { limit: 10, order: 'asc' });
    expect(rows.map((r) => r.ts)).toEqual([
      '2029-12-31T00:00:00.000Z',
      '2030-01-01T00:00:00.000Z',
      '2030-01-01T00:00:00.000Z',
      '2030-01-01T00:00:00.000Z',
      '2030-01-01T00:00:05.000Z',
    ]);
    // equal ts: insertion order (asc), reversed (desc)
    expect(rows.slice(1, 4).map((r) => r.data.t)).toEqual([1, 2, 9]);
    expect((await s.readBucket('bucket-dev-1', { limit: 10, order: 'desc' })).slice(1, 4).map((r) => r.data.t)).toEqual([9, 2, 1]);
    expect(JSON.stringify(rows[1].data)).toBe('{"t":1,"z":"last","a":"first"}');
    expect(rows[1].normalized).toEqual([{ air: { temperature: 21.5 } }]);
    const from = Date.parse('2030-01-01T00:00:00.000Z');
    expect(await s.readBucket('bucket-dev-1', { fromMs: from + 0.5, limit: 10, order: 'asc' })).toHaveLength(1);
    expect(await s.readBucket('bucket-dev-1', { fromMs: from, toMs: from, limit: 2, order: 'asc' })).toHaveLength(2);

    expect(await s.listMeasurements({ quantity: 'air.temperature', limit: 100, order: 'asc' })).toHaveLength(5);
    expect(await s.listMeasurements({ quantity: 'air.temperature', appId: APP, deviceId: 'dev-1', toMs: from - 1, limit: 100, order: 'desc' })).toEqual([
      { appId: APP, deviceId: 'dev-1', tsMs: Date.parse('2029-12-31T00:00:00.000Z'), value: 21.5 },
    ]);
    expect(await s.measuredQuantities(['air.humidity', 'air.temperature'], {})).toEqual(['air.temperature']);
    expect(await s.measuredQuantities(['air.temperature'], { appId: 'other' })).toEqual([]);

    // the ring of recent uplinks
    const recent = await s.listRecentUplinks(APP, 10);
    expect(recent).toHaveLength(1);
    expect(recent[0]).toMatchObject({ appId: APP, deviceId: 'dev-1', network: 'tts', report: '{"f_cnt":1}', outcome: { data: { t: 1 } }, formatterVersion: 1 });

    // listing, search (ASCII case-insensitive, % and _ literal) and byte order
    for (const id of ['B-dev', 'a-dev', '_x%dev']) await s.commitUplink(uplink({ deviceId: id, provision: true }));
    const all = await s.listDevices({ limit: 10 });
    expect(all.items.map((d) => d.id)).toEqual(['B-dev', '_x%dev', 'a-dev', 'dev-1']);
    const page1 = await s.listDevices({ limit: 2 });
    expect(page1.items.map((d) => d.id)).toEqual(['B-dev', '_x%dev']);
    const page2 = await s.listDevices({ limit: 2, cursor: page1.nextCursor ?? '' });
    expect(page2.items.map((d) => d.id)).toEqual(['a-dev', 'dev-1']);
    expect(page2.nextCursor).toBeNull();
    expect((await s.listDevices({ search: 'b-D', limit: 10 })).items.map((d) => d.id)).toEqual(['B-dev']);
    expect((await s.listDevices({ search: '%', limit: 10 })).items.map((d) => d.id)).toEqual(['_x%dev']);
    expect((await s.listDevices({ search: '0004a30b', limit: 10 })).items).toHaveLength(4);
    expect((await s.listDevices({ appId: 'other', limit: 10 })).items).toEqual([]);

    expect(await s.deleteDevice('dev-1')).toBe(true);
    expect(await s.deleteDevice('dev-1')).toBe(false);
    expect(await s.getDevice('dev-1')).toBeNull();
    expect(await s.getCredentials('dev-1')).toBeNull();
  });

  it('dead letters and their replay', async () => {
    const { stores } = await instances(1);
    const [s] = stores;
    await s.commitUplink(uplink({ provision: true, fCnt: 1 }));
    const dead = await s.commitUplink(uplink({ fCnt: 2, deadLetter: true }));
    expect(dead.deadLetterId).toEqual(expect.any(Number));
    expect(dead.events[0].details).toEqual({ title: 'Uplink 2', dead_letter_id: dead.deadLetterId });
    const other = await s.commitUplink(uplink({ fCnt: 3, deadLetter: true }));
    expect((await s.listDeadLetters({ limit: 10 })).map((d) => d.id)).toEqual([other.deadLetterId, dead.deadLetterId]);
    expect(await s.listDeadLetters({ appId: 'other', limit: 10 })).toEqual([]);
    expect(await s.getDeadLetter(dead.deadLetterId ?? 0)).toEqual({
      id: dead.deadLetterId,
      appId: APP,
      deviceId: 'dev-1',
      reason: 'formatter_error',
      error: { message: 'boom' },
      network: 'tts',
      body: { f_cnt: 2 },
      createdAt: '2030-01-01T00:00:00.000Z',
      replayedAt: null,
    });
    expect(await s.getDeadLetter(0.5)).toBeNull();
    expect(await s.pendingDeadLetterIds(APP, 10)).toEqual([dead.deadLetterId, other.deadLetterId]);
    await s.commitUplink(uplink({ fCnt: null, resolves: dead.deadLetterId, title: 'replayed' }));
    expect(await s.pendingDeadLetterIds(APP, 10)).toEqual([other.deadLetterId]);
    expect((await s.getDeadLetter(dead.deadLetterId ?? 0))?.replayedAt).toBe('2030-01-01T00:00:00.000Z');
  });

  it('events: bounds, filters, paging and byte-for-byte details', async () => {
    const { stores } = await instances(1);
    const [s] = stores;
    const details: JsonObject = { z: 1, a: 'é\u2028😀', nested: { b: [1, 2], a: null } };
    const [one] = await s.appendEvents([event('first', { details })]);
    expect(JSON.stringify(one.details)).toBe(JSON.stringify(details));
    const stored = await s.listEvents({ limit: 1 });
    expect(JSON.stringify(stored[0].details)).toBe(JSON.stringify(details));
    expect(stored[0]).toEqual({ ...one });
    const more = await s.appendEvents([
      event('warn', { severity: 'warning', deviceId: 'd1' }),
      event('auth', { category: 'auth', appId: null }),
      event('nul \0 title', { deviceId: 'd1' }),
      event('x'.repeat(600), { details: { big: 'y'.repeat(20_000), id: 7 } }),
    ]);
    expect(more.map((e) => e.id)).toEqual([one.id + 1, one.id + 2, one.id + 3, one.id + 4]);
    // cut as SQLite cuts them
    expect(more[3].title).toHaveLength(501);
    expect(more[3].details).toMatchObject({ id: 7, truncated: expect.any(String) });
    expect((await s.listEvents({ limit: 1 }))[0]).toEqual(more[3]);
    // PostgreSQL text holds no NUL: it comes back as U+FFFD
    expect((await s.listEvents({ deviceId: 'd1', limit: 1 }))[0].title).toBe('nul \uFFFD title');
    expect((await s.listEvents({ severity: 'warning', limit: 10 })).map((e) => e.title)).toEqual(['warn']);
    expect((await s.listEvents({ category: 'auth', limit: 10 }))[0].appId).toBeNull();
    expect((await s.listEvents({ appId: APP, limit: 10 })).map((e) => e.id)).toEqual([one.id + 4, one.id + 3, one.id + 1, one.id]);
    expect((await s.listEvents({ afterId: one.id + 2, limit: 10 })).map((e) => e.id)).toEqual([one.id + 4, one.id + 3]);
    expect(await s.appendEvents([])).toEqual([]);
  });

  it('trims events by count and by bytes', async () => {
    const { stores } = await instances(1, { eventCap: 10 });
    const [s] = stores;
    for (let i = 0; i < 150; i++) await s.appendEvents([event(`e${i}`)]);
    // trimmed to 10 at the 100th, as SQLite
    expect(await s.listEvents({ limit: 1000 })).toHaveLength(60);

    const { stores: heavy } = await instances(1, { eventCap: 100_000, eventCapBytes: 20_000 });
    for (let i = 0; i < 40; i++) await heavy[0].appendEvents([event(`e${i}`, { details: { pad: 'x'.repeat(1000) } })]);
    const left = await heavy[0].listEvents({ limit: 1000 });
    const weight = left.reduce((n, e) => n + e.title.length + JSON.stringify(e.details).length, 0);
    expect(weight).toBeLessThanOrEqual(20_000);
    expect(left.length).toBeGreaterThan(10);
    expect(left[0].title).toBe('e39');
  });

  it('trims the ring of recent uplinks to its size', async () => {
    const { url, stores } = await instances(1, { recentPerApp: 5 });
    const [s] = stores;
    await s.commitUplink(uplink({ provision: true, fCnt: 0, recent: true }));
    for (let i = 1; i < 40; i++) await s.commitUplink(uplink({ fCnt: i, recent: true }));
    const ring = await s.listRecentUplinks(APP, 100);
    expect(ring.map((r) => r.outcome)).toEqual([39, 38, 37, 36, 35].map((t) => ({ data: { t } })));
    expect(ring[0].seq).toBeGreaterThan(ring[1].seq);
    const [{ n }] = await sql<{ n: string }>(url, 'SELECT COUNT(*) AS n FROM recent_traffic');
    // trimmed at the 32nd: 5 kept then, 8 since
    expect(Number(n)).toBe(13);
    const { stores: none } = await instances(1, { recentPerApp: 0 });
    await none[0].commitUplink(uplink({ provision: true, recent: true }));
    expect(await none[0].listRecentUplinks(APP, 10)).toEqual([]);
  });

  it('messages and notifications', async () => {
    const t = clock();
    const { stores } = await instances(1, { now: t.now });
    const [s] = stores;
    const m1 = message('dev-1', 'm1');
    expect(await s.insertMessage(m1)).toBe(true);
    expect(await s.insertMessage(m1)).toBe(false);
    // a correlation id taken is ignored too
    expect(await s.insertMessage(message('dev-1', 'other', { correlationId: m1.correlationId }))).toBe(false);
    expect(await s.insertMessage(message('dev-1', 'm2', { status: 'DELIVERED', nextAttemptAt: null }))).toBe(true);
    expect(await s.insertMessage(message('dev-2', 'm3', { createdAt: '2030-01-01T00:00:01.000Z' }))).toBe(true);
    expect(JSON.stringify(await s.getMessage('dev-1', 'm1'))).toBe(JSON.stringify(m1));
    expect(await s.getMessage('dev-1', 'nope')).toBeNull();
    expect((await s.getMessageByCorrelation(m1.correlationId))?.messageId).toBe('m1');
    expect(await s.getMessageByCorrelation('nope')).toBeNull();
    const listed = await s.listMessages('dev-1', { limit: 1, offset: 0 });
    // equal created_at: the newest inserted first
    expect(listed).toEqual({ items: [expect.objectContaining({ messageId: 'm2' })], total: 2 });
    expect((await s.listMessages('dev-1', { limit: 10, offset: 1 })).items.map((m) => m.messageId)).toEqual(['m1']);
    expect((await s.listOpenMessages({ statuses: ['PENDING'], limit: 10 })).map((m) => m.messageId)).toEqual(['m1', 'm3']);
    expect((await s.listOpenMessages({ statuses: ['PENDING', 'DELIVERED'], deviceId: 'dev-1', limit: 10 })).map((m) => m.messageId)).toEqual(['m1', 'm2']);
    expect(await s.listOpenMessages({ statuses: ['PENDING'], dueBefore: '2030-01-01T00:00:30.000Z', limit: 10 })).toEqual([]);
    expect(await s.listOpenMessages({ statuses: [], limit: 10 })).toEqual([]);
    await s.updateMessage({ ...m1, status: 'DELIVERED', detail: 'acknowledged', nextAttemptAt: null, attempts: 1 });
    expect(await s.getMessage('dev-1', 'm1')).toMatchObject({ status: 'DELIVERED', attempts: 1 });
    expect((await s.listOpenMessages({ statuses: ['PENDING'], limit: 10 })).map((m) => m.messageId)).toEqual(['m3']);
    expect(await s.deleteDevice('dev-1')).toBe(false); // no device row: its messages stay
    await s.commitUplink(uplink({ deviceId: 'dev-2', provision: true }));
    expect(await s.deleteDevice('dev-2')).toBe(true);
    expect(await s.getMessage('dev-2', 'm3')).toBeNull();

    await s.enqueueNotification('https://a.example/hook', { b: 1, a: [2] });
    t.advance(1000);
    await s.enqueueNotification('https://b.example/hook', { c: 3 });
    const due = await s.listDueNotifications(t.now().toISOString(), 10);
    expect(due).toEqual([
      { id: expect.any(Number), url: 'https://a.example/hook', body: { b: 1, a: [2] }, attempts: 0, nextAttemptAt: '2030-01-01T00:00:00.000Z', createdAt: '2030-01-01T00:00:00.000Z' },
      { id: due[0].id + 1, url: 'https://b.example/hook', body: { c: 3 }, attempts: 0, nextAttemptAt: '2030-01-01T00:00:01.000Z', createdAt: '2030-01-01T00:00:01.000Z' },
    ]);
    expect(await s.listDueNotifications('2030-01-01T00:00:00.500Z', 10)).toHaveLength(1);
    await s.rescheduleNotification(due[0].id, 1, '2030-01-01T00:10:00.000Z');
    expect((await s.listDueNotifications(t.now().toISOString(), 10)).map((n) => n.id)).toEqual([due[1].id]);
    await s.rescheduleNotification(due[1].id, 1, null);
    expect(await s.listDueNotifications('2030-01-01T01:00:00.000Z', 10)).toEqual([{ ...due[0], attempts: 1, nextAttemptAt: '2030-01-01T00:10:00.000Z' }]);
  });

  it('onNotice of a store no other instance shares stays silent, and close ends its connections', async () => {
    const { url, stores } = await instances(1);
    const heard: StoreNotice[] = [];
    const stop = stores[0].onNotice((n) => heard.push(n));
    await stores[0].putProfile(APP, defaultSettings(), 't');
    await stores[0].appendEvents([event('own')]);
    await new Promise((r) => setTimeout(r, 200));
    expect(heard).toEqual([]);
    stop();
    await stores[0].close();
    opened.splice(opened.indexOf(stores[0]), 1);
    const [{ n }] = await sql<{ n: string }>(url, 'SELECT COUNT(*) AS n FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()');
    expect(Number(n)).toBe(0);
  });
});

describe('PgStore across instances', () => {
  it('provisions a new device once when three instances commit its first uplinks at once', async () => {
    const { url, stores } = await instances(3);
    for (let round = 0; round < 5; round++) {
      const deviceId = `new-${round}`;
      const results = await Promise.all(stores.map((s, i) => s.commitUplink(uplink({ deviceId, provision: true, fCnt: i + 1 }))));
      expect(results.every((r) => !r.duplicate)).toBe(true);
      const provisioned = results.filter((r) => r.events.some((e) => e.category === 'provisioning'));
      expect(provisioned).toHaveLength(1);
      const devices = await sql(url, 'SELECT id FROM devices WHERE id = $1', [deviceId]);
      expect(devices).toHaveLength(1);
      expect(await sql(url, 'SELECT id FROM buckets WHERE device_id = $1', [deviceId])).toHaveLength(1);
      expect(await sql(url, "SELECT id FROM events WHERE device_id = $1 AND category = 'provisioning'", [deviceId])).toHaveLength(1);
      expect(await stores[0].readBucket(`bucket-${deviceId}`, { limit: 10, order: 'asc' })).toHaveLength(3);
      // every key joined the window: each uplink again is a duplicate
      for (let i = 0; i < 3; i++) expect((await stores[(i + 1) % 3].commitUplink(uplink({ deviceId, fCnt: i + 1 }))).duplicate).toBe(true);
    }
    // the same first uplink on all three: stored once
    const same = await Promise.all(stores.map((s) => s.commitUplink(uplink({ deviceId: 'same', provision: true, fCnt: 7 }))));
    expect(same.filter((r) => !r.duplicate)).toHaveLength(1);
    expect(await stores[1].readBucket('bucket-same', { limit: 10, order: 'asc' })).toHaveLength(1);
    expect((await stores[2].getDevice('same'))?.properties).toMatchObject({ downlink: { initial: true }, rssi: -70 });
  });

  it('dedupes one uplink committed by two instances at once', async () => {
    const { stores } = await instances(2);
    const [a, b] = stores;
    await a.commitUplink(uplink({ provision: true, fCnt: 0 }));
    for (let fCnt = 1; fCnt <= 20; fCnt++) {
      const [ra, rb] = await Promise.all([a.commitUplink(uplink({ fCnt })), b.commitUplink(uplink({ fCnt }))]);
      expect([ra.duplicate, rb.duplicate].sort()).toEqual([false, true]);
    }
    expect(await a.readBucket('bucket-dev-1', { limit: 100, order: 'asc' })).toHaveLength(21);
    expect((await b.getDevice('dev-1'))?.properties.device).toEqual({ f_cnt: 20 });
  });

  it('rolls a replay that lost its race back entirely (WriteConflict)', async () => {
    const { url, stores } = await instances(2);
    const [a, b] = stores;
    await a.commitUplink(uplink({ provision: true, fCnt: 1 }));
    const dl = await a.commitUplink(uplink({ fCnt: 2, deadLetter: true }));
    const heard: StoreNotice[] = [];
    a.onNotice((n) => heard.push(n));
    const count = async (table: string) => Number((await sql<{ n: string }>(url, `SELECT COUNT(*) AS n FROM ${table}`))[0].n);
    const before = { rows: await count('bucket_rows'), events: await count('events'), devices: await count('devices') };
    const replay = (s: PgStore, deviceId: string) =>
      s.commitUplink({ ...uplink({ deviceId, provision: true, fCnt: null, resolves: dl.deadLetterId, title: `replay by ${deviceId}` }), newBucket: null });
    const settled = await Promise.allSettled([replay(a, 'dev-1'), replay(b, 'dev-1')]);
    expect(settled.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    const failed = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    expect(failed?.reason).toBeInstanceOf(WriteConflict);
    expect(await count('bucket_rows')).toBe(before.rows + 1);
    expect(await count('events')).toBe(before.events + 1);
    // again, with a device it would create: nothing at all
    await expect(replay(b, 'dev-new')).rejects.toBeInstanceOf(WriteConflict);
    expect(await count('devices')).toBe(before.devices);
    expect(await count('bucket_rows')).toBe(before.rows + 1);
    expect(await count('events')).toBe(before.events + 1);
    expect(await count('measurements')).toBe(before.rows + 1);
    expect(await a.getDevice('dev-new')).toBeNull();
    await new Promise((r) => setTimeout(r, 300));
    // b's rolled back writes announced nothing; its one replay (if it won) did
    expect(heard.flatMap((n) => (n.kind === 'events' ? n.events.map((e) => e.title) : [])).every((t) => t === 'replay by dev-1')).toBe(true);
  });

  it('claims due messages disjointly across instances, and a lease not renewed ends', async () => {
    const t = clock();
    const { stores } = await instances(2, { now: t.now });
    const [a, b] = stores;
    for (let i = 0; i < 40; i++) {
      const createdAt = new Date(Date.parse('2030-01-01T00:00:00.000Z') + i).toISOString();
      await a.insertMessage(message(`dev-${i % 4}`, `m${i}`, { createdAt }));
    }
    await a.insertMessage(message('dev-9', 'later', { nextAttemptAt: '2030-01-01T00:30:00.000Z', expiresAt: '2030-01-01T00:02:30.000Z' }));
    await a.insertMessage(message('dev-9', 'done', { status: 'DELIVERED', nextAttemptAt: null }));
    const due = '2030-01-01T00:01:00.000Z';
    const lease = '2030-01-01T00:02:00.000Z';
    const [ca, cb] = await Promise.all([a.claimDueMessages({ dueBefore: due, leaseUntil: lease, limit: 25 }), b.claimDueMessages({ dueBefore: due, leaseUntil: lease, limit: 25 })]);
    const ids = [...ca, ...cb].map((m) => m.messageId);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids.sort()).toEqual(Array.from({ length: 40 }, (_, i) => `m${i}`).sort());
    // oldest first
    for (const claim of [ca, cb]) expect(claim.map((m) => m.createdAt)).toEqual([...claim.map((m) => m.createdAt)].sort());
    // leased: nobody gets them before the lease ends
    expect(await b.claimDueMessages({ dueBefore: '2030-01-01T00:01:59.999Z', leaseUntil: '2030-01-01T00:03:00.000Z', limit: 100 })).toEqual([]);
    // an update ends its lease
    const m0 = [...ca, ...cb].find((m) => m.messageId === 'm0');
    if (!m0) throw new Error('m0 not claimed');
    await a.updateMessage({ ...m0, attempts: 1 });
    expect((await b.claimDueMessages({ dueBefore: due, leaseUntil: lease, limit: 100 })).map((m) => m.messageId)).toEqual(['m0']);
    // the holder died: when its lease ends, the others take the work again
    t.set('2030-01-01T00:02:00.000Z');
    const again = await b.claimDueMessages({ dueBefore: t.now().toISOString(), leaseUntil: '2030-01-01T00:03:00.000Z', limit: 100 });
    expect(again.map((m) => m.messageId).sort()).toEqual(Array.from({ length: 40 }, (_, i) => `m${i}`).sort());
    expect(again[0].messageId).toBe('m0');
    // expiry makes a message due whatever its next attempt
    const expiring = await a.claimDueMessages({ dueBefore: '2030-01-01T00:02:30.000Z', leaseUntil: '2030-01-01T00:04:00.000Z', limit: 100 });
    expect(expiring.map((m) => m.messageId)).toEqual(['later']);
  });

  it('claims due notifications disjointly, each leased by moving its next attempt', async () => {
    const t = clock();
    const { stores } = await instances(2, { now: t.now });
    const [a, b] = stores;
    for (let i = 0; i < 30; i++) await a.enqueueNotification(`https://x.example/${i}`, { i });
    const lease = '2030-01-01T00:01:00.000Z';
    const now = t.now().toISOString();
    const [ca, cb] = await Promise.all([a.claimDueNotifications({ dueBefore: now, leaseUntil: lease, limit: 20 }), b.claimDueNotifications({ dueBefore: now, leaseUntil: lease, limit: 20 })]);
    const ids = [...ca, ...cb].map((n) => n.id);
    expect(new Set(ids).size).toBe(30);
    // as they were before the lease
    for (const n of [...ca, ...cb]) expect(n).toMatchObject({ attempts: 0, nextAttemptAt: '2030-01-01T00:00:00.000Z', createdAt: '2030-01-01T00:00:00.000Z' });
    expect(ca.map((n) => n.id)).toEqual([...ca.map((n) => n.id)].sort((x, y) => x - y));
    expect(await a.listDueNotifications(now, 100)).toEqual([]);
    expect((await a.listDueNotifications(lease, 100)).every((n) => n.nextAttemptAt === lease)).toBe(true);
    // delivered ones go, failed ones are rescheduled; the rest come back when the lease ends
    await a.rescheduleNotification(ids[0], 1, null);
    await a.rescheduleNotification(ids[1], 1, '2030-01-01T00:10:00.000Z');
    t.set(lease);
    const again = await b.claimDueNotifications({ dueBefore: t.now().toISOString(), leaseUntil: '2030-01-01T00:02:00.000Z', limit: 100 });
    expect(again).toHaveLength(28);
    expect(again[0].nextAttemptAt).toBe(lease);
  });

  it('tells the other instances of profile saves and stored events, not itself', async () => {
    const { stores } = await instances(3);
    const [a, b, c] = stores;
    const heardA: StoreNotice[] = [];
    const heardB: StoreNotice[] = [];
    const heardC: StoreNotice[] = [];
    a.onNotice((n) => heardA.push(n));
    b.onNotice((n) => heardB.push(n));
    const stopC = c.onNotice((n) => heardC.push(n));
    stopC();

    const started = Date.now();
    await a.putProfile(APP, defaultSettings(), 't');
    await eventually(async () => heardB.some((n) => n.kind === 'profile' && n.appId === APP), 'the profile notice', 1000);
    expect(Date.now() - started).toBeLessThan(1000);
    await a.setWebhookToken(APP, 't2');
    await a.deleteProfile(APP);
    await a.deleteProfile(APP); // nothing deleted: nothing told

    const appended = await a.appendEvents([event('one'), event('two', { details: { z: 1, a: 2 } })]);
    const uplinked = await a.commitUplink(uplink({ provision: true, fCnt: 1 }));
    const fromB = await b.appendEvents([event('from b')]);
    // Events committed close together are announced together: wait for all of them, in however many notices.
    const heardEvents = () => heardB.flatMap((n) => (n.kind === 'events' ? n.events : []));
    await eventually(async () => heardEvents().length >= appended.length + uplinked.events.length, 'the event notices', 2000);
    expect(heardB.filter((n) => n.kind === 'profile')).toEqual([
      { kind: 'profile', appId: APP },
      { kind: 'profile', appId: APP },
      { kind: 'profile', appId: APP },
    ]);
    const events = heardEvents();
    expect(events).toEqual([...appended, ...uplinked.events]);
    expect(JSON.stringify(events[1].details)).toBe('{"z":1,"a":2}');
    await eventually(async () => heardA.length > 0, "b's events at a", 1000);
    expect(heardA).toEqual([{ kind: 'events', events: fromB }]);
    expect(heardC).toEqual([]);
  });

  it('listens again when its connection drops', async () => {
    const { url, stores } = await instances(2);
    const [a, b] = stores;
    const heard: StoreNotice[] = [];
    b.onNotice((n) => heard.push(n));
    await a.getProfile(APP); // a pool connection, idle now
    // every connection of both instances, their pools' idle ones too: none of it may crash the process
    const killed = await sql<{ listen: boolean }>(
      url,
      "SELECT query LIKE 'LISTEN%' AS listen, pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()",
    );
    expect(killed.filter((k) => k.listen)).toHaveLength(2);
    expect(killed.length).toBeGreaterThan(2);
    // notices sent while it reconnects may be missed: keep saving until one arrives
    await eventually(
      async () => {
        await a.putProfile(APP, defaultSettings(), 't');
        return heard.length > 0;
      },
      'a notice after the reconnect',
      5000,
    );
    expect(await b.getProfile(APP)).not.toBeNull();
  });

  it('numbers formatter versions of concurrent saves one after another', async () => {
    const { stores } = await instances(3);
    const settings = defaultSettings();
    await Promise.all(
      Array.from({ length: 12 }, (_, i) => stores[i % 3].putProfile(APP, { ...settings, formatter: { ...settings.formatter, script: `// ${i}` } }, 't')),
    );
    const versions = await stores[0].listFormatterVersions(APP);
    expect(versions.map((v) => v.version)).toEqual(Array.from({ length: 12 }, (_, i) => 12 - i));
    // saves and deletes at once: each waits for the other, none fails
    const mixed = await Promise.allSettled(
      Array.from({ length: 12 }, (_, i) =>
        i % 3 === 2 ? stores[i % 3].deleteProfile(APP) : stores[i % 3].putProfile(APP, { ...settings, formatter: { ...settings.formatter, script: `// again ${i}` } }, 't'),
      ),
    );
    expect(mixed.filter((r) => r.status === 'rejected')).toEqual([]);
  });
});
