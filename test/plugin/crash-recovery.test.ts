import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { PluginProcess, ensureBuilt } from '../helpers/plugin-process.js';
import { uplinkBody } from '../helpers/tts-bodies.js';
import { WebhookLoad, postAll, type LoadUplink } from '../helpers/webhook-load.js';

const ADMIN_TOKEN = 'crash-recovery-admin-token-0123456789';
const APP = 'crash-app';
const SENDERS = 16;
/** Each sender owns this many devices and sends to them in turn, so a device never has two uplinks in flight. */
const DEVICES_PER_SENDER = 2;
/** The kill comes once this many uplinks were acknowledged, or after MAX_LOAD_MS of load. */
const KILL_AFTER_ACKS = 300;
const MAX_LOAD_MS = 4_000;
/** Below this the kill did not land mid-load in any meaningful sense: the test fails. */
const MIN_ACKED_BEFORE_KILL = 100;
/** The dedupe window of a device (README: the keys of its last 32 uplinks per session). */
const DEDUPE_WINDOW = 32;
const BASE_MS = Date.parse('2025-04-16T12:00:00.000Z');

/** Stores the uplink's payload (the marker, as text) and its frame counter. */
const MARKER_UPLINK = `module.exports.uplink = function (payload, message) {
  return { marker: Buffer.from(payload, 'base64').toString('utf8'), f_cnt: message.uplink_message.f_cnt };
};`;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const euiOf = (sender: number, device: number) =>
  `C0FFEE00${sender.toString(16).padStart(4, '0')}${device.toString(16).padStart(4, '0')}`.toUpperCase();

/** The `seq`-th uplink of a sender: devices in turn, each with its own frame counter from 1. */
function makeUplink(template: Record<string, any>, sender: number, seq: number): LoadUplink {
  const devEui = euiOf(sender, seq % DEVICES_PER_SENDER);
  const fCnt = Math.floor(seq / DEVICES_PER_SENDER) + 1;
  const marker = `crash:${devEui}:${fCnt}`;
  const receivedAt = new Date(BASE_MS + fCnt * 1000).toISOString();
  // Serialized right away, so one template object serves every uplink.
  template.end_device_ids.device_id = `eui-${devEui.toLowerCase()}`;
  template.end_device_ids.dev_eui = devEui;
  template.received_at = receivedAt;
  template.uplink_message.f_cnt = fCnt;
  template.uplink_message.received_at = receivedAt;
  template.uplink_message.frm_payload = Buffer.from(marker, 'utf8').toString('base64');
  return { marker, devEui, fCnt, receivedAt, body: JSON.stringify(template) };
}

interface StoredRow {
  bucket: string;
  ts: string;
  data: Record<string, unknown>;
}

/**
 * The real process (dist/plugin/main.js as `npm start` runs it) under webhook load from 16 keep-alive
 * connections, killed with SIGKILL mid-load, started again on the same data directory. An uplink is
 * acknowledged when its webhook got a 2xx answer: each one must be stored exactly once; one cut off
 * by the kill may be stored or not, never twice; nothing else may appear. TTS resends after the
 * restart must be recognised: an acknowledged uplink as a duplicate, one cut off by the kill as a
 * duplicate exactly when its row made it to disk (the row and its dedupe key commit together).
 */
describe('crash recovery: kill -9 of the plugin under webhook load', () => {
  const running: PluginProcess[] = [];
  const loads: WebhookLoad[] = [];
  const dirs: string[] = [];
  afterEach(async () => {
    for (const load of loads.splice(0)) await load.close();
    for (const p of running.splice(0)) {
      p.kill();
      await p.exited;
    }
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  const start = (dataDir: string) => {
    const p = new PluginProcess({
      PLUGIN_PORT: '0',
      PLUGIN_HOST: '127.0.0.1',
      PLUGIN_DATA_DIR: dataDir,
      PLUGIN_ADMIN_TOKEN: ADMIN_TOKEN,
      PLUGIN_LOG_LEVEL: 'info',
      PLUGIN_PUBLIC_URL: 'https://bridge.example.com',
    });
    running.push(p);
    return p;
  };

  const api = async (base: string, method: string, path: string, body?: unknown) => {
    const res = await fetch(`${base}${path}`, {
      method,
      headers: { Authorization: `Bearer ${ADMIN_TOKEN}`, ...(body === undefined ? {} : { 'Content-Type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await res.text();
    return { status: res.status, body: text ? (JSON.parse(text) as any) : null };
  };
  const get = async (base: string, path: string) => {
    const res = await api(base, 'GET', path);
    expect(res.status, `GET ${path}: ${JSON.stringify(res.body)}`).toBe(200);
    return res.body;
  };

  /**
   * Every row of a bucket, oldest first, page by page. The data route has no cursor, only `from`
   * (inclusive) and `limit`, ordered by (ts, insertion): the next page starts at the last timestamp
   * seen and skips the rows of that timestamp already read, so rows that share a timestamp (a
   * duplicate would) are neither lost nor counted twice at a page boundary.
   */
  const readBucket = async (base: string, bucket: string, pageSize = 8): Promise<StoredRow[]> => {
    const rows: StoredRow[] = [];
    let from: string | undefined;
    let size = pageSize;
    for (let pages = 0; ; pages++) {
      expect(pages, `paging ${bucket} does not end`).toBeLessThan(10_000);
      const query = new URLSearchParams({ order: 'asc', limit: String(size), ...(from ? { from } : {}) });
      const page = (await get(base, `/api/buckets/${encodeURIComponent(bucket)}/data?${query}`)).items as { ts: string; data: Record<string, unknown> }[];
      const seenAtFrom = from === undefined ? 0 : rows.filter((r) => r.ts === from).length;
      const fresh = page.slice(seenAtFrom);
      for (const r of page.slice(0, seenAtFrom)) expect(r.ts).toBe(from);
      rows.push(...fresh.map((r) => ({ bucket, ts: r.ts, data: r.data })));
      if (page.length < size) return rows;
      if (fresh.length === 0) size *= 2; // a whole page of one timestamp: read more of it at once
      from = page[page.length - 1].ts;
    }
  };

  /** Every bucket of the application with all its rows, checked against the bucket's own row count. */
  const readEverything = async (base: string) => {
    const buckets = (await get(base, '/api/buckets')).items as { id: string; device_id: string; app_id: string; rows: number }[];
    const perBucket = await Promise.all(buckets.map((b) => readBucket(base, b.id)));
    const rows: StoredRow[] = [];
    buckets.forEach((b, i) => {
      expect(perBucket[i].length, `rows read from bucket ${b.id} against its row count`).toBe(b.rows);
      rows.push(...perBucket[i]);
    });
    const devices: string[] = [];
    let cursor: string | null = null;
    do {
      const query = new URLSearchParams({ app_id: APP, limit: '25', ...(cursor ? { cursor } : {}) });
      const page = await get(base, `/api/devices?${query}`);
      devices.push(...(page.items as { id: string }[]).map((d) => d.id));
      cursor = page.next_cursor ?? null;
    } while (cursor);
    const deadLetters = (await get(base, '/api/dead-letters?limit=1000')).items as unknown[];
    return { buckets, rows, devices, deadLetters };
  };

  it(
    'stores every acknowledged uplink exactly once after a SIGKILL mid-load and a restart on the same data; resends stay duplicates',
    async () => {
      const t0 = performance.now();
      const phases: string[] = [];
      const phase = (name: string) => phases.push(`${name} ${((performance.now() - t0) / 1000).toFixed(1)} s`);
      ensureBuilt();
      const dataDir = mkdtempSync(join(tmpdir(), 'plugin-crash-'));
      dirs.push(dataDir);

      // ---- first life: a profile whose formatter stores each uplink's marker, then load
      const first = start(dataDir);
      const url1 = await first.url();
      phase('listening');
      const put = await api(url1, 'PUT', `/api/profiles/${APP}`, { formatter: { type: 'javascript', script: MARKER_UPLINK, timeout_ms: 2000 } });
      expect(put.status, JSON.stringify(put.body)).toBe(201);
      const authorization = String((await get(url1, `/api/profiles/${APP}/webhook`)).headers.Authorization);
      expect(authorization).toMatch(/^Bearer \S+$/);
      phase('started');

      const template = uplinkBody({ appId: APP });
      const sent = new Map<string, LoadUplink>();
      const load = new WebhookLoad({
        url: url1,
        authorization,
        senders: SENDERS,
        uplink: (sender, seq) => {
          const up = makeUplink(template, sender, seq);
          sent.set(up.marker, up);
          return up;
        },
      });
      loads.push(load);
      const loadStarted = performance.now();
      load.start();
      while (
        load.acked.length < KILL_AFTER_ACKS &&
        performance.now() - loadStarted < MAX_LOAD_MS &&
        load.lost.length === 0 &&
        load.refused.length === 0
      ) {
        await sleep(2);
      }
      // No request starts after this; the kill follows in the same tick.
      const inFlightAtKill = load.stop();
      const ackedAtKill = load.acked.length;
      const loadMs = performance.now() - loadStarted;
      first.child.kill('SIGKILL');
      await first.exited;
      expect(first.child.signalCode).toBe('SIGKILL');
      await load.finished();
      await load.close();
      phase('killed');

      const acked = load.acked;
      const lost = load.lost;
      // The load ran clean until the kill: nothing refused, no connection lost before it.
      expect(load.refused.map((r) => ({ marker: r.uplink.marker, status: r.status, answer: r.answer }))).toEqual([]);
      expect(lost.filter((l) => !l.afterStop).map((l) => ({ marker: l.uplink.marker, error: l.error }))).toEqual([]);
      // Each acknowledgement was a new uplink stored: 200 {"status":"stored"}.
      const notStored = acked.filter((a) => a.status !== 200 || JSON.stringify(a.answer) !== JSON.stringify({ status: 'stored', device_id: a.uplink.devEui }));
      expect(notStored.slice(0, 5).map((a) => ({ marker: a.uplink.marker, status: a.status, answer: a.answer }))).toEqual([]);
      // The kill landed mid-load: hundreds acknowledged, requests in flight, and some of them cut off.
      expect(ackedAtKill).toBeGreaterThanOrEqual(MIN_ACKED_BEFORE_KILL);
      expect(inFlightAtKill.length).toBeGreaterThan(0);
      expect(lost.length).toBeGreaterThan(0);
      // Every request started is accounted for exactly once.
      expect(acked.length + lost.length).toBe(sent.size);
      const ackedMarkers = new Set(acked.map((a) => a.uplink.marker));
      const lostMarkers = new Set(lost.map((l) => l.uplink.marker));
      expect(ackedMarkers.size).toBe(acked.length);
      for (const l of lost) expect(inFlightAtKill).toContain(l.uplink);

      // ---- second life: same data dir, same environment
      const second = start(dataDir);
      const url2 = await second.url();
      phase('restarted');
      const before = await readEverything(url2);

      const count = (rows: StoredRow[]) => {
        const byMarker = new Map<string, number>();
        for (const r of rows) byMarker.set(String(r.data.marker), (byMarker.get(String(r.data.marker)) ?? 0) + 1);
        return byMarker;
      };
      /** Rows that are not exactly what their uplink should have stored, where it should have. */
      const misplaced = (rows: StoredRow[]) =>
        rows.filter((r) => {
          const up = sent.get(String(r.data.marker));
          return (
            !up ||
            r.bucket !== up.devEui ||
            r.ts !== up.receivedAt ||
            JSON.stringify(r.data) !== JSON.stringify({ marker: up.marker, f_cnt: up.fCnt })
          );
        });
      const counts = count(before.rows);
      // Nothing unknown, nothing in the wrong bucket or with the wrong content.
      expect(misplaced(before.rows).slice(0, 5)).toEqual([]);
      // No uplink stored twice, acknowledged or not.
      expect([...counts].filter(([, n]) => n !== 1).slice(0, 5)).toEqual([]);
      // Every acknowledged uplink stored.
      expect(acked.filter((a) => counts.get(a.uplink.marker) !== 1).map((a) => a.uplink.marker).slice(0, 5)).toEqual([]);
      // Whatever else is stored is an uplink that was in flight at the kill.
      expect([...counts.keys()].filter((m) => !ackedMarkers.has(m) && !lostMarkers.has(m))).toEqual([]);
      const lostButStored = lost.filter((l) => counts.has(l.uplink.marker)).length;
      expect(before.rows.length).toBe(acked.length + lostButStored);
      // Devices and buckets: one each per device that has a stored uplink, all of this application.
      const devicesWithData = [...new Set(before.rows.map((r) => r.bucket))].sort();
      expect(before.buckets.map((b) => ({ id: b.id, device_id: b.device_id, app_id: b.app_id }))).toEqual(
        devicesWithData.map((id) => ({ id, device_id: id, app_id: APP })),
      );
      expect([...before.devices].sort()).toEqual(devicesWithData);
      expect(before.deadLetters).toEqual([]);

      phase('read back');
      // ---- TTS resends after the restart: the dedupe windows survived the kill with the rows.
      const maxFcnt = new Map<string, number>();
      for (const up of sent.values()) maxFcnt.set(up.devEui, Math.max(maxFcnt.get(up.devEui) ?? 0, up.fCnt));
      // Acknowledged uplinks still in their device's window (each device's stored uplinks are its first ones in a row).
      const resendAcked = acked.map((a) => a.uplink).filter((up) => up.fCnt > (maxFcnt.get(up.devEui) ?? 0) - DEDUPE_WINDOW);
      expect(resendAcked.length).toBeGreaterThan(0);
      const lastAckedOfDevice = new Map<string, LoadUplink>();
      for (const { uplink } of acked) if ((lastAckedOfDevice.get(uplink.devEui)?.fCnt ?? 0) < uplink.fCnt) lastAckedOfDevice.set(uplink.devEui, uplink);
      for (const up of lastAckedOfDevice.values()) expect(resendAcked).toContain(up);
      const ackedAgain = await postAll(url2, authorization, resendAcked.map((up) => up.body));
      expect(
        ackedAgain
          .map((r, i) => ({ marker: resendAcked[i].marker, status: r.status, answer: r.answer }))
          .filter((r) => r.status !== 200 || r.answer?.status !== 'duplicate')
          .slice(0, 5),
      ).toEqual([]);
      // Uplinks cut off by the kill, sent again as TTS would: stored now if and only if they were not before.
      const lostUplinks = lost.map((l) => l.uplink);
      const lostAgain = await postAll(url2, authorization, lostUplinks.map((up) => up.body));
      expect(lostAgain.map((r) => ({ status: r.status, answer: r.answer }))).toEqual(
        lostUplinks.map((up) => ({ status: 200, answer: { status: counts.has(up.marker) ? 'duplicate' : 'stored', device_id: up.devEui } })),
      );

      const after = await readEverything(url2);
      const countsAfter = count(after.rows);
      expect(misplaced(after.rows).slice(0, 5)).toEqual([]);
      expect(after.rows.length).toBe(acked.length + lost.length);
      expect(countsAfter.size).toBe(acked.length + lost.length);
      for (const marker of [...ackedMarkers, ...lostMarkers]) expect(countsAfter.get(marker), marker).toBe(1);
      expect(after.deadLetters).toEqual([]);

      expect(await second.stop()).toBe(0);
      phase('done');
      console.info(
        `crash-recovery: ${loadMs.toFixed(0)} ms of load, ${ackedAtKill} acknowledged at the kill (${acked.length} in all), ` +
          `${inFlightAtKill.length} in flight at the kill, ${lost.length} cut off (${lostButStored} of them stored anyway), ` +
          `${before.rows.length} rows after the restart in ${before.buckets.length} buckets, ${resendAcked.length} acknowledged resent as duplicates, ` +
          `errors: ${[...new Set(lost.map((l) => l.error))].join(', ')}; ${phases.join(', ')}`,
      );
    },
    // ~10 s on a quiet machine; a machine shared with builds can take twice that.
    60_000,
  );
});
