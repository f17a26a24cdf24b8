/**
 * The Store contract: the rules every store keeps (SQLite today, PostgreSQL next), written as what
 * the plugin and its users notice. Each store runs it with `describeStoreContract` from a test file
 * of its own. Each case opens fresh stores through `open` (and `openSibling` for a second plugin
 * instance on the same data) and closes them.
 */
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { JsonObject } from '../../formatters/contract.js';
import { defaultSettings } from '../../plugin/profiles.js';
import type { DeviceIds } from '../../plugin/networks/network-ids.js';
import type { ProfileSettings } from '../../plugin/schemas/profile.js';
import { OwnedElsewhere, WriteConflict } from '../../plugin/store/errors.js';
import { uplinkFingerprint } from '../../plugin/store/recent-uplinks.js';
import type { EventInput, EventRecord, MessageRecord, NotificationRecord } from '../../plugin/store/records.js';
import type { Store, StoreNotice, UplinkWrite } from '../../plugin/store/store.js';

export interface StoreOptions {
  now: () => Date;
  eventCap?: number;
  eventCapBytes?: number;
  recentPerApp?: number;
}

export interface StoreUnderTest {
  /** A fresh, empty store of its own (own file / own database). */
  open(options: StoreOptions): Promise<Store>;
  /** A second handle on the same data as `of` (another plugin instance); absent when one process owns the data. */
  openSibling?(of: Store, options: StoreOptions): Promise<Store>;
  /** Cases this store skips: case title -> the reason (shown as a skipped test titled with the reason). */
  skips?: Record<string, string>;
  teardown(): Promise<void>;
}

/** Titles of the cases that need two handles on one store's data (skipped without `openSibling`). */
export const SIBLING_CASES = [
  'two instances: a profile saved or deleted on one is told to the other within 1 s, not to itself',
  'two instances: events appended or committed on one reach the other as the same records, not itself',
  'two instances: the same uplink committed through both at once is stored once',
  'two instances: concurrent first uplinks through both provision the device once and store every row',
  'two instances: concurrent first uplinks of one device id from two applications through both: the device and its data are one application\'s',
  'two instances: claims of due messages and notifications through both are disjoint',
] as const;

// ---- fixtures (ids follow TTS's rule ^[a-z0-9](?:[-]?[a-z0-9]){2,}$)

const T0 = Date.parse('2025-03-01T12:00:00.000Z');
const SEC = 1000;
const MIN = 60 * SEC;
const iso = (ms: number) => new Date(ms).toISOString();

const APP = 'greenhouse-app';
const OTHER_APP = 'orchard-app';
const DEV = 'dev-0001';
const bucketOf = (deviceId: string) => `${deviceId}-bucket`;

function idsOf(appId: string, deviceId: string): DeviceIds {
  const n = deviceId.slice(-4);
  return { network: 'tts', app_id: appId, network_device_id: `node-${n}`, dev_eui: `70B3D57ED000${n.toUpperCase()}` };
}

interface UplinkSpec {
  appId?: string;
  deviceId?: string;
  /** null: no dedupe key (an uplink without f_cnt). */
  fCnt?: number | null;
  session?: string;
  payload?: string;
  /** The uplink's receive time (its row, lastSeenAt, ring entry). */
  at?: number;
  /** The device exists: no newDevice, newBucket, provisionEvents (as the pipeline writes). */
  known?: boolean;
  /** A dead letter with this reason instead of a row (the formatter failed). */
  deadLetter?: string;
  data?: JsonObject;
  properties?: Record<string, unknown>;
}

/** One uplink as the pipeline writes it: by default the first of its device, which it provisions. */
function uplink(s: UplinkSpec = {}): UplinkWrite {
  const appId = s.appId ?? APP;
  const deviceId = s.deviceId ?? DEV;
  const fCnt = s.fCnt === undefined ? 1 : s.fCnt;
  const at = s.at ?? T0;
  const payload = s.payload ?? 'AQID';
  const bucketId = bucketOf(deviceId);
  const data = s.data ?? { f_cnt: fCnt, temperature: 21.5 };
  const base = { appId, deviceId };
  const failed = s.deadLetter !== undefined;
  const error = { kind: 'runtime', message: 'nope', formatter_version: 1 };
  return {
    dedupe: fCnt === null ? null : { deviceId, sessionKeyId: s.session ?? 'session-a', fCnt, payload: uplinkFingerprint(1, payload) },
    newDevice: s.known
      ? null
      : {
          id: deviceId,
          appId,
          ids: idsOf(appId, deviceId),
          assetType: 'soil-sensor',
          assetGroup: null,
          connectionTimeoutMin: 10,
          bucketId,
          createdAt: iso(at),
          lastSeenAt: null,
          properties: { downlink: { interval: 60 } },
        },
    provisionEvents: s.known ? [] : [{ ...base, category: 'provisioning', severity: 'info', title: 'Device provisioned', details: { bucket_id: bucketId } }],
    newBucket: s.known ? null : { id: bucketId, deviceId, appId },
    bucketRow: failed ? null : { bucketId, tsMs: at, data },
    deadLetter: failed ? { ...base, reason: s.deadLetter!, error, network: 'tts', body: { f_cnt: fCnt, frm_payload: payload } } : null,
    resolvesDeadLetter: null,
    deviceSeen: { id: deviceId, lastSeenAt: iso(at), state: { f_cnt: fCnt, f_port: 1, last_seen: iso(at) }, properties: s.properties ?? {} },
    credentials: null,
    recent: {
      appId,
      deviceId,
      network: 'tts',
      receivedAt: iso(at),
      report: JSON.stringify({ f_cnt: fCnt, frm_payload: payload }),
      outcome: failed ? { error } : { data },
      formatterVersion: 1,
    },
    events: [
      failed
        ? { ...base, category: 'formatter', severity: 'error', title: `Uplink formatter failed (f_cnt ${fCnt})`, details: { f_cnt: fCnt } }
        : { ...base, category: 'uplink', severity: 'info', title: `Uplink stored (f_cnt ${fCnt})`, details: { f_cnt: fCnt } },
    ],
  };
}

function event(title: string, o: Partial<EventInput> = {}): EventInput {
  return { appId: APP, deviceId: DEV, category: 'system', severity: 'info', title, details: { title }, ...o };
}

function message(messageId: string, o: Partial<MessageRecord> = {}): MessageRecord {
  const createdAt = o.createdAt ?? iso(T0);
  return {
    deviceId: DEV,
    messageId,
    appId: APP,
    network: 'tts',
    name: null,
    message: { interval: 60 },
    encoding: 'none',
    fPort: 2,
    confirmed: false,
    priority: 'NORMAL',
    replace: false,
    ttlMin: 60,
    status: 'PENDING',
    detail: 'retrying',
    error: null,
    correlationId: `corr-${messageId}`,
    iotda: null,
    request: null,
    attempts: 0,
    createdAt,
    updatedAt: createdAt,
    finishedAt: null,
    nextAttemptAt: null,
    expiresAt: iso(Date.parse(createdAt) + 60 * MIN),
    ...o,
  };
}

function settings(script = 'module.exports.uplink = (m) => m;'): ProfileSettings {
  const s = defaultSettings();
  return { ...s, formatter: { ...s.formatter, script } };
}

const ids = (items: { messageId: string }[]) => items.map((m) => m.messageId);
const titles = (events: EventRecord[]) => events.map((e) => e.title);
const urls = (ns: NotificationRecord[]) => ns.map((n) => n.url);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitFor(check: () => boolean, what: string, timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > until) throw new Error(`not within ${timeoutMs} ms: ${what}`);
    await sleep(10);
  }
}

export function describeStoreContract(name: string, setup: () => Promise<StoreUnderTest>): void {
  describe(`Store contract: ${name}`, async () => {
    const sut = await setup();
    afterAll(() => sut.teardown());

    /** The injected clock: moved by the cases, read by every store they open. */
    let t = T0;
    const now = () => new Date(t);
    const opened: Store[] = [];
    beforeEach(() => {
      t = T0;
    });
    afterEach(async () => {
      for (const store of opened.splice(0).reverse()) await store.close();
    });
    const open = async (o: Omit<StoreOptions, 'now'> = {}): Promise<Store> => {
      const store = await sut.open({ now, ...o });
      opened.push(store);
      return store;
    };
    const openSibling = async (of: Store, o: Omit<StoreOptions, 'now'> = {}): Promise<Store> => {
      const store = await sut.openSibling!(of, { now, ...o });
      opened.push(store);
      return store;
    };

    const rule = (title: string, fn: () => Promise<void>, timeout?: number) => {
      const reason = sut.skips?.[title];
      if (reason) it.skip(`${title} (skipped: ${reason})`, fn);
      else it(title, fn, timeout);
    };
    const siblingRule = (title: (typeof SIBLING_CASES)[number], fn: () => Promise<void>) => {
      const reason = sut.skips?.[title] ?? (sut.openSibling ? undefined : 'this store has no second handle on its data');
      if (reason) it.skip(`${title} (skipped: ${reason})`, fn);
      else it(title, fn);
    };

    const rowsOf = async (store: Store, deviceId = DEV) => store.readBucket(bucketOf(deviceId), { limit: 1000, order: 'asc' });
    const allEvents = (store: Store) => store.listEvents({ limit: 100_000 });

    // ---------------------------------------------------------------- the uplink write

    describe('the uplink write', () => {
      rule('one uplink write: its row, device state and properties, dedupe key, events, credentials and ring entry all appear together', async () => {
        const store = await open();
        t = T0 + 5 * SEC;
        const credentials = { apiKey: 'NNSXS.KEY', pushUrl: 'https://eu1.cloud.thethings.network/api/v3/as/push' };
        const w: UplinkWrite = { ...uplink({ at: T0, properties: { location: { latitude: 52.1, longitude: 5.1 } } }), credentials: { deviceId: DEV, value: credentials } };
        const result = await store.commitUplink(w);

        expect(result.duplicate).toBe(false);
        expect(result.deadLetterId).toBeNull();
        expect(titles(result.events)).toEqual(['Device provisioned', 'Uplink stored (f_cnt 1)']);
        expect(result.events[0].id).toBeLessThan(result.events[1].id);
        expect(result.events.map((e) => e.ts)).toEqual([iso(t), iso(t)]);
        expect(result.events[1]).toMatchObject({ appId: APP, deviceId: DEV, category: 'uplink', severity: 'info', details: { f_cnt: 1 } });

        expect(await store.getDevice(DEV)).toEqual({
          id: DEV,
          appId: APP,
          ids: idsOf(APP, DEV),
          assetType: 'soil-sensor',
          assetGroup: null,
          connectionTimeoutMin: 10,
          bucketId: bucketOf(DEV),
          createdAt: iso(T0),
          lastSeenAt: iso(T0),
          properties: {
            device: { f_cnt: 1, f_port: 1, last_seen: iso(T0) },
            downlink: { interval: 60 },
            location: { latitude: 52.1, longitude: 5.1 },
          },
          downlinkReady: true,
        });
        expect(await store.getCredentials(DEV)).toEqual(credentials);
        expect(await store.getBucket(bucketOf(DEV))).toEqual({ id: bucketOf(DEV), deviceId: DEV, appId: APP, createdAt: iso(t), rows: 1, lastTs: iso(T0) });
        expect(await rowsOf(store)).toEqual([{ ts: iso(T0), data: { f_cnt: 1, temperature: 21.5 } }]);
        expect(await allEvents(store)).toEqual([...result.events].reverse());
        const ring = await store.listRecentUplinks(APP, 10);
        expect(ring).toHaveLength(1);
        expect(ring[0]).toEqual({ ...w.recent, seq: expect.any(Number) });
        // the dedupe key is there: the same uplink again is a duplicate
        expect((await store.commitUplink(w)).duplicate).toBe(true);
      });

      rule('a dead-letter uplink: the dead letter, events naming it, the ring entry with the error and the device seen; no row', async () => {
        const store = await open();
        t = T0 + SEC;
        const w = uplink({ deadLetter: 'formatter_error' });
        const result = await store.commitUplink(w);
        const id = result.deadLetterId;
        expect(id).toEqual(expect.any(Number));
        expect(result.events.find((e) => e.category === 'formatter')?.details).toEqual({ f_cnt: 1, dead_letter_id: id });
        expect(await store.getDeadLetter(id!)).toEqual({ ...w.deadLetter, id, createdAt: iso(t), replayedAt: null });
        expect(await store.listDeadLetters({ limit: 10 })).toEqual([await store.getDeadLetter(id!)]);
        expect(await store.pendingDeadLetterIds(APP, 10)).toEqual([id]);
        expect((await allEvents(store)).find((e) => e.category === 'formatter')?.details).toEqual({ f_cnt: 1, dead_letter_id: id });
        expect((await store.getBucket(bucketOf(DEV)))?.rows).toBe(0);
        expect((await store.getDevice(DEV))?.lastSeenAt).toBe(iso(T0));
        expect((await store.listRecentUplinks(APP, 10)).map((r) => r.outcome)).toEqual([{ error: { kind: 'runtime', message: 'nope', formatter_version: 1 } }]);
      });

      rule('a write that throws (WriteConflict: its dead letter was replayed already) leaves nothing of itself', async () => {
        const store = await open();
        const existing = 'dev-0002';
        const letter = (await store.commitUplink(uplink({ deviceId: existing, deadLetter: 'formatter_error' }))).deadLetterId!;
        await store.commitUplink({ ...uplink({ deviceId: existing, known: true, at: T0 + SEC }), dedupe: null, resolvesDeadLetter: letter });

        const snapshot = async () => ({
          devices: await store.listDevices({ limit: 100 }),
          existing: await store.getDevice(existing),
          existingCredentials: await store.getCredentials(existing),
          buckets: await store.listBuckets({}),
          rows: await rowsOf(store, existing),
          events: await allEvents(store),
          deadLetters: await store.listDeadLetters({ limit: 100 }),
          pending: await store.pendingDeadLetterIds(APP, 100),
          ring: await store.listRecentUplinks(APP, 100),
          measured: await store.listMeasurements({ quantity: 'air.temperature', limit: 100, order: 'asc' }),
        });
        const before = await snapshot();
        t = T0 + MIN;

        // a new device with everything an uplink writes
        const fresh: UplinkWrite = {
          ...uplink({ deviceId: 'dev-0003', fCnt: 5, at: T0 + MIN }),
          credentials: { deviceId: 'dev-0003', value: { apiKey: 'k3' } },
          deadLetter: { appId: APP, deviceId: 'dev-0003', reason: 'formatter_error', error: { message: 'x' }, network: 'tts', body: {} },
          resolvesDeadLetter: letter,
        };
        fresh.bucketRow!.measurements = [{ quantity: 'air.temperature', appId: APP, deviceId: 'dev-0003', tsMs: T0 + MIN, value: 20 }];
        await expect(store.commitUplink(fresh)).rejects.toBeInstanceOf(WriteConflict);
        // a device that exists: newer state, properties and credentials
        const seen: UplinkWrite = {
          ...uplink({ deviceId: existing, known: true, fCnt: 9, at: T0 + 2 * MIN, properties: { location: { latitude: 1, longitude: 2 } } }),
          credentials: { deviceId: existing, value: { apiKey: 'k2' } },
          resolvesDeadLetter: letter,
        };
        await expect(store.commitUplink(seen)).rejects.toBeInstanceOf(WriteConflict);

        expect(await store.getDevice('dev-0003')).toBeNull();
        expect(await store.getBucket(bucketOf('dev-0003'))).toBeNull();
        expect(await store.getCredentials('dev-0003')).toBeNull();
        expect(await snapshot()).toEqual(before);
        // nor its dedupe key: without the conflict, the same uplinks are new
        expect((await store.commitUplink({ ...fresh, resolvesDeadLetter: null })).duplicate).toBe(false);
        expect((await store.commitUplink({ ...seen, resolvesDeadLetter: null })).duplicate).toBe(false);
        expect(await store.getDevice('dev-0003')).not.toBeNull();
      });

      rule('a write that fails does not take the writes committed alongside it down', async () => {
        const store = await open();
        const letter = (await store.commitUplink(uplink({ deadLetter: 'formatter_error' }))).deadLetterId!;
        await store.commitUplink({ ...uplink({ known: true, fCnt: 2, at: T0 + SEC }), dedupe: null, resolvesDeadLetter: letter });
        const results = await Promise.allSettled([
          store.commitUplink(uplink({ deviceId: 'dev-0002', at: T0 + 2 * SEC })),
          store.commitUplink({ ...uplink({ known: true, fCnt: 3, at: T0 + 3 * SEC }), dedupe: null, resolvesDeadLetter: letter }),
          store.commitUplink(uplink({ deviceId: 'dev-0003', at: T0 + 4 * SEC })),
        ]);
        expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
        expect((results[1] as PromiseRejectedResult).reason).toBeInstanceOf(WriteConflict);
        expect(await rowsOf(store, 'dev-0002')).toHaveLength(1);
        expect(await rowsOf(store, 'dev-0003')).toHaveLength(1);
        expect((await rowsOf(store, DEV)).map((r) => r.data.f_cnt)).toEqual([2]);
      });
    });

    // ---------------------------------------------------------------- dedupe

    describe('dedupe window', () => {
      rule('the same uplink again (device, session, f_cnt, payload) is a duplicate and writes nothing', async () => {
        const store = await open();
        expect((await store.commitUplink(uplink({ fCnt: 7, at: T0 }))).duplicate).toBe(false);
        const events = await allEvents(store);
        t = T0 + MIN;
        const resend: UplinkWrite = {
          ...uplink({ fCnt: 7, at: T0 + MIN, data: { f_cnt: 7, temperature: 99 }, properties: { location: { latitude: 1, longitude: 1 } } }),
          credentials: { deviceId: DEV, value: { apiKey: 'k' } },
        };
        resend.events.push(event('another'));
        expect(await store.commitUplink(resend)).toEqual({ duplicate: true, deadLetterId: null, events: [] });
        expect(await rowsOf(store)).toEqual([{ ts: iso(T0), data: { f_cnt: 7, temperature: 21.5 } }]);
        expect(await allEvents(store)).toEqual(events);
        const device = await store.getDevice(DEV);
        expect(device?.lastSeenAt).toBe(iso(T0));
        expect(device?.properties.location).toBeUndefined();
        expect(device?.downlinkReady).toBe(false);
        expect(await store.listRecentUplinks(APP, 10)).toHaveLength(1);
      });

      rule('several copies of one uplink at the same time: one is stored, the others are duplicates', async () => {
        const store = await open();
        const results = await Promise.all([1, 2, 3].map(() => store.commitUplink(uplink({ fCnt: 4 }))));
        expect(results.filter((r) => !r.duplicate)).toHaveLength(1);
        expect(await rowsOf(store)).toHaveLength(1);
        expect((await store.listEvents({ category: 'uplink', limit: 10 })).length).toBe(1);
      });

      rule('the same f_cnt with another payload is new data (frame counter reset), and its own resend is a duplicate', async () => {
        const store = await open();
        await store.commitUplink(uplink({ fCnt: 7, payload: 'AQID' }));
        expect((await store.commitUplink(uplink({ fCnt: 7, payload: 'BAUG', at: T0 + SEC }))).duplicate).toBe(false);
        expect((await store.commitUplink(uplink({ fCnt: 7, payload: 'BAUG', at: T0 + SEC }))).duplicate).toBe(true);
        expect((await store.commitUplink(uplink({ fCnt: 7, payload: 'AQID' }))).duplicate).toBe(true);
        expect(await rowsOf(store)).toHaveLength(2);
      });

      rule('alsoSeenAs: an uplink whose other fingerprint of the same f_cnt was stored is a duplicate', async () => {
        const store = await open();
        await store.commitUplink(uplink({ fCnt: 5, payload: 'AQID' }));
        const normalized = (payload: string, also: string): UplinkWrite => {
          const w = uplink({ fCnt: 5, at: T0 + SEC, known: true, data: { air: { temperature: 21.5 } } });
          w.dedupe = { ...w.dedupe!, payload: uplinkFingerprint(1, `normalized:${payload}`), alsoSeenAs: uplinkFingerprint(1, also) };
          return w;
        };
        // an uplink_normalized after its uplink_message
        expect((await store.commitUplink(normalized('{"air":1}', 'AQID'))).duplicate).toBe(true);
        // one whose message was not stored is new, and its resend is a duplicate
        expect((await store.commitUplink(normalized('{"air":2}', 'CQkJ'))).duplicate).toBe(false);
        expect((await store.commitUplink(normalized('{"air":2}', 'CQkJ'))).duplicate).toBe(true);
        expect(await rowsOf(store)).toHaveLength(2);
      });

      rule('a rejoin (new session key) starts its own window, and a late uplink of the old session is still recognised', async () => {
        const store = await open();
        const send = async (session: string, fCnt: number, at: number) => (await store.commitUplink(uplink({ session, fCnt, at }))).duplicate;
        for (const f of [0, 1, 2]) expect(await send('session-old', f, T0 + f * SEC)).toBe(false);
        // f_cnt restarts at 0 after the rejoin: new data
        for (const f of [0, 1, 2]) expect(await send('session-new', f, T0 + (10 + f) * SEC), `new session f_cnt ${f}`).toBe(false);
        expect(await send('session-new', 1, T0 + 11 * SEC)).toBe(true);
        expect(await send('session-old', 2, T0 + 2 * SEC)).toBe(true);
        // a late uplink of the old session is stored, and then known
        expect(await send('session-old', 3, T0 + 3 * SEC)).toBe(false);
        expect(await send('session-old', 3, T0 + 3 * SEC)).toBe(true);
        expect(await send('session-new', 2, T0 + 12 * SEC)).toBe(true);
        expect(await rowsOf(store)).toHaveLength(7);
      });

      rule('resends within the last 32 uplinks of a session are recognised', async () => {
        const store = await open();
        for (let f = 0; f < 32; f++) await store.commitUplink(uplink({ fCnt: f, at: T0 + f * SEC }));
        for (const f of [0, 15, 31]) expect((await store.commitUplink(uplink({ fCnt: f, at: T0 + f * SEC }))).duplicate, `f_cnt ${f}`).toBe(true);
        expect(await rowsOf(store)).toHaveLength(32);
      });

      rule('the window is per device: the same session, f_cnt and payload of another device is stored', async () => {
        const store = await open();
        expect((await store.commitUplink(uplink({ deviceId: DEV, fCnt: 3 }))).duplicate).toBe(false);
        expect((await store.commitUplink(uplink({ deviceId: 'dev-0002', fCnt: 3 }))).duplicate).toBe(false);
        expect(await rowsOf(store, DEV)).toHaveLength(1);
        expect(await rowsOf(store, 'dev-0002')).toHaveLength(1);
      });

      rule('without a dedupe key (no f_cnt, or a replay) nothing is ever a duplicate', async () => {
        const store = await open();
        const first = await store.commitUplink(uplink({ fCnt: null }));
        const second = await store.commitUplink(uplink({ fCnt: null }));
        expect([first.duplicate, second.duplicate]).toEqual([false, false]);
        expect(await rowsOf(store)).toHaveLength(2);
        expect(await store.listEvents({ category: 'uplink', limit: 10 })).toHaveLength(2);
      });
    });

    // ---------------------------------------------------------------- provisioning

    describe('provisioning', () => {
      rule('concurrent first uplinks of a device provision it once: one device, one bucket, provision events once, every row stored', async () => {
        const store = await open();
        const results = await Promise.all([1, 2, 3, 4, 5].map((f) => store.commitUplink(uplink({ fCnt: f, at: T0 + f * SEC }))));
        expect(results.map((r) => r.duplicate)).toEqual([false, false, false, false, false]);
        expect((await store.listDevices({ limit: 10 })).items.map((d) => d.id)).toEqual([DEV]);
        expect(await store.listBuckets({})).toEqual([expect.objectContaining({ id: bucketOf(DEV), rows: 5, lastTs: iso(T0 + 5 * SEC) })]);
        expect(results.flatMap((r) => r.events).filter((e) => e.category === 'provisioning')).toHaveLength(1);
        expect(await store.listEvents({ category: 'provisioning', limit: 10 })).toHaveLength(1);
        expect(await store.listEvents({ category: 'uplink', limit: 10 })).toHaveLength(5);
        const device = await store.getDevice(DEV);
        expect(device?.lastSeenAt).toBe(iso(T0 + 5 * SEC));
        expect(device?.properties.downlink).toEqual({ interval: 60 });
      });

      rule('a newDevice for a device that exists changes nothing of it and records no provision event', async () => {
        const store = await open();
        await store.commitUplink(uplink({ fCnt: 1, at: T0 }));
        expect(await store.setDeviceProperty(DEV, 'downlink', { interval: 300 })).toBe(true);
        const again = uplink({ fCnt: 2, at: T0 + MIN });
        again.newDevice = { ...again.newDevice!, assetType: 'other', connectionTimeoutMin: 99, createdAt: iso(T0 + MIN), properties: { downlink: { interval: 5 } } };
        const result = await store.commitUplink(again);
        expect(titles(result.events)).toEqual(['Uplink stored (f_cnt 2)']);
        const device = await store.getDevice(DEV);
        expect(device).toMatchObject({ assetType: 'soil-sensor', connectionTimeoutMin: 10, createdAt: iso(T0), lastSeenAt: iso(T0 + MIN) });
        expect(device?.properties.downlink).toEqual({ interval: 300 });
        expect(await rowsOf(store)).toHaveLength(2);
      });
    });

    // ---------------------------------------------------------------- ownership

    describe('a device or bucket of another application', () => {
      /** The first uplink of DEV as the other application would write it: its data, properties, credentials and a measurement. */
      const theirs = (o: UplinkSpec = {}): UplinkWrite => {
        const w = uplink({ appId: OTHER_APP, at: T0 + MIN, data: { from: OTHER_APP }, properties: { location: { latitude: 1, longitude: 2 } }, ...o });
        const deviceId = w.newDevice?.id ?? DEV;
        w.credentials = { deviceId, value: { apiKey: 'NNSXS.OTHER-KEY' } };
        if (w.bucketRow) w.bucketRow.measurements = [{ quantity: 'air.temperature', appId: OTHER_APP, deviceId, tsMs: T0 + MIN, value: 30 }];
        return w;
      };
      const everything = (store: Store, deviceIds: string[]) => async () => ({
        devices: await store.listDevices({ limit: 100 }),
        credentials: await Promise.all(deviceIds.map((id) => store.getCredentials(id))),
        buckets: await store.listBuckets({}),
        rows: await rowsOf(store),
        events: await allEvents(store),
        deadLetters: await store.listDeadLetters({ limit: 100 }),
        ring: await store.listRecentUplinks(OTHER_APP, 100),
        measured: await store.listMeasurements({ quantity: 'air.temperature', limit: 100, order: 'asc' }),
      });

      rule('a newDevice of another application for a device that exists is refused (OwnedElsewhere) and writes nothing, whatever the uplink', async () => {
        const store = await open();
        await store.commitUplink({ ...uplink({ fCnt: 1 }), credentials: { deviceId: DEV, value: { apiKey: 'NNSXS.OWN-KEY' } } });
        const snapshot = everything(store, [DEV]);
        const before = await snapshot();
        t = T0 + MIN;
        // The same dedupe key as the owner's uplink (not a duplicate of it: another application's),
        // a new one, a dead letter, one without a key.
        for (const w of [theirs(), theirs({ fCnt: 2 }), theirs({ fCnt: 3, deadLetter: 'formatter_error' }), theirs({ fCnt: null })]) {
          const refused = store.commitUplink(w);
          await expect(refused).rejects.toBeInstanceOf(OwnedElsewhere);
          await expect(refused).rejects.toMatchObject({ kind: 'device', id: DEV, ownerAppId: APP });
        }
        expect(await snapshot()).toEqual(before);
        expect(before.devices.items.map((d) => [d.id, d.appId, d.lastSeenAt])).toEqual([[DEV, APP, iso(T0)]]);
        expect(before.credentials).toEqual([{ apiKey: 'NNSXS.OWN-KEY' }]);
        // The owner's next uplink is stored as ever.
        expect((await store.commitUplink(uplink({ fCnt: 2, at: T0 + 2 * MIN, known: true }))).duplicate).toBe(false);
        expect(await rowsOf(store)).toHaveLength(2);
      });

      rule('a newBucket that belongs to another application is refused (OwnedElsewhere): neither the device nor anything of its uplink is written', async () => {
        const store = await open();
        await store.commitUplink(uplink({ fCnt: 1 }));
        const other = 'dev-0002';
        const snapshot = everything(store, [DEV, other]);
        const before = await snapshot();
        t = T0 + MIN;
        // Another device id with the same bucket id (profiles with their own id prefixes, one bucket prefix).
        const w = theirs({ deviceId: other });
        w.newDevice = { ...w.newDevice!, bucketId: bucketOf(DEV) };
        w.newBucket = { id: bucketOf(DEV), deviceId: other, appId: OTHER_APP };
        w.bucketRow = { ...w.bucketRow!, bucketId: bucketOf(DEV) };
        const refused = store.commitUplink(w);
        await expect(refused).rejects.toBeInstanceOf(OwnedElsewhere);
        await expect(refused).rejects.toMatchObject({ kind: 'bucket', id: bucketOf(DEV), ownerAppId: APP });
        expect(await snapshot()).toEqual(before);

        // A bucket outlives its device: the device id is free again, its bucket is not.
        expect(await store.deleteDevice(DEV)).toBe(true);
        const left = await snapshot();
        await expect(store.commitUplink(theirs({ at: T0 + 2 * MIN }))).rejects.toMatchObject({ kind: 'bucket', id: bucketOf(DEV), ownerAppId: APP });
        expect(await snapshot()).toEqual(left);
        expect(await store.getDevice(DEV)).toBeNull();
        // The owner's device comes back to it.
        await store.commitUplink(uplink({ fCnt: 2, at: T0 + 3 * MIN }));
        expect((await rowsOf(store)).map((r) => r.data.from)).toEqual([undefined, undefined]);
        expect(await store.getBucket(bucketOf(DEV))).toMatchObject({ appId: APP, rows: 2 });
      });

      /** First uplinks of DEV from both applications, at once through `stores` in turn: one application's provision it, the others' are refused. */
      const raceOfTwoApps = async (stores: Store[]) => {
        const writes = [1, 2, 3, 4, 5, 6].map((f) => {
          const appId = f % 2 ? APP : OTHER_APP;
          return { ...uplink({ appId, fCnt: f, at: T0 + f * SEC, data: { from: appId } }), credentials: { deviceId: DEV, value: { apiKey: `key-of-${appId}` } } };
        });
        const results = await Promise.allSettled(writes.map((w, i) => stores[Math.floor(i / 2) % stores.length].commitUplink(w)));
        const store = stores[0];
        const owner = (await store.getDevice(DEV))?.appId;
        expect([APP, OTHER_APP]).toContain(owner);
        results.forEach((r, i) => {
          if (writes[i].newDevice!.appId === owner) expect(r).toMatchObject({ status: 'fulfilled', value: { duplicate: false } });
          else expect(r).toMatchObject({ status: 'rejected', reason: { kind: 'device', id: DEV, ownerAppId: owner } });
        });
        expect((await rowsOf(store)).map((r) => r.data.from)).toEqual([owner, owner, owner]);
        expect(await store.getBucket(bucketOf(DEV))).toMatchObject({ appId: owner, rows: 3 });
        expect(await store.getCredentials(DEV)).toEqual({ apiKey: `key-of-${owner}` });
        expect((await allEvents(store)).filter((e) => e.appId !== owner)).toEqual([]);
        expect(await store.listEvents({ category: 'provisioning', limit: 10 })).toHaveLength(1);
        expect(await store.listRecentUplinks(owner === APP ? OTHER_APP : APP, 10)).toEqual([]);
      };

      rule('concurrent first uplinks of one device id from two applications: one application\'s provision it, the other\'s are refused and write nothing', async () => {
        await raceOfTwoApps([await open()]);
      });

      siblingRule('two instances: concurrent first uplinks of one device id from two applications through both: the device and its data are one application\'s', async () => {
        const a = await open();
        await raceOfTwoApps([a, await openSibling(a)]);
      });
    });

    // ---------------------------------------------------------------- late uplinks

    describe('late uplinks', () => {
      rule('an uplink older than the last one seen does not turn state, properties or lastSeenAt back; its row is stored', async () => {
        const store = await open();
        await store.commitUplink(uplink({ fCnt: 10, at: T0 + 10 * MIN, properties: { location: { latitude: 2, longitude: 2 } } }));
        const late = await store.commitUplink(uplink({ fCnt: 9, at: T0 + 5 * MIN, properties: { location: { latitude: 1, longitude: 1 } } }));
        expect(late.duplicate).toBe(false);
        expect(titles(late.events)).toEqual(['Uplink stored (f_cnt 9)']);
        let device = await store.getDevice(DEV);
        expect(device?.lastSeenAt).toBe(iso(T0 + 10 * MIN));
        expect(device?.properties.device).toEqual({ f_cnt: 10, f_port: 1, last_seen: iso(T0 + 10 * MIN) });
        expect(device?.properties.location).toEqual({ latitude: 2, longitude: 2 });
        expect((await rowsOf(store)).map((r) => r.data.f_cnt)).toEqual([9, 10]);
        // its key joined the window: its resend is a duplicate
        expect((await store.commitUplink(uplink({ fCnt: 9, at: T0 + 5 * MIN }))).duplicate).toBe(true);
        // an uplink seen at the same time as the last is not older: it applies
        await store.commitUplink(uplink({ fCnt: 11, at: T0 + 10 * MIN, properties: { location: { latitude: 3, longitude: 3 } } }));
        device = await store.getDevice(DEV);
        expect(device?.properties.device).toEqual({ f_cnt: 11, f_port: 1, last_seen: iso(T0 + 10 * MIN) });
        expect(device?.properties.location).toEqual({ latitude: 3, longitude: 3 });
      });
    });

    // ---------------------------------------------------------------- profiles

    describe('profiles and formatter versions', () => {
      rule('putProfile creates (created true) and replaces keeping the token (created false); createdAt stays, updatedAt moves', async () => {
        const store = await open();
        const first = settings('a');
        expect(await store.putProfile(APP, first, 'token-1')).toEqual({ created: true, formatterVersion: 1 });
        expect(await store.getProfile(APP)).toEqual({ settings: first, webhookToken: 'token-1', createdAt: iso(T0), updatedAt: iso(T0), formatterVersion: 1 });
        t = T0 + MIN;
        const second = { ...first, uplink: { ...first.uplink, connection_timeout_min: 30 } };
        expect(await store.putProfile(APP, second, 'token-2')).toEqual({ created: false, formatterVersion: 1 });
        expect(await store.getProfile(APP)).toEqual({ settings: second, webhookToken: 'token-1', createdAt: iso(T0), updatedAt: iso(T0 + MIN), formatterVersion: 1 });
        expect(await store.getProfile(OTHER_APP)).toBeNull();
      });

      rule('a changed formatter is a new version with its note; the same formatter makes none; notes can be set later; an old version can be restored as a new one', async () => {
        const store = await open();
        await store.putProfile(APP, settings('a'), 'tok', 'initial');
        t = T0 + MIN;
        const other = { ...settings('a'), enabled: false };
        expect(await store.putProfile(APP, other, 'tok', 'not a formatter change')).toEqual({ created: false, formatterVersion: 1 });
        t = T0 + 2 * MIN;
        expect(await store.putProfile(APP, settings('b'), 'tok', 'fix rounding')).toEqual({ created: false, formatterVersion: 2 });
        expect(await store.listFormatterVersions(APP)).toEqual([
          { version: 2, createdAt: iso(T0 + 2 * MIN), note: 'fix rounding', formatter: settings('b').formatter },
          { version: 1, createdAt: iso(T0), note: 'initial', formatter: settings('a').formatter },
        ]);
        expect((await store.getProfile(APP))?.formatterVersion).toBe(2);
        expect(await store.getFormatterVersion(APP, 1)).toEqual({ version: 1, createdAt: iso(T0), note: 'initial', formatter: settings('a').formatter });
        expect(await store.getFormatterVersion(APP, 3)).toBeNull();
        expect(await store.getFormatterVersion(OTHER_APP, 1)).toBeNull();

        expect(await store.setFormatterVersionNote(APP, 1, 'baseline')).toBe(true);
        expect((await store.getFormatterVersion(APP, 1))?.note).toBe('baseline');
        expect(await store.setFormatterVersionNote(APP, 1, null)).toBe(true);
        expect((await store.getFormatterVersion(APP, 1))?.note).toBeNull();
        expect(await store.setFormatterVersionNote(APP, 9, 'x')).toBe(false);
        expect(await store.setFormatterVersionNote(OTHER_APP, 1, 'x')).toBe(false);

        // restore (Profiles.restoreFormatter): version 1's formatter saved again is version 3
        t = T0 + 3 * MIN;
        const saved = await store.getFormatterVersion(APP, 1);
        const current = (await store.getProfile(APP))!.settings;
        expect(await store.putProfile(APP, { ...current, formatter: saved!.formatter }, 'tok', 'restored version 1')).toEqual({ created: false, formatterVersion: 3 });
        expect((await store.getProfile(APP))?.settings.formatter).toEqual(settings('a').formatter);
        expect((await store.listFormatterVersions(APP)).map((v) => [v.version, v.note])).toEqual([
          [3, 'restored version 1'],
          [2, 'fix rounding'],
          [1, null],
        ]);
        // versions are numbered per application
        expect(await store.putProfile(OTHER_APP, settings('z'), 'tok2')).toEqual({ created: true, formatterVersion: 1 });
      });

      rule('the last 100 formatter versions are kept', async () => {
        const store = await open();
        for (let i = 1; i <= 105; i++) await store.putProfile(APP, settings(`// v${i}`), 'tok');
        const versions = await store.listFormatterVersions(APP);
        expect(versions).toHaveLength(100);
        expect(versions[0]).toMatchObject({ version: 105, formatter: settings('// v105').formatter });
        expect(versions[99].version).toBe(6);
        expect(await store.getFormatterVersion(APP, 5)).toBeNull();
        expect((await store.getFormatterVersion(APP, 6))?.formatter).toEqual(settings('// v6').formatter);
        expect((await store.getProfile(APP))?.formatterVersion).toBe(105);
      });

      rule('deleteProfile removes the profile and its versions; a new profile of that id starts again at version 1', async () => {
        const store = await open();
        await store.putProfile(APP, settings('a'), 'tok');
        await store.putProfile(APP, settings('b'), 'tok');
        await store.putProfile(OTHER_APP, settings('c'), 'tok');
        expect(await store.deleteProfile(APP)).toBe(true);
        expect(await store.getProfile(APP)).toBeNull();
        expect(await store.listFormatterVersions(APP)).toEqual([]);
        expect(await store.getFormatterVersion(APP, 1)).toBeNull();
        expect(await store.deleteProfile(APP)).toBe(false);
        expect(await store.listFormatterVersions(OTHER_APP)).toHaveLength(1);
        expect(await store.putProfile(APP, settings('d'), 'tok-new')).toEqual({ created: true, formatterVersion: 1 });
        expect((await store.getProfile(APP))?.webhookToken).toBe('tok-new');
      });

      rule('setWebhookToken replaces the token (false for an unknown profile); listProfiles lists default first, then by id', async () => {
        const store = await open();
        await store.putProfile(OTHER_APP, settings(), 'tok-o');
        await store.putProfile('default', settings(), 'tok-d');
        await store.putProfile('apiary-app', settings(), 'tok-a');
        t = T0 + MIN;
        expect(await store.setWebhookToken(OTHER_APP, 'rotated')).toBe(true);
        expect(await store.getProfile(OTHER_APP)).toMatchObject({ webhookToken: 'rotated', createdAt: iso(T0), updatedAt: iso(T0 + MIN) });
        expect(await store.setWebhookToken('nobody-app', 'x')).toBe(false);
        expect(await store.getProfile('nobody-app')).toBeNull();
        const listed = await store.listProfiles();
        expect(listed.map((p) => p.appId)).toEqual(['default', 'apiary-app', OTHER_APP]);
        expect(listed[2]).toEqual({ appId: OTHER_APP, settings: settings(), createdAt: iso(T0), updatedAt: iso(T0 + MIN) });
      });
    });

    // ---------------------------------------------------------------- devices

    describe('devices', () => {
      const fiveDevices = async (store: Store) => {
        for (let i = 1; i <= 5; i++) await store.commitUplink(uplink({ deviceId: `dev-000${i}`, appId: i % 2 ? APP : OTHER_APP, at: T0 + i * SEC }));
      };

      rule('listDevices: by id, filtered by application and search (id, network ids, EUI in either case), paged by cursor', async () => {
        const store = await open();
        await fiveDevices(store);
        const pages: string[][] = [];
        let cursor: string | undefined;
        for (let i = 0; i < 10; i++) {
          const page = await store.listDevices({ limit: 2, ...(cursor ? { cursor } : {}) });
          pages.push(page.items.map((d) => d.id));
          if (page.nextCursor === null) break;
          cursor = page.nextCursor;
        }
        expect(pages).toEqual([['dev-0001', 'dev-0002'], ['dev-0003', 'dev-0004'], ['dev-0005']]);
        expect((await store.listDevices({ limit: 5 })).nextCursor).toBeNull();
        expect((await store.listDevices({ limit: 5 })).items[2]).toEqual(await store.getDevice('dev-0003'));

        const green1 = await store.listDevices({ appId: APP, limit: 2 });
        expect(green1.items.map((d) => d.id)).toEqual(['dev-0001', 'dev-0003']);
        const green2 = await store.listDevices({ appId: APP, limit: 2, cursor: green1.nextCursor! });
        expect(green2).toEqual({ items: [await store.getDevice('dev-0005')], nextCursor: null });
        expect((await store.listDevices({ appId: OTHER_APP, limit: 10 })).items.map((d) => d.id)).toEqual(['dev-0002', 'dev-0004']);
        expect(await store.listDevices({ appId: 'nobody-app', limit: 10 })).toEqual({ items: [], nextCursor: null });

        const search = async (s: string, appId?: string) => (await store.listDevices({ search: s, limit: 10, ...(appId ? { appId } : {}) })).items.map((d) => d.id);
        expect(await search('0004')).toEqual(['dev-0004']);
        expect(await search('node-0002')).toEqual(['dev-0002']);
        expect(await search('70B3D57ED0000003')).toEqual(['dev-0003']);
        expect(await search('70b3d57ed0000005')).toEqual(['dev-0005']);
        expect(await search('dev-000', OTHER_APP)).toEqual(['dev-0002', 'dev-0004']);
        expect(await search('%')).toEqual([]);
        expect(await search('no-such-device')).toEqual([]);
      });

      rule('properties: the new device\'s at provisioning, the uplink\'s with deviceSeen, setDeviceProperty overwrites (false for an unknown device)', async () => {
        const store = await open();
        await store.commitUplink(uplink({ properties: { metadata: { rssi: -80 } } }));
        expect((await store.getDevice(DEV))?.properties).toEqual({
          device: { f_cnt: 1, f_port: 1, last_seen: iso(T0) },
          downlink: { interval: 60 },
          metadata: { rssi: -80 },
        });
        expect(await store.setDeviceProperty(DEV, 'downlink', { interval: 120 })).toBe(true);
        expect(await store.setDeviceProperty(DEV, 'note', 'north wall')).toBe(true);
        expect(await store.setDeviceProperty(DEV, 'count', 3)).toBe(true);
        await store.commitUplink(uplink({ fCnt: 2, at: T0 + MIN, known: true, properties: { metadata: { rssi: -70 } } }));
        expect((await store.getDevice(DEV))?.properties).toEqual({
          device: { f_cnt: 2, f_port: 1, last_seen: iso(T0 + MIN) },
          downlink: { interval: 120 },
          metadata: { rssi: -70 },
          note: 'north wall',
          count: 3,
        });
        expect(await store.setDeviceProperty('dev-0404', 'note', 'x')).toBe(false);
        expect(await store.getDevice('dev-0404')).toBeNull();
      });

      rule('credentials: put and get (false for an unknown device), downlinkReady once there, an uplink\'s credentials replace them', async () => {
        const store = await open();
        expect(await store.putCredentials(DEV, { apiKey: 'k1' })).toBe(false);
        expect(await store.getCredentials(DEV)).toBeNull();
        await store.commitUplink(uplink());
        expect((await store.getDevice(DEV))?.downlinkReady).toBe(false);
        expect(await store.putCredentials(DEV, { apiKey: 'k1', pushUrl: 'https://a.example/push' })).toBe(true);
        expect(await store.getCredentials(DEV)).toEqual({ apiKey: 'k1', pushUrl: 'https://a.example/push' });
        expect((await store.getDevice(DEV))?.downlinkReady).toBe(true);
        expect((await store.listDevices({ limit: 1 })).items[0].downlinkReady).toBe(true);
        await store.commitUplink({ ...uplink({ fCnt: 2, known: true }), credentials: { deviceId: DEV, value: { apiKey: 'k2' } } });
        expect(await store.getCredentials(DEV)).toEqual({ apiKey: 'k2' });
      });

      rule('deleteDevice removes the device, its properties, credentials and messages, keeps its bucket; its next uplink provisions it again', async () => {
        const store = await open();
        await store.commitUplink(uplink({ fCnt: 1 }));
        await store.commitUplink(uplink({ deviceId: 'dev-0002', fCnt: 1 }));
        await store.setDeviceProperty(DEV, 'note', 'x');
        await store.putCredentials(DEV, { apiKey: 'k' });
        await store.insertMessage(message('msg-01'));
        await store.insertMessage(message('msg-02', { deviceId: 'dev-0002', correlationId: 'corr-other' }));
        expect(await store.deleteDevice(DEV)).toBe(true);
        expect(await store.getDevice(DEV)).toBeNull();
        expect(await store.getCredentials(DEV)).toBeNull();
        expect(await store.listMessages(DEV, { limit: 10, offset: 0 })).toEqual({ items: [], total: 0 });
        expect(await store.getMessage(DEV, 'msg-01')).toBeNull();
        expect((await store.listDevices({ limit: 10 })).items.map((d) => d.id)).toEqual(['dev-0002']);
        expect((await store.listMessages('dev-0002', { limit: 10, offset: 0 })).total).toBe(1);
        expect(await store.getBucket(bucketOf(DEV))).toMatchObject({ rows: 1 });
        expect(await store.deleteDevice(DEV)).toBe(false);

        t = T0 + MIN;
        const back = await store.commitUplink(uplink({ fCnt: 2, at: T0 + MIN }));
        expect(titles(back.events)).toEqual(['Device provisioned', 'Uplink stored (f_cnt 2)']);
        const device = await store.getDevice(DEV);
        expect(device?.properties).toEqual({ device: { f_cnt: 2, f_port: 1, last_seen: iso(T0 + MIN) }, downlink: { interval: 60 } });
        expect(device?.downlinkReady).toBe(false);
        expect(await rowsOf(store)).toHaveLength(2);
      });
    });

    // ---------------------------------------------------------------- buckets and measurements

    describe('buckets and measurements', () => {
      rule('buckets: counted rows and last time, listed by id, filtered by application and device', async () => {
        const store = await open();
        t = T0 + SEC;
        await store.commitUplink(uplink({ deviceId: 'dev-0002', appId: OTHER_APP, at: T0 + 5 * MIN }));
        await store.commitUplink(uplink({ deviceId: DEV, fCnt: 1, at: T0 + MIN }));
        await store.commitUplink(uplink({ deviceId: DEV, fCnt: 2, at: T0 + 3 * MIN }));
        await store.commitUplink(uplink({ deviceId: DEV, fCnt: 3, at: T0 + 2 * MIN }));
        await store.commitUplink({ ...uplink({ deviceId: 'dev-0003' }), bucketRow: null });
        const one = { id: bucketOf(DEV), deviceId: DEV, appId: APP, createdAt: iso(t), rows: 3, lastTs: iso(T0 + 3 * MIN) };
        const two = { id: bucketOf('dev-0002'), deviceId: 'dev-0002', appId: OTHER_APP, createdAt: iso(t), rows: 1, lastTs: iso(T0 + 5 * MIN) };
        const empty = { id: bucketOf('dev-0003'), deviceId: 'dev-0003', appId: APP, createdAt: iso(t), rows: 0, lastTs: null };
        expect(await store.getBucket(bucketOf(DEV))).toEqual(one);
        expect(await store.getBucket(bucketOf('dev-0003'))).toEqual(empty);
        expect(await store.getBucket('no-such-bucket')).toBeNull();
        expect(await store.listBuckets({})).toEqual([one, two, empty]);
        expect(await store.listBuckets({ appId: APP })).toEqual([one, empty]);
        expect(await store.listBuckets({ deviceId: 'dev-0002' })).toEqual([two]);
        expect(await store.listBuckets({ appId: APP, deviceId: 'dev-0002' })).toEqual([]);
      });

      rule('readBucket: rows in time order (either way), from/to inclusive, limit; normalized only on rows that had it', async () => {
        const store = await open();
        const normalized = [{ air: { temperature: 21.5 } }];
        for (const i of [1, 2, 4, 5, 3]) {
          const w = uplink({ fCnt: i, at: T0 + i * MIN });
          if (i === 4) w.bucketRow!.normalized = normalized;
          await store.commitUplink(w);
        }
        const read = async (q: { fromMs?: number; toMs?: number; limit?: number; order?: 'asc' | 'desc' }) =>
          (await store.readBucket(bucketOf(DEV), { limit: q.limit ?? 100, order: q.order ?? 'asc', ...(q.fromMs !== undefined ? { fromMs: q.fromMs } : {}), ...(q.toMs !== undefined ? { toMs: q.toMs } : {}) })).map(
            (r) => r.data.f_cnt,
          );
        expect(await read({})).toEqual([1, 2, 3, 4, 5]);
        expect(await read({ order: 'desc' })).toEqual([5, 4, 3, 2, 1]);
        expect(await read({ fromMs: T0 + 2 * MIN, toMs: T0 + 4 * MIN })).toEqual([2, 3, 4]);
        expect(await read({ fromMs: T0 + 2 * MIN + 1, toMs: T0 + 4 * MIN - 1 })).toEqual([3]);
        expect(await read({ fromMs: T0 + 4 * MIN })).toEqual([4, 5]);
        expect(await read({ toMs: T0 + 2 * MIN, order: 'desc' })).toEqual([2, 1]);
        expect(await read({ limit: 2 })).toEqual([1, 2]);
        expect(await read({ limit: 2, order: 'desc' })).toEqual([5, 4]);
        const rows = await store.readBucket(bucketOf(DEV), { limit: 10, order: 'asc' });
        expect(rows[3]).toEqual({ ts: iso(T0 + 4 * MIN), data: { f_cnt: 4, temperature: 21.5 }, normalized });
        expect(rows.filter((r) => 'normalized' in r)).toHaveLength(1);
        expect(await store.readBucket('no-such-bucket', { limit: 10, order: 'asc' })).toEqual([]);
      });

      rule('measurements: one quantity across devices in time order, filtered by application, device and time, newest first on request, limited; measuredQuantities', async () => {
        const store = await open();
        const write = async (deviceId: string, appId: string, atMin: number, values: [string, number | boolean | string][]) => {
          const w = uplink({ deviceId, appId, fCnt: atMin, at: T0 + atMin * MIN });
          w.bucketRow!.normalized = [{ values: Object.fromEntries(values) }];
          w.bucketRow!.measurements = values.map(([quantity, value]) => ({ quantity, appId, deviceId, tsMs: T0 + atMin * MIN - SEC, value }));
          await store.commitUplink(w);
        };
        await write(DEV, APP, 1, [['air.temperature', 20.5], ['motion.detected', true]]);
        await write('dev-0002', APP, 2, [['air.temperature', 21]]);
        await write('dev-0003', OTHER_APP, 3, [['air.temperature', 19], ['action.contactState', 'open']]);
        await write(DEV, APP, 4, [['air.temperature', 22]]);
        await store.commitUplink(uplink({ deviceId: DEV, fCnt: 5, known: true, at: T0 + 5 * MIN }));

        const at = (m: number) => T0 + m * MIN - SEC;
        const temperature = (q: { appId?: string; deviceId?: string; fromMs?: number; toMs?: number; limit?: number; order?: 'asc' | 'desc' } = {}) =>
          store.listMeasurements({ quantity: 'air.temperature', limit: q.limit ?? 100, order: q.order ?? 'asc', ...q });
        expect(await temperature()).toEqual([
          { appId: APP, deviceId: DEV, tsMs: at(1), value: 20.5 },
          { appId: APP, deviceId: 'dev-0002', tsMs: at(2), value: 21 },
          { appId: OTHER_APP, deviceId: 'dev-0003', tsMs: at(3), value: 19 },
          { appId: APP, deviceId: DEV, tsMs: at(4), value: 22 },
        ]);
        expect((await temperature({ appId: APP })).map((m) => m.value)).toEqual([20.5, 21, 22]);
        expect((await temperature({ deviceId: DEV })).map((m) => m.value)).toEqual([20.5, 22]);
        expect((await temperature({ fromMs: at(2), toMs: at(3) })).map((m) => m.value)).toEqual([21, 19]);
        expect((await temperature({ order: 'desc', limit: 2 })).map((m) => m.value)).toEqual([22, 19]);
        expect(await store.listMeasurements({ quantity: 'motion.detected', limit: 10, order: 'asc' })).toEqual([{ appId: APP, deviceId: DEV, tsMs: at(1), value: true }]);
        expect(await store.listMeasurements({ quantity: 'action.contactState', limit: 10, order: 'asc' })).toEqual([
          { appId: OTHER_APP, deviceId: 'dev-0003', tsMs: at(3), value: 'open' },
        ]);
        expect(await store.listMeasurements({ quantity: 'soil.moisture', limit: 10, order: 'asc' })).toEqual([]);

        const asked = ['soil.moisture', 'motion.detected', 'air.temperature', 'action.contactState'];
        expect(await store.measuredQuantities(asked, {})).toEqual(['motion.detected', 'air.temperature', 'action.contactState']);
        expect(await store.measuredQuantities(asked, { appId: OTHER_APP })).toEqual(['air.temperature', 'action.contactState']);
        expect(await store.measuredQuantities(asked, { appId: 'nobody-app' })).toEqual([]);
      });
    });

    // ---------------------------------------------------------------- dead letters

    describe('dead letters', () => {
      rule('listed newest first (by application, limited), pending ids oldest first, unknown ids null', async () => {
        const store = await open();
        const d1 = (await store.commitUplink(uplink({ fCnt: 1, deadLetter: 'formatter_error' }))).deadLetterId!;
        const d2 = (await store.commitUplink(uplink({ deviceId: 'dev-0003', appId: OTHER_APP, deadLetter: 'formatter_error' }))).deadLetterId!;
        const d3 = (await store.commitUplink(uplink({ fCnt: 2, known: true, deadLetter: 'suspended' }))).deadLetterId!;
        expect((await store.listDeadLetters({ limit: 10 })).map((d) => d.id)).toEqual([d3, d2, d1]);
        expect((await store.listDeadLetters({ appId: APP, limit: 10 })).map((d) => [d.id, d.reason])).toEqual([
          [d3, 'suspended'],
          [d1, 'formatter_error'],
        ]);
        expect((await store.listDeadLetters({ limit: 1 })).map((d) => d.id)).toEqual([d3]);
        expect(await store.pendingDeadLetterIds(APP, 10)).toEqual([d1, d3]);
        expect(await store.pendingDeadLetterIds(APP, 1)).toEqual([d1]);
        expect(await store.pendingDeadLetterIds(OTHER_APP, 10)).toEqual([d2]);
        expect(await store.pendingDeadLetterIds('nobody-app', 10)).toEqual([]);
        expect(await store.getDeadLetter(d3 + 1000)).toBeNull();
      });

      rule('a replay resolves its dead letter (replayedAt, no longer pending); a second replay, or two at once, is a WriteConflict for all but one', async () => {
        const store = await open();
        const d1 = (await store.commitUplink(uplink({ fCnt: 1, deadLetter: 'formatter_error' }))).deadLetterId!;
        const d2 = (await store.commitUplink(uplink({ fCnt: 2, known: true, deadLetter: 'formatter_error' }))).deadLetterId!;
        t = T0 + MIN;
        const replay = (id: number, f: number, deadLetter?: string) => ({
          ...uplink({ fCnt: f, known: true, at: T0 + f * SEC, ...(deadLetter ? { deadLetter } : {}) }),
          dedupe: null,
          recent: null,
          resolvesDeadLetter: id,
        });
        expect((await store.commitUplink(replay(d1, 1))).deadLetterId).toBeNull();
        expect((await store.getDeadLetter(d1))?.replayedAt).toBe(iso(T0 + MIN));
        expect(await store.pendingDeadLetterIds(APP, 10)).toEqual([d2]);
        expect((await store.listDeadLetters({ limit: 10 })).map((d) => d.id)).toEqual([d2, d1]);
        await expect(store.commitUplink(replay(d1, 1))).rejects.toBeInstanceOf(WriteConflict);

        const both = await Promise.allSettled([store.commitUplink(replay(d2, 2)), store.commitUplink(replay(d2, 2))]);
        expect(both.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
        expect((both.find((r) => r.status === 'rejected') as PromiseRejectedResult).reason).toBeInstanceOf(WriteConflict);
        expect((await rowsOf(store)).map((r) => r.data.f_cnt)).toEqual([1, 2]);

        // a replay that fails again resolves the old letter with a new one
        const d3 = (await store.commitUplink(uplink({ fCnt: 3, known: true, deadLetter: 'formatter_error' }))).deadLetterId!;
        const again = await store.commitUplink(replay(d3, 3, 'formatter_error'));
        expect(again.deadLetterId).toBeGreaterThan(d3);
        expect(await store.pendingDeadLetterIds(APP, 10)).toEqual([again.deadLetterId]);
      });
    });

    // ---------------------------------------------------------------- events

    describe('events', () => {
      rule('appendEvents answers the stored records (ids ascending, ts from the clock); listEvents lists newest first', async () => {
        const store = await open();
        t = T0 + SEC;
        const inputs = [event('one'), event('two', { appId: null, deviceId: null, category: 'auth', severity: 'warning' }), event('three')];
        const records = await store.appendEvents(inputs);
        expect(records).toEqual(inputs.map((e) => ({ ...e, id: expect.any(Number), ts: iso(T0 + SEC) })));
        expect(records[0].id).toBeLessThan(records[1].id);
        expect(records[1].id).toBeLessThan(records[2].id);
        expect(await store.appendEvents([])).toEqual([]);
        t = T0 + 2 * SEC;
        const [later] = await store.appendEvents([event('four')]);
        expect(later.id).toBeGreaterThan(records[2].id);
        expect(later.ts).toBe(iso(T0 + 2 * SEC));
        expect(await store.listEvents({ limit: 10 })).toEqual([later, ...[...records].reverse()]);
      });

      rule('listEvents filters by application, device, category and severity; limit takes the newest', async () => {
        const store = await open();
        await store.appendEvents([
          event('a', { appId: APP, deviceId: DEV, category: 'uplink', severity: 'info' }),
          event('b', { appId: APP, deviceId: 'dev-0002', category: 'formatter', severity: 'error' }),
          event('c', { appId: OTHER_APP, deviceId: 'dev-0003', category: 'uplink', severity: 'warning' }),
          event('d', { appId: null, deviceId: null, category: 'auth', severity: 'warning' }),
          event('e', { appId: APP, deviceId: DEV, category: 'downlink', severity: 'error' }),
        ]);
        const list = async (q: Omit<Parameters<Store['listEvents']>[0], 'limit'>, limit = 100) => titles(await store.listEvents({ ...q, limit }));
        expect(await list({})).toEqual(['e', 'd', 'c', 'b', 'a']);
        expect(await list({ appId: APP })).toEqual(['e', 'b', 'a']);
        expect(await list({ deviceId: DEV })).toEqual(['e', 'a']);
        expect(await list({ category: 'uplink' })).toEqual(['c', 'a']);
        expect(await list({ severity: 'warning' })).toEqual(['d', 'c']);
        expect(await list({ appId: APP, severity: 'error' })).toEqual(['e', 'b']);
        expect(await list({ appId: APP, deviceId: DEV, category: 'uplink', severity: 'info' })).toEqual(['a']);
        expect(await list({}, 2)).toEqual(['e', 'd']);
        expect(await list({ appId: 'nobody-app' })).toEqual([]);
      });

      rule('afterId lists only later events, newest first; with a limit, the newest of them', async () => {
        const store = await open();
        const records = await store.appendEvents(['a', 'b', 'c', 'd', 'e'].map((x) => event(x)));
        expect(titles(await store.listEvents({ afterId: records[1].id, limit: 100 }))).toEqual(['e', 'd', 'c']);
        expect(titles(await store.listEvents({ afterId: records[1].id, limit: 2 }))).toEqual(['e', 'd']);
        expect(titles(await store.listEvents({ afterId: records[4].id, limit: 100 }))).toEqual([]);
        expect(titles(await store.listEvents({ afterId: 0, limit: 100 }))).toEqual(['e', 'd', 'c', 'b', 'a']);
        expect(titles(await store.listEvents({ afterId: records[0].id, appId: APP, category: 'system', limit: 100 }))).toEqual(['e', 'd', 'c', 'b']);
      });

      rule('the eventCap trims the oldest events: the newest eventCap are always kept, at most 100 more between trims', async () => {
        const cap = 20;
        const store = await open({ eventCap: cap });
        const appended: EventRecord[] = [];
        for (let batch = 0; batch < 13; batch++) {
          appended.push(...(await store.appendEvents(Array.from({ length: 10 }, (_, i) => event(`e${batch * 10 + i}`)))));
          const kept = await store.listEvents({ limit: 10_000 });
          expect(kept.length).toBeLessThanOrEqual(cap + 100);
          expect(kept.slice(0, Math.min(cap, appended.length))).toEqual(appended.slice(-cap).reverse());
        }
        const kept = await store.listEvents({ limit: 10_000 });
        expect(kept.map((e) => e.id)).not.toContain(appended[0].id);
        expect(kept.length).toBeLessThan(appended.length);
      });

      rule('the byte cap trims the oldest events: what is kept weighs at most eventCapBytes, the newest stay', async () => {
        const capBytes = 20_000;
        const store = await open({ eventCapBytes: capBytes });
        const weight = (e: EventRecord) => e.title.length + JSON.stringify(e.details).length;
        const appended: EventRecord[] = [];
        for (let i = 0; i < 60; i++) appended.push(...(await store.appendEvents([event(`e${i}`, { details: { pad: 'x'.repeat(950) } })])));
        const kept = await store.listEvents({ limit: 10_000 });
        const size = weight(appended[0]);
        expect(kept.reduce((n, e) => n + weight(e), 0)).toBeLessThanOrEqual(capBytes);
        expect(kept.length).toBeGreaterThanOrEqual(Math.floor(capBytes / 2 / size));
        expect(kept).toEqual(appended.slice(-kept.length).reverse());
      });

      rule('titles over 500 characters and details over 16 KiB are cut before they are stored, and answered as stored', async () => {
        const store = await open();
        const [cut] = await store.appendEvents([event('t'.repeat(600), { details: { id: 'dev-0001', output: 'x'.repeat(20_000) } })]);
        expect(cut.title).toBe(`${'t'.repeat(500)}…`);
        expect(cut.details.id).toBe('dev-0001');
        expect(cut.details.output).toBeUndefined();
        expect(cut.details.truncated).toEqual(expect.any(String));
        expect(await store.listEvents({ limit: 1 })).toEqual([cut]);
        const committed = uplink();
        committed.events[0].title = 'u'.repeat(501);
        const [, stored] = (await store.commitUplink(committed)).events;
        expect(stored.title).toBe(`${'u'.repeat(500)}…`);
        expect((await store.listEvents({ limit: 1 }))[0]).toEqual(stored);
      });
    });

    // ---------------------------------------------------------------- messages

    describe('downlink messages', () => {
      rule('insertMessage stores a message once: true, then false for the same device and message id (the first kept)', async () => {
        const store = await open();
        const m = message('msg-01', { message: { set: 1 }, iotda: { payload_format: 'standard' }, request: { downlinks: [{ f_port: 2 }] } });
        expect(await store.insertMessage(m)).toBe(true);
        expect(await store.insertMessage({ ...m, correlationId: 'corr-again', message: { set: 2 } })).toBe(false);
        expect(await store.getMessage(DEV, 'msg-01')).toEqual(m);
        // the same message id on another device is another message
        expect(await store.insertMessage({ ...m, deviceId: 'dev-0002', correlationId: 'corr-dev-2' })).toBe(true);
      });

      rule('messages: by id, by correlation id, listed newest first with paging and total; updateMessage replaces the record', async () => {
        const store = await open();
        const ms = [1, 2, 3, 4].map((i) => message(`msg-0${i}`, { createdAt: iso(T0 + i * SEC) }));
        for (const m of ms) await store.insertMessage(m);
        await store.insertMessage(message('msg-09', { deviceId: 'dev-0002', createdAt: iso(T0 + 9 * SEC) }));
        expect(await store.getMessage(DEV, 'msg-02')).toEqual(ms[1]);
        expect(await store.getMessage(DEV, 'msg-09')).toBeNull();
        expect(await store.getMessageByCorrelation('corr-msg-03')).toEqual(ms[2]);
        expect(await store.getMessageByCorrelation('corr-none')).toBeNull();
        expect(await store.listMessages(DEV, { limit: 2, offset: 0 })).toEqual({ items: [ms[3], ms[2]], total: 4 });
        expect(await store.listMessages(DEV, { limit: 2, offset: 2 })).toEqual({ items: [ms[1], ms[0]], total: 4 });
        expect(await store.listMessages(DEV, { limit: 2, offset: 4 })).toEqual({ items: [], total: 4 });
        expect(await store.listMessages('dev-0404', { limit: 2, offset: 0 })).toEqual({ items: [], total: 0 });

        const done: MessageRecord = { ...ms[1], status: 'DELIVERED', detail: 'acknowledged', attempts: 2, updatedAt: iso(T0 + MIN), finishedAt: iso(T0 + MIN) };
        await store.updateMessage(done);
        expect(await store.getMessage(DEV, 'msg-02')).toEqual(done);
        expect(await store.getMessageByCorrelation('corr-msg-02')).toEqual(done);
        expect((await store.listMessages(DEV, { limit: 10, offset: 0 })).items[2]).toEqual(done);
      });

      rule('updateMessage with the state it started from writes only over that state: a report that moved the message first stays', async () => {
        const store = await open();
        const m = message('msg-01', { detail: 'submitted', updatedAt: iso(T0), attempts: 1 });
        await store.insertMessage(m);
        const started = { updatedAt: m.updatedAt, status: m.status, detail: m.detail, attempts: m.attempts };
        // a report (on this instance or another) moves it on while a push waits for its answer
        const reported: MessageRecord = { ...m, status: 'DELIVERED', detail: 'sent', updatedAt: iso(T0 + SEC), finishedAt: iso(T0 + SEC) };
        expect(await store.updateMessage(reported)).toBe(true);
        // the push's answer, written over the state it started from, is refused and changes nothing
        expect(await store.updateMessage({ ...m, detail: 'retrying', attempts: 2, updatedAt: iso(T0 + 2 * SEC), nextAttemptAt: iso(T0 + MIN) }, started)).toBe(false);
        expect(await store.getMessage(DEV, 'msg-01')).toEqual(reported);
        // the same time but another detail, status or attempt count is another state too (a frozen clock repeats times)
        const now = { updatedAt: reported.updatedAt, status: reported.status, detail: reported.detail, attempts: reported.attempts };
        const acked = { ...reported, detail: 'acknowledged' as const };
        expect(await store.updateMessage(acked, { ...now, detail: 'queued' })).toBe(false);
        expect(await store.updateMessage(acked, { ...now, status: 'PENDING' })).toBe(false);
        expect(await store.updateMessage(acked, { ...now, attempts: 2 })).toBe(false);
        expect((await store.getMessage(DEV, 'msg-01'))?.detail).toBe('sent');
        // over the stored state it is written
        expect(await store.updateMessage(acked, now)).toBe(true);
        expect((await store.getMessage(DEV, 'msg-01'))?.detail).toBe('acknowledged');
        // an unknown message is not written either way
        expect(await store.updateMessage(message('msg-77'), started)).toBe(false);
      });

      rule('listOpenMessages: by status, device and due time (retry due or expired), oldest first, limited', async () => {
        const store = await open();
        const m1 = message('msg-01', { createdAt: iso(T0 + 1 * SEC), nextAttemptAt: iso(T0 + MIN) });
        const m2 = message('msg-02', { createdAt: iso(T0 + 2 * SEC), expiresAt: iso(T0 + 90 * SEC) });
        const m3 = message('msg-03', { createdAt: iso(T0 + 3 * SEC), nextAttemptAt: iso(T0 + 10 * MIN) });
        const m4 = message('msg-04', { createdAt: iso(T0 + 4 * SEC), status: 'DELIVERED', detail: 'sent', nextAttemptAt: iso(T0 + 30 * SEC) });
        const m5 = message('msg-05', { deviceId: 'dev-0002', createdAt: iso(T0 + 5 * SEC), nextAttemptAt: iso(T0 + MIN) });
        const m0 = message('msg-00', { createdAt: iso(T0), detail: 'waiting_for_uplink' });
        for (const m of [m1, m2, m3, m4, m5, m0]) await store.insertMessage(m);
        expect(ids(await store.listOpenMessages({ statuses: ['PENDING'], limit: 100 }))).toEqual(['msg-00', 'msg-01', 'msg-02', 'msg-03', 'msg-05']);
        expect(ids(await store.listOpenMessages({ statuses: ['PENDING'], deviceId: DEV, limit: 100 }))).toEqual(['msg-00', 'msg-01', 'msg-02', 'msg-03']);
        expect(ids(await store.listOpenMessages({ statuses: ['PENDING'], dueBefore: iso(T0 + 2 * MIN), limit: 100 }))).toEqual(['msg-01', 'msg-02', 'msg-05']);
        expect(ids(await store.listOpenMessages({ statuses: ['PENDING', 'DELIVERED'], dueBefore: iso(T0 + 2 * MIN), deviceId: DEV, limit: 100 }))).toEqual([
          'msg-01',
          'msg-02',
          'msg-04',
        ]);
        expect(ids(await store.listOpenMessages({ statuses: ['PENDING'], limit: 2 }))).toEqual(['msg-00', 'msg-01']);
        expect(await store.listOpenMessages({ statuses: ['FAILED'], limit: 100 })).toEqual([]);
        expect((await store.listOpenMessages({ statuses: ['PENDING'], deviceId: 'dev-0002', limit: 100 }))[0]).toEqual(m5);
      });
    });

    // ---------------------------------------------------------------- leases

    describe('claims with a lease', () => {
      /** The messages of the claim cases: due at T0+2min are msg-00 (oldest), msg-01 (retry due) and msg-02 (expired). */
      const claimFixture = async (store: Store) => {
        const ms = [
          message('msg-01', { createdAt: iso(T0 + 1 * SEC), nextAttemptAt: iso(T0 + MIN) }),
          message('msg-02', { createdAt: iso(T0 + 2 * SEC), expiresAt: iso(T0 + 90 * SEC) }),
          message('msg-03', { createdAt: iso(T0 + 3 * SEC), nextAttemptAt: iso(T0 + 10 * MIN) }),
          message('msg-04', { createdAt: iso(T0 + 4 * SEC), status: 'DELIVERED', detail: 'sent', nextAttemptAt: iso(T0 + 30 * SEC), expiresAt: iso(T0 + 100 * SEC) }),
          message('msg-05', { createdAt: iso(T0 + 5 * SEC), detail: 'waiting_for_uplink' }),
          message('msg-00', { createdAt: iso(T0), nextAttemptAt: iso(T0 + MIN) }),
        ];
        for (const m of ms) await store.insertMessage(m);
        return ms;
      };
      const claim = (store: Store, atMs: number, leaseMs = 30 * SEC, limit = 100) =>
        store.claimDueMessages({ dueBefore: iso(atMs), leaseUntil: iso(atMs + leaseMs), limit });

      rule('claimDueMessages: the due PENDING messages (retry due or expired), oldest first, up to the limit', async () => {
        const store = await open();
        const ms = await claimFixture(store);
        const DAY = 24 * 60 * MIN;
        t = T0 + 2 * MIN;
        expect(await claim(store, t, DAY, 2)).toEqual([ms[5], ms[0]]);
        expect(ids(await claim(store, t, DAY))).toEqual(['msg-02']);
        expect(await claim(store, t, DAY)).toEqual([]);
        // nothing is due before its time
        t = T0 + 20 * MIN;
        expect(ids(await claim(store, t, DAY))).toEqual(['msg-03']);
        t = T0 + 200 * MIN;
        expect(ids(await claim(store, t, DAY))).toEqual(['msg-05']);
        // once every lease is over, all PENDING ones are due again; the finished one never is
        t = T0 + 10 * DAY;
        expect(ids(await claim(store, t, DAY))).toEqual(['msg-00', 'msg-01', 'msg-02', 'msg-03', 'msg-05']);
      });

      rule('a claimed message is not claimed again before its lease ends, and is again after (its holder died); listing ignores leases', async () => {
        const store = await open();
        await claimFixture(store);
        t = T0 + 2 * MIN;
        expect(ids(await claim(store, t, 30 * SEC))).toEqual(['msg-00', 'msg-01', 'msg-02']);
        t = T0 + 2 * MIN + 29 * SEC;
        expect(await claim(store, t, 30 * SEC)).toEqual([]);
        // an ack looks for waiting messages whoever holds them
        expect(ids(await store.listOpenMessages({ statuses: ['PENDING'], dueBefore: iso(t), limit: 100 }))).toEqual(['msg-00', 'msg-01', 'msg-02']);
        t = T0 + 2 * MIN + 31 * SEC;
        expect(ids(await claim(store, t, 30 * SEC))).toEqual(['msg-00', 'msg-01', 'msg-02']);
      });

      rule('updateMessage ends the lease: due again, it is claimable at once; finished, never', async () => {
        const store = await open();
        const ms = await claimFixture(store);
        const DAY = 24 * 60 * MIN;
        t = T0 + 2 * MIN;
        expect(ids(await claim(store, t, DAY))).toEqual(['msg-00', 'msg-01', 'msg-02']);
        const retried: MessageRecord = { ...ms[0], attempts: 1, nextAttemptAt: iso(T0 + 2 * MIN), updatedAt: iso(t) };
        await store.updateMessage(retried);
        const later: MessageRecord = { ...ms[5], attempts: 1, nextAttemptAt: iso(T0 + 5 * MIN), updatedAt: iso(t) };
        await store.updateMessage(later);
        const finished: MessageRecord = { ...ms[1], status: 'TIMEOUT', detail: 'expired', finishedAt: iso(t), nextAttemptAt: null, updatedAt: iso(t) };
        await store.updateMessage(finished);
        t = T0 + 2 * MIN + SEC;
        expect(await claim(store, t, DAY)).toEqual([retried]);
        t = T0 + 5 * MIN;
        expect(await claim(store, t, DAY)).toEqual([later]);
        t = T0 + 10 * DAY;
        expect(ids(await claim(store, t, DAY))).toEqual(['msg-00', 'msg-01', 'msg-03', 'msg-05']);
      });

      rule('two claims at once get disjoint sets that together are all the due messages', async () => {
        const store = await open();
        for (let i = 0; i < 10; i++) await store.insertMessage(message(`msg-${10 + i}`, { createdAt: iso(T0 + i * SEC), nextAttemptAt: iso(T0 + MIN) }));
        t = T0 + 2 * MIN;
        const [a, b] = await Promise.all([claim(store, t), claim(store, t)]);
        const all = [...ids(a), ...ids(b)];
        expect(new Set(all).size).toBe(all.length);
        expect(all.sort()).toEqual(Array.from({ length: 10 }, (_, i) => `msg-${10 + i}`));
        // with a limit, each takes at most its share and none twice
        t = T0 + 4 * MIN;
        const parts = await Promise.all([claim(store, t, 30 * SEC, 4), claim(store, t, 30 * SEC, 4), claim(store, t, 30 * SEC, 4)]);
        const taken = parts.flatMap(ids);
        expect(parts.every((p) => p.length <= 4)).toBe(true);
        expect(new Set(taken).size).toBe(taken.length);
        expect(taken).toHaveLength(10);
      });

      const notifications = async (store: Store, n: number) => {
        for (let i = 0; i < n; i++) {
          t = T0 + (i + 1) * SEC;
          await store.enqueueNotification(`https://hooks.example/n${i}`, { n: i });
        }
      };
      const claimN = (store: Store, atMs: number, leaseMs = 30 * SEC, limit = 100) =>
        store.claimDueNotifications({ dueBefore: iso(atMs), leaseUntil: iso(atMs + leaseMs), limit });

      rule('notifications: enqueued due now, listed due oldest first (listing claims nothing)', async () => {
        const store = await open();
        await notifications(store, 2);
        const due = await store.listDueNotifications(iso(T0 + 2 * SEC), 10);
        expect(due).toEqual([
          { id: expect.any(Number), url: 'https://hooks.example/n0', body: { n: 0 }, attempts: 0, nextAttemptAt: iso(T0 + SEC), createdAt: iso(T0 + SEC) },
          { id: expect.any(Number), url: 'https://hooks.example/n1', body: { n: 1 }, attempts: 0, nextAttemptAt: iso(T0 + 2 * SEC), createdAt: iso(T0 + 2 * SEC) },
        ]);
        expect(urls(await store.listDueNotifications(iso(T0 + SEC), 10))).toEqual(['https://hooks.example/n0']);
        expect(urls(await store.listDueNotifications(iso(T0 + 2 * SEC), 1))).toEqual(['https://hooks.example/n0']);
        expect(await store.listDueNotifications(iso(T0), 10)).toEqual([]);
        expect((await claimN(store, T0 + 2 * SEC)).map((n) => [n.id, n.url, n.body, n.attempts])).toEqual(due.map((n) => [n.id, n.url, n.body, n.attempts]));
      });

      rule('claimDueNotifications: a claimed notification is not due again before its lease ends, and is again after', async () => {
        const store = await open();
        await notifications(store, 2);
        t = T0 + 5 * SEC;
        expect(urls(await claimN(store, t, 30 * SEC, 1))).toEqual(['https://hooks.example/n0']);
        expect(urls(await claimN(store, t, 30 * SEC))).toEqual(['https://hooks.example/n1']);
        t = T0 + 10 * SEC;
        expect(await claimN(store, t)).toEqual([]);
        expect(await store.listDueNotifications(iso(t), 10)).toEqual([]);
        // its next attempt is the lease's end
        expect((await store.listDueNotifications(iso(T0 + 35 * SEC), 10)).map((n) => [n.url, n.nextAttemptAt])).toEqual([
          ['https://hooks.example/n0', iso(T0 + 35 * SEC)],
          ['https://hooks.example/n1', iso(T0 + 35 * SEC)],
        ]);
        t = T0 + 36 * SEC;
        expect(urls(await claimN(store, t))).toEqual(['https://hooks.example/n0', 'https://hooks.example/n1']);
      });

      rule('rescheduleNotification: null removes it (delivered or given up), a date reschedules it with its attempts', async () => {
        const store = await open();
        await notifications(store, 2);
        t = T0 + 5 * SEC;
        const [n0, n1] = await claimN(store, t);
        await store.rescheduleNotification(n0.id, 1, null);
        await store.rescheduleNotification(n1.id, 1, iso(T0 + 5 * MIN));
        expect(await store.listDueNotifications(iso(T0 + 4 * MIN), 10)).toEqual([]);
        expect(await store.listDueNotifications(iso(T0 + 5 * MIN), 10)).toEqual([{ ...n1, attempts: 1, nextAttemptAt: iso(T0 + 5 * MIN) }]);
        expect(await claimN(store, T0 + 4 * MIN)).toEqual([]);
        expect((await claimN(store, T0 + 5 * MIN)).map((n) => [n.id, n.attempts])).toEqual([[n1.id, 1]]);
        expect((await store.listDueNotifications(iso(T0 + 1000 * MIN), 10)).map((n) => n.id)).toEqual([n1.id]);
      });

      rule('two notification claims at once get disjoint sets that together are all the due ones', async () => {
        const store = await open();
        await notifications(store, 8);
        t = T0 + MIN;
        const [a, b] = await Promise.all([claimN(store, t), claimN(store, t)]);
        const all = [...urls(a), ...urls(b)];
        expect(new Set(all).size).toBe(all.length);
        expect(all.sort()).toEqual(Array.from({ length: 8 }, (_, i) => `https://hooks.example/n${i}`));
      });
    });

    // ---------------------------------------------------------------- the ring of recent uplinks

    describe('ring of recent uplinks', () => {
      rule('lists an application\'s last recentPerApp uplinks, newest first, never fewer while more were written; a limit takes fewer', async () => {
        const per = 5;
        const store = await open({ recentPerApp: per });
        for (let f = 1; f <= 40; f++) {
          await store.commitUplink(uplink({ fCnt: f, at: T0 + f * SEC }));
          const ring = await store.listRecentUplinks(APP, 1000);
          expect(ring.map((r) => JSON.parse(r.report).f_cnt), `after ${f} uplinks`).toEqual(
            Array.from({ length: Math.min(f, per) }, (_, i) => f - i),
          );
        }
        const ring = await store.listRecentUplinks(APP, 2);
        expect(ring).toHaveLength(2);
        expect(ring[0].seq).toBeGreaterThan(ring[1].seq);
        expect(ring[0]).toEqual({ ...uplink({ fCnt: 40, at: T0 + 40 * SEC }).recent, seq: ring[0].seq });
      });

      rule('recentPerApp 0 keeps none', async () => {
        const store = await open({ recentPerApp: 0 });
        await store.commitUplink(uplink());
        await store.commitUplink(uplink({ fCnt: 2 }));
        expect(await store.listRecentUplinks(APP, 100)).toEqual([]);
        expect(await rowsOf(store)).toHaveLength(2);
      });

      rule('one application\'s ring never shows, nor loses entries to, another\'s', async () => {
        const store = await open({ recentPerApp: 3 });
        for (let f = 1; f <= 3; f++) await store.commitUplink(uplink({ fCnt: f, at: T0 + f * SEC }));
        for (let f = 1; f <= 40; f++) await store.commitUplink(uplink({ appId: OTHER_APP, deviceId: 'dev-0002', fCnt: f, at: T0 + f * SEC }));
        const mine = await store.listRecentUplinks(APP, 100);
        expect(mine.map((r) => [r.appId, r.deviceId, JSON.parse(r.report).f_cnt])).toEqual([
          [APP, DEV, 3],
          [APP, DEV, 2],
          [APP, DEV, 1],
        ]);
        const theirs = await store.listRecentUplinks(OTHER_APP, 100);
        expect(theirs.map((r) => JSON.parse(r.report).f_cnt)).toEqual([40, 39, 38]);
        expect(theirs.every((r) => r.appId === OTHER_APP)).toBe(true);
        expect(await store.listRecentUplinks('nobody-app', 100)).toEqual([]);
      });
    });

    // ---------------------------------------------------------------- two instances

    describe('two instances on one store', () => {
      siblingRule('two instances: a profile saved or deleted on one is told to the other within 1 s, not to itself', async () => {
        const a = await open();
        const b = await openSibling(a);
        const toA: StoreNotice[] = [];
        const toB: StoreNotice[] = [];
        const offA = a.onNotice((n) => toA.push(n));
        const offB = b.onNotice((n) => toB.push(n));
        const profileNotice = (appId: string) => (n: StoreNotice) => n.kind === 'profile' && n.appId === appId;
        await a.putProfile(APP, settings('a'), 'tok');
        await waitFor(() => toB.some(profileNotice(APP)), `B told of ${APP}`, 1000);
        await a.putProfile(OTHER_APP, settings('b'), 'tok');
        await waitFor(() => toB.some(profileNotice(OTHER_APP)), `B told of ${OTHER_APP}`, 1000);
        toB.length = 0;
        await a.deleteProfile(APP);
        await waitFor(() => toB.some(profileNotice(APP)), `B told of the deletion of ${APP}`, 1000);
        // and the other way round
        await b.putProfile('apiary-app', settings('c'), 'tok');
        await waitFor(() => toA.some(profileNotice('apiary-app')), 'A told of apiary-app', 1000);
        await sleep(300);
        expect(toA.filter(profileNotice(APP))).toEqual([]);
        expect(toA.filter(profileNotice(OTHER_APP))).toEqual([]);
        expect(toB.filter(profileNotice('apiary-app'))).toEqual([]);
        // an unsubscribed listener hears no more
        offB();
        toB.length = 0;
        await a.putProfile(APP, settings('d'), 'tok');
        await sleep(300);
        expect(toB).toEqual([]);
        offA();
      });

      siblingRule('two instances: events appended or committed on one reach the other as the same records, not itself', async () => {
        const a = await open();
        const b = await openSibling(a);
        const toA: EventRecord[] = [];
        const toB: EventRecord[] = [];
        const offA = a.onNotice((n) => n.kind === 'events' && toA.push(...n.events));
        const offB = b.onNotice((n) => n.kind === 'events' && toB.push(...n.events));
        const appended = await a.appendEvents([event('one'), event('two', { category: 'auth', severity: 'warning' })]);
        const committed = (await a.commitUplink(uplink())).events;
        const expected = [...appended, ...committed];
        await waitFor(() => toB.length >= expected.length, 'B told of the events', 1000);
        expect([...toB].sort((x, y) => x.id - y.id)).toEqual(expected);
        const theirs = await b.appendEvents([event('from b')]);
        await waitFor(() => toA.length >= 1, 'A told of B\'s event', 1000);
        await sleep(300);
        expect(toA).toEqual(theirs);
        expect(toB).toHaveLength(expected.length);
        offA();
        offB();
      });

      siblingRule('two instances: the same uplink committed through both at once is stored once', async () => {
        const a = await open();
        const b = await openSibling(a);
        await a.commitUplink(uplink({ fCnt: 1 }));
        const w = uplink({ fCnt: 2, at: T0 + SEC, known: true });
        const results = await Promise.all([a.commitUplink(w), b.commitUplink(w), a.commitUplink(w), b.commitUplink(w)]);
        expect(results.filter((r) => !r.duplicate)).toHaveLength(1);
        expect(await rowsOf(a)).toHaveLength(2);
        expect(await rowsOf(b)).toHaveLength(2);
        expect(await b.listEvents({ category: 'uplink', limit: 10 })).toHaveLength(2);
      });

      siblingRule('two instances: concurrent first uplinks through both provision the device once and store every row', async () => {
        const a = await open();
        const b = await openSibling(a);
        const results = await Promise.all([1, 2, 3, 4, 5, 6].map((f) => (f % 2 ? a : b).commitUplink(uplink({ fCnt: f, at: T0 + f * SEC }))));
        expect(results.every((r) => !r.duplicate)).toBe(true);
        expect((await b.listDevices({ limit: 10 })).items.map((d) => d.id)).toEqual([DEV]);
        expect(await a.listBuckets({})).toEqual([expect.objectContaining({ id: bucketOf(DEV), rows: 6 })]);
        expect(results.flatMap((r) => r.events).filter((e) => e.category === 'provisioning')).toHaveLength(1);
        expect(await a.listEvents({ category: 'provisioning', limit: 10 })).toHaveLength(1);
        expect((await a.getDevice(DEV))?.lastSeenAt).toBe(iso(T0 + 6 * SEC));
      });

      siblingRule('two instances: claims of due messages and notifications through both are disjoint', async () => {
        const a = await open();
        const b = await openSibling(a);
        for (let i = 0; i < 12; i++) await a.insertMessage(message(`msg-${10 + i}`, { createdAt: iso(T0 + i * SEC), nextAttemptAt: iso(T0 + MIN) }));
        for (let i = 0; i < 12; i++) await b.enqueueNotification(`https://hooks.example/n${i}`, { n: i });
        t = T0 + 2 * MIN;
        const q = { dueBefore: iso(t), leaseUntil: iso(t + 30 * SEC), limit: 100 };
        const [ma, mb] = await Promise.all([a.claimDueMessages(q), b.claimDueMessages(q)]);
        const messages = [...ids(ma), ...ids(mb)];
        expect(new Set(messages).size).toBe(messages.length);
        expect(messages).toHaveLength(12);
        const [na, nb] = await Promise.all([a.claimDueNotifications(q), b.claimDueNotifications(q)]);
        const notices = [...urls(na), ...urls(nb)];
        expect(new Set(notices).size).toBe(notices.length);
        expect(notices).toHaveLength(12);
        // and neither takes the other's before the lease ends
        const soon = { ...q, dueBefore: iso(t + 10 * SEC) };
        expect([...(await a.claimDueMessages(soon)), ...(await b.claimDueMessages(soon))]).toEqual([]);
        expect([...(await a.claimDueNotifications(soon)), ...(await b.claimDueNotifications(soon))]).toEqual([]);
      });
    });
  });
}
