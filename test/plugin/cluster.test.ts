import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { adminApi } from '../helpers/admin-api.js';
import { APP as DOWNLINK_APP, DEVICE, THINGER_DOWNLINK, TTS_DEVICE, ttsDownlinkEvent } from '../helpers/downlink-setup.js';
import { eventually } from '../helpers/eventually.js';
import { MARKER_UPLINK, MarkerUplinks, expectDuplicates, expectStoredUnlessBefore } from '../helpers/marker-uplinks.js';
import { PluginProcess, ensureBuilt } from '../helpers/plugin-process.js';
import { Postgres } from '../helpers/postgres.js';
import { SseClient } from '../helpers/sse.js';
import { ECHO_UPLINK, uplinkBody } from '../helpers/tts-bodies.js';
import { TtsPeer } from '../helpers/tts-peer.js';
import { WebhookLoad, postAll } from '../helpers/webhook-load.js';

/**
 * Three real plugin processes (dist/plugin/main.js as `npm start` runs it) on one PostgreSQL
 * database, as behind a load balancer: what a user sees must not depend on which instance took a
 * request, and an instance dying must lose nothing that was acknowledged nor do anything twice.
 *
 * Starting three processes (each with its formatter processes) takes 2-8 s on a 2-core machine, so
 * the tests that kill an instance get a cluster (and database) of their own, and the others share
 * one, each with applications and devices of its own: the file stays within a minute.
 */

const ADMIN_TOKEN = 'cluster-test-admin-token-0123456789';
const INSTANCES = 3;
const BASE_MS = Date.parse('2025-04-16T12:00:00.000Z');
const API_KEY = 'NNSXS.CLUSTERKEY.DO-NOT-LEAK';
const CMD = { enabled: true, frequency: 300, threshold: 25 }; // -> 01 01 2C 19 with THINGER_DOWNLINK

// ---- case 1: load
const LOAD_APP = 'cluster-load-app';
const SENDERS = 12;
/** The kill comes once this many uplinks were acknowledged, or after MAX_LOAD_MS of load. */
const KILL_AFTER_ACKS = 240;
const MAX_LOAD_MS = 4_000;
const MIN_ACKED_BEFORE_KILL = 60;
/** After the kill the load goes on against the survivors until this many more were acknowledged (or POST_KILL_MS passed). */
const POST_KILL_ACKS = 120;
const POST_KILL_MS = 3_000;
/** Case 4: how long the TTS stand-in takes to answer the retried push. */
const RETRY_ANSWER_DELAY_MS = 1_500;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
const { api, get, putProfile, readBucket, listDevices, readEverything } = adminApi(ADMIN_TOKEN);

describe('cluster: three plugin processes on one PostgreSQL', () => {
  let pg: Postgres;
  const running: PluginProcess[] = [];
  const cleanups: (() => Promise<void> | void)[] = [];
  const dirs: string[] = [];

  beforeAll(async () => {
    ensureBuilt();
    pg = await Postgres.start();
  }, 60_000);
  afterAll(async () => {
    await pg?.stop();
  });
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
    // SIGTERM, and SIGKILL for whatever has not ended 5 s later.
    await Promise.all(
      running.splice(0).map(async (p) => {
        const timer = setTimeout(() => p.kill(), 5_000);
        await p.stop();
        clearTimeout(timer);
      }),
    );
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  const start = (databaseUrl: string, owner: PluginProcess[], ownerDirs: string[]) => {
    const dataDir = mkdtempSync(join(tmpdir(), 'plugin-cluster-'));
    ownerDirs.push(dataDir);
    const p = new PluginProcess({
      PLUGIN_PORT: '0',
      PLUGIN_HOST: '127.0.0.1',
      PLUGIN_DATA_DIR: dataDir,
      PLUGIN_DATABASE_URL: databaseUrl,
      PLUGIN_ADMIN_TOKEN: ADMIN_TOKEN,
      PLUGIN_LOG_LEVEL: 'info',
      PLUGIN_PUBLIC_URL: 'https://bridge.example.com',
      PLUGIN_FORMATTER_PROCESSES: '1',
      PLUGIN_TTS_ALLOW_PRIVATE: 'true',
    });
    owner.push(p);
    return p;
  };

  /** A fresh database and three instances on it, started at the same time (as a deployment would); stopped after the test unless `owner` is given. */
  const startCluster = async (owner: PluginProcess[] = running, ownerDirs: string[] = dirs) => {
    const t0 = performance.now();
    const databaseUrl = await pg.createDatabase();
    const procs = Array.from({ length: INSTANCES }, () => start(databaseUrl, owner, ownerDirs));
    const urls = await Promise.all(procs.map((p) => p.url()));
    return { procs, urls, databaseUrl, startMs: performance.now() - t0 };
  };

  const kill9 = async (p: PluginProcess) => {
    p.child.kill('SIGKILL');
    await p.exited;
    expect(p.child.signalCode).toBe('SIGKILL');
  };

  const webhook = async (base: string, authorization: string, body: unknown, headers: Record<string, string> = {}) => {
    const res = await fetch(`${base}/tts/webhook`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Authorization: authorization, ...headers },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });
    const text = await res.text();
    let answer: any = text;
    try {
      answer = JSON.parse(text);
    } catch {
      // kept as text
    }
    return { status: res.status, body: answer };
  };

  /** The downlink application's profile and its device, whose uplink (with TTS's downlink headers) reached `via`. */
  const downlinkDevice = async (profileOn: string, via: string, tts: TtsPeer) => {
    const authorization = await putProfile(profileOn, DOWNLINK_APP, { formatter: { type: 'javascript', script: `${ECHO_UPLINK}\n${THINGER_DOWNLINK}` } });
    const up = await webhook(via, authorization, uplinkBody(), tts.downlinkHeaders(DOWNLINK_APP, TTS_DEVICE, API_KEY));
    const why = up.body?.status === 'dead_letter' ? JSON.stringify((await get(via, `/api/dead-letters?app_id=${DOWNLINK_APP}`)).items) : '';
    expect(up, `${JSON.stringify(up.body)} ${why}`).toMatchObject({ status: 200, body: { status: 'stored', device_id: DEVICE } });
    return authorization;
  };
  const message = (base: string, id: string) => get(base, `/api/devices/${DEVICE}/messages/${id}`);

  it(
    'under round-robin load with one instance killed (SIGKILL) mid-load: every acknowledged uplink stored exactly once, resends stay duplicates',
    async () => {
      const t0 = performance.now();
      const phases: string[] = [];
      const phase = (name: string) => phases.push(`${name} ${seconds(performance.now() - t0)}`);
      const { procs, urls } = await startCluster();
      phase('listening');
      const authorization = await putProfile(urls[0], LOAD_APP, { formatter: { type: 'javascript', script: MARKER_UPLINK, timeout_ms: 2000 } });
      phase('profile');

      const uplinks = new MarkerUplinks(LOAD_APP, 'C1057E00', 'cluster');
      const load = new WebhookLoad({ url: urls, authorization, senders: SENDERS, uplink: (sender, seq) => uplinks.make(sender, seq) });
      cleanups.push(() => load.close());
      const clean = () => load.lost.length === 0 && load.refused.length === 0;
      const loadStarted = performance.now();
      load.start();
      while (load.acked.length < KILL_AFTER_ACKS && performance.now() - loadStarted < MAX_LOAD_MS && clean()) await sleep(2);
      // The kill comes while instance 1 has several requests on hand (it has, most of the time).
      const victim = urls[0];
      const waitFrom = performance.now();
      while (load.inFlightTo(victim) < 3 && performance.now() - waitFrom < 1_000 && clean()) await new Promise((resolve) => setImmediate(resolve));
      // No request to instance 1 starts after this; the kill follows in the same tick.
      const inFlightAtKill = load.retire(victim);
      const ackedAtKill = load.acked.length;
      const loadMsBeforeKill = performance.now() - loadStarted;
      procs[0].child.kill('SIGKILL');
      const killedAt = performance.now();
      // The survivors go on taking the load, as behind a balancer that dropped the dead instance.
      while (load.acked.length < ackedAtKill + POST_KILL_ACKS && performance.now() - killedAt < POST_KILL_MS && load.refused.length === 0) await sleep(2);
      load.stop();
      await load.finished();
      await load.close();
      await procs[0].exited;
      expect(procs[0].child.signalCode).toBe('SIGKILL');
      const loadMs = performance.now() - loadStarted;
      phase('load');

      const { acked, lost } = load;
      expect(load.refused.map((r) => ({ marker: r.uplink.marker, target: r.target, status: r.status, answer: r.answer }))).toEqual([]);
      // Only requests in flight to the killed instance were cut off; the survivors answered everything.
      expect(lost.filter((l) => l.target !== victim || !l.afterRetire).map((l) => ({ marker: l.uplink.marker, target: l.target, error: l.error }))).toEqual([]);
      uplinks.expectKilledMidLoad(load, { ackedAtKill, inFlightAtKill, minAckedBeforeKill: MIN_ACKED_BEFORE_KILL });
      // Every instance took its share before the kill, the survivors after it.
      const ackedBefore = acked.slice(0, ackedAtKill);
      for (const url of urls) expect(ackedBefore.filter((a) => a.target === url).length, `acknowledged by ${url} before the kill`).toBeGreaterThan(10);
      const ackedAfterKill = acked.length - ackedAtKill;
      expect(ackedAfterKill, 'uplinks the survivors acknowledged after the kill').toBeGreaterThanOrEqual(30);

      // ---- read back through a survivor
      const before = await readEverything(urls[1], LOAD_APP);
      phase('read back');
      const { counts, lostButStored } = uplinks.expectStoredOnce(before, load);
      // The other survivor sees the same buckets and counts.
      const bucketsOn3 = (await get(urls[2], `/api/buckets?app_id=${LOAD_APP}`)).items as { id: string; rows: number }[];
      const summary = (items: { id: string; rows: number }[]) => items.map((b) => `${b.id}:${b.rows}`).sort();
      expect(summary(bucketsOn3)).toEqual(summary(before.buckets));

      // ---- TTS resends to the survivors: an acknowledged uplink (still in its device's window) is a duplicate,
      // one cut off by the kill is stored now exactly when it was not before.
      const inWindow = uplinks.inDedupeWindow();
      const resendAcked = acked.map((a) => a.uplink).filter(inWindow);
      expect(resendAcked.length).toBeGreaterThan(0);
      const half = Math.ceil(resendAcked.length / 2);
      const ackedAgain = [
        ...(await postAll(urls[1], authorization, resendAcked.slice(0, half).map((up) => up.body))),
        ...(await postAll(urls[2], authorization, resendAcked.slice(half).map((up) => up.body))),
      ];
      expectDuplicates(ackedAgain, resendAcked);
      const resendLost = lost.map((l) => l.uplink).filter(inWindow);
      expectStoredUnlessBefore(await postAll(urls[2], authorization, resendLost.map((up) => up.body)), resendLost, counts);

      // The acknowledged uplinks, and those cut off that were stored before or resent now, each once.
      const storedCutOff = [...lost.map((l) => l.uplink).filter((up) => counts.has(up.marker)), ...resendLost];
      uplinks.expectStoredExactly(await readEverything(urls[2], LOAD_APP), [...acked.map((a) => a.uplink), ...storedCutOff].map((up) => up.marker));
      phase('resent');

      const byTarget = urls.map((u) => acked.filter((a) => a.target === u).length).join('/');
      console.info(
        `cluster: ${INSTANCES} instances, ${SENDERS} senders round-robin, ${seconds(loadMsBeforeKill)} of load before the kill -9 of instance 1 ` +
          `(${ackedAtKill} acknowledged), ${ackedAfterKill} acknowledged by the survivors after it (${seconds(loadMs)} of load in all; ` +
          `acknowledged by instance 1/2/3: ${byTarget}); ${inFlightAtKill.length} in flight to instance 1 at the kill, ${lost.length} cut off ` +
          `(${lostButStored} of them stored anyway); ${before.rows.length} rows in ${before.buckets.length} buckets; ` +
          `${resendAcked.length} acknowledged resent as duplicates, ${resendLost.length} cut-off resent; ` +
          `errors: ${[...new Set(lost.map((l) => l.error))].join(', ')}; ${phases.join(', ')}`,
      );
    },
    60_000,
  );


  it(
    'a retry due while its instance is dead is sent once, by another instance',
    async () => {
      const tts = await new TtsPeer().start();
      cleanups.push(() => tts.stop());
      const { procs, urls } = await startCluster();
      const authorization = await downlinkDevice(urls[0], urls[0], tts);

      // The first push is refused (retryable); the retry is taken, slowly: it stays in flight across
      // the other survivor's scheduler ticks, which must leave it alone.
      tts.respond({ status: 503, body: { code: 14, message: 'error:pkg/applicationserver:unavailable (unavailable)' } }, { status: 200, delayMs: RETRY_ANSWER_DELAY_MS });
      const created = await api(urls[0], 'POST', `/api/devices/${DEVICE}/messages`, { message_id: 'cl-r1', message: CMD, f_port: 15 });
      const answeredAt = performance.now();
      await kill9(procs[0]);
      expect(created.status, JSON.stringify(created.body)).toBe(201);
      expect(created.body.result).toMatchObject({ status: 'PENDING', detail: 'retrying', error: { code: 'tts_http_503' } });
      expect(tts.requests).toHaveLength(1);

      await eventually(async () => tts.requests.length >= 2, 'the retry from a surviving instance', 8_000);
      const retriedAfterMs = performance.now() - answeredAt;
      expect(tts.requests[1].body).toEqual(tts.requests[0].body);
      expect(tts.requests[1].headers.authorization).toBe(`Bearer ${API_KEY}`);
      // Each survivor ticks every second: another send would show within a few seconds.
      await sleep(RETRY_ANSWER_DELAY_MS + 2_000);
      expect(tts.requests).toHaveLength(2);
      expect(await message(urls[1], 'cl-r1')).toMatchObject({ status: 'PENDING', detail: 'submitted', attempts: 2 });

      const { correlation_id } = await message(urls[2], 'cl-r1');
      const sent = await webhook(urls[2], authorization, ttsDownlinkEvent('downlink_sent', correlation_id));
      expect(sent.status, JSON.stringify(sent.body)).toBe(200);
      expect(await message(urls[1], 'cl-r1')).toMatchObject({ status: 'DELIVERED', detail: 'sent' });
      expect(tts.requests).toHaveLength(2);
      // The survivors shut down cleanly (SIGTERM): exit code 0.
      expect(await Promise.all([procs[1].stop(), procs[2].stop()])).toEqual([0, 0]);
      console.info(`cluster retry: sent again by a survivor ${seconds(retriedAfterMs)} after instance 1 answered the create and was killed`);
    },
    30_000,
  );

  describe('one cluster for the tests that kill nothing (each with applications of its own)', () => {
    const procs: PluginProcess[] = [];
    const procDirs: string[] = [];
    let shared: { urls: string[]; startMs: number };
    beforeAll(async () => {
      shared = await startCluster(procs, procDirs);
    }, 60_000);
    afterAll(async () => {
      // A clean shutdown of every instance (SIGTERM): exit code 0.
      const timers = procs.map((p) => setTimeout(() => p.kill(), 5_000));
      const codes = await Promise.all(procs.splice(0).map((p) => p.stop()));
      timers.forEach(clearTimeout);
      for (const dir of procDirs.splice(0)) rmSync(dir, { recursive: true, force: true });
      expect(codes).toEqual([0, 0, 0]);
    });

    it(
      "a new device's first uplinks arriving at all three at once: one device, one bucket, one provisioning event, one row per distinct uplink",
      async () => {
        const { urls, startMs } = shared;
        const app = 'cluster-provision-app';
        const authorization = await putProfile(urls[0], app, { formatter: { type: 'javascript', script: ECHO_UPLINK } });
        const ROUNDS = 6;
        const DISTINCT_PER_INSTANCE = 3;
        const euis: string[] = [];
        const t0 = performance.now();
        for (let round = 0; round < ROUNDS; round++) {
          const eui = `C1057E0A000000${round.toString(16).padStart(2, '0')}`.toUpperCase();
          euis.push(eui);
          const body = (fCnt: number) => JSON.stringify(uplinkBody({ appId: app, deviceId: `eui-${eui.toLowerCase()}`, devEui: eui, fCnt, bytes: [round, fCnt] }));
          const same = body(1);
          const posts: { url: string; body: string; fCnt: number; same: boolean }[] = [];
          urls.forEach((url, i) => {
            posts.push({ url, body: same, fCnt: 1, same: true });
            for (let k = 0; k < DISTINCT_PER_INSTANCE; k++) {
              const fCnt = 10 + i * DISTINCT_PER_INSTANCE + k;
              posts.push({ url, body: body(fCnt), fCnt, same: false });
            }
          });
          const answers = await Promise.all(posts.map((p) => webhook(p.url, authorization, p.body)));
          expect(answers.filter((a) => a.status !== 200), `round ${round}`).toEqual([]);
          // The same uplink at three instances: stored by one, a duplicate for the others.
          expect(
            answers
              .filter((_, i) => posts[i].same)
              .map((a) => a.body.status)
              .sort(),
            `round ${round}`,
          ).toEqual(['duplicate', 'duplicate', 'stored']);
          expect(answers.filter((_, i) => !posts[i].same).map((a) => a.body)).toEqual(
            posts.filter((p) => !p.same).map(() => ({ status: 'stored', device_id: eui })),
          );
        }
        const burstsMs = performance.now() - t0;

        const fCnts = [1, ...Array.from({ length: INSTANCES * DISTINCT_PER_INSTANCE }, (_, i) => 10 + i)];
        for (const [i, url] of urls.entries()) {
          // Whichever instance is asked: one device and one bucket per device, every distinct uplink once.
          expect(await listDevices(url, app), `devices on instance ${i + 1}`).toEqual([...euis].sort());
          const buckets = (await get(url, `/api/buckets?app_id=${app}`)).items as { id: string; device_id: string; rows: number }[];
          expect(buckets.map((b) => ({ id: b.id, device_id: b.device_id, rows: b.rows })).sort((a, b) => a.id.localeCompare(b.id))).toEqual(
            [...euis].sort().map((id) => ({ id, device_id: id, rows: fCnts.length })),
          );
        }
        for (const eui of euis) {
          const rows = await readBucket(urls[2], eui);
          expect(rows.map((r) => r.data.f_cnt as number).sort((a, b) => a - b), eui).toEqual(fCnts);
        }
        const provisioning = (await get(urls[1], `/api/events?app_id=${app}&category=provisioning&limit=1000`)).items as {
          device_id: string;
          title: string;
          severity: string;
        }[];
        expect(provisioning.map((e) => ({ device_id: e.device_id, title: e.title, severity: e.severity })).sort((a, b) => a.device_id.localeCompare(b.device_id))).toEqual(
          [...euis].sort().map((device_id) => ({ device_id, title: 'Device provisioned', severity: 'info' })),
        );
        expect((await get(urls[0], `/api/dead-letters?app_id=${app}`)).items).toEqual([]);
        console.info(
          `cluster provisioning: ${ROUNDS} new devices, each with ${INSTANCES * (1 + DISTINCT_PER_INSTANCE)} concurrent first uplinks, in ${seconds(burstsMs)} ` +
            `(cluster start ${seconds(startMs)})`,
        );
      },
      30_000,
    );
    it(
      'a downlink created on instance 1 is pushed to TTS and ends DELIVERED by TTS events that reach instances 2 and 3',
      async () => {
        const tts = await new TtsPeer().start();
        cleanups.push(() => tts.stop());
        const { urls } = shared;
        const authorization = await downlinkDevice(urls[0], urls[1], tts);

        const created = await api(urls[0], 'POST', `/api/devices/${DEVICE}/messages`, { message_id: 'cl-1', message: CMD, f_port: 15 });
        expect(created.status, JSON.stringify(created.body)).toBe(201);
        expect(created.body.result).toMatchObject({ status: 'PENDING', detail: 'submitted' });
        expect(tts.requests).toHaveLength(1);
        const push = tts.requests[0];
        expect(push.path).toBe(`/api/v3/as/applications/${DOWNLINK_APP}/webhooks/bridge/devices/${TTS_DEVICE}/down/push`);
        expect(push.headers.authorization).toBe(`Bearer ${API_KEY}`);
        const { correlation_id } = await message(urls[0], 'cl-1');
        expect(push.body).toEqual({
          downlinks: [{ f_port: 15, frm_payload: Buffer.from([1, 1, 0x2c, 0x19]).toString('base64'), priority: 'LOWEST', confirmed: false, correlation_ids: [correlation_id] }],
        });

        const queued = await webhook(urls[1], authorization, ttsDownlinkEvent('downlink_queued', correlation_id));
        expect(queued.status, JSON.stringify(queued.body)).toBe(200);
        expect(await message(urls[0], 'cl-1')).toMatchObject({ status: 'PENDING', detail: 'queued' });
        const sent = await webhook(urls[2], authorization, ttsDownlinkEvent('downlink_sent', correlation_id));
        expect(sent.status, JSON.stringify(sent.body)).toBe(200);
        const done = await message(urls[0], 'cl-1');
        expect(done).toMatchObject({ status: 'DELIVERED', detail: 'sent', finished_time: expect.any(String) });
        // The same from the instance that took the last event, and nothing sent twice.
        expect(await message(urls[2], 'cl-1')).toMatchObject({ status: 'DELIVERED', detail: 'sent' });
        expect(tts.requests).toHaveLength(1);
      },
      30_000,
    );

    it(
      'a profile saved on instance 1 changes what instance 2 stores within a second',
      async () => {
        const { urls } = shared;
        const app = 'cluster-profile-app';
        const eui = 'C1057E0B00000001';
        const formatter = (version: string) => ({
          type: 'javascript',
          script: `module.exports.uplink = function (payload, message) { return { f_cnt: message.uplink_message.f_cnt${version ? `, formatter: '${version}'` : ''} }; };`,
        });
        const authorization = await putProfile(urls[0], app, { formatter: formatter('') });
        // Each uplink a second after the one before: the newest row is the last uplink.
        const uplinkAt = (n: number) =>
          uplinkBody({ appId: app, deviceId: `eui-${eui.toLowerCase()}`, devEui: eui, fCnt: n, bytes: [n], receivedAt: new Date(BASE_MS + n * 1000).toISOString() });
        let fCnt = 0;
        const uplinkTo2 = async () => {
          fCnt++;
          const res = await webhook(urls[1], authorization, uplinkAt(fCnt));
          expect(res, JSON.stringify(res.body)).toMatchObject({ status: 200, body: { status: 'stored', device_id: eui } });
          return fCnt;
        };
        const latest = async () => (await get(urls[1], `/api/buckets/${eui}/data?order=desc&limit=1`)).items[0].data as Record<string, unknown>;
        // Instance 2 has the old profile cached, fresh: the save comes right after this uplink.
        await uplinkTo2();
        await uplinkTo2();
        expect(await latest()).toEqual({ f_cnt: 2 });

        const saved = await api(urls[0], 'PUT', `/api/profiles/${app}`, { formatter: formatter('v2') });
        const savedAt = performance.now();
        expect(saved.status, JSON.stringify(saved.body)).toBe(200);
        let newAfterMs = -1;
        let oldOnes = 0;
        while (performance.now() - savedAt < 3_000) {
          const n = await uplinkTo2();
          const data = await latest();
          if (data.formatter === 'v2') {
            newAfterMs = performance.now() - savedAt;
            break;
          }
          expect(data).toEqual({ f_cnt: n });
          oldOnes++;
          await sleep(25);
        }
        expect(newAfterMs, 'the new formatter never reached instance 2 within 3 s').toBeGreaterThanOrEqual(0);
        expect(newAfterMs, `instance 2 stored with the old formatter for ${newAfterMs.toFixed(0)} ms after the save`).toBeLessThan(1_000);
        // And it stays the new one, on instance 2 and on instance 3.
        const afterFirst = fCnt;
        await uplinkTo2();
        const on3 = await webhook(urls[2], authorization, uplinkAt(++fCnt));
        expect(on3.body).toEqual({ status: 'stored', device_id: eui });
        const rows = await readBucket(urls[2], eui);
        expect(rows.map((r) => r.data).sort((a, b) => (a.f_cnt as number) - (b.f_cnt as number))).toEqual(
          Array.from({ length: fCnt }, (_, i) => (i + 1 >= afterFirst ? { f_cnt: i + 1, formatter: 'v2' } : { f_cnt: i + 1 })),
        );
        console.info(`cluster profile: instance 2 stored with the new formatter ${newAfterMs.toFixed(0)} ms after the save on instance 1 (${oldOnes} uplinks with the old one in between)`);
      },
      30_000,
    );

    it(
      'the live event stream of instance 3 shows events caused on instances 1 and 2, each once',
      async () => {
        const { urls } = shared;
        const app = 'cluster-events-app';
        const authorization = await putProfile(urls[0], app, { formatter: { type: 'javascript', script: ECHO_UPLINK } });
        const sse = await new SseClient(`${urls[2]}/api/events/stream?app_id=${app}`, { Authorization: `Bearer ${ADMIN_TOKEN}` }).open();
        cleanups.push(() => sse.close());
        expect(sse.status).toBe(200);

        const euis = ['C1057E0C00000001', 'C1057E0C00000002', 'C1057E0C00000003'];
        const uplink = (i: number, fCnt: number) => uplinkBody({ appId: app, deviceId: `eui-${euis[i].toLowerCase()}`, devEui: euis[i], fCnt, bytes: [i, fCnt] });
        const latencies: number[] = [];
        for (const [i, url] of urls.entries()) {
          // instance 1, 2, and 3 itself
          const t0 = performance.now();
          const res = await webhook(url, authorization, uplink(i, 1));
          expect(res.body).toEqual({ status: 'stored', device_id: euis[i] });
          const event = await sse.nextEvent((e) => e.device_id === euis[i] && e.category === 'uplink', 2_500);
          latencies.push(performance.now() - t0);
          expect(event.data).toMatchObject({ app_id: app, device_id: euis[i], category: 'uplink', title: 'Uplink stored' });
          // The stream's event is the stored one.
          const stored = (await get(urls[i], `/api/events?app_id=${app}&device_id=${euis[i]}&category=uplink`)).items as { id: number }[];
          expect(stored.map((e) => String(e.id))).toEqual([event.id]);
        }
        // One more from instance 1: by the time it shows, any relayed copy of the earlier ones would have too.
        expect((await webhook(urls[0], authorization, uplink(0, 2))).body).toEqual({ status: 'stored', device_id: euis[0] });
        await sse.nextEvent((e) => e.device_id === euis[0] && e.category === 'uplink' && e.details?.f_cnt === 2, 2_500);
        const ids = sse.frames.filter((f) => f.event === 'event').map((f) => f.id);
        expect(ids.filter((id, i) => ids.indexOf(id) !== i), 'events shown twice').toEqual([]);
        const shown = sse.frames.filter((f) => f.event === 'event').map((f) => JSON.parse(f.data ?? 'null') as { device_id: string; category: string });
        // Each device: its provisioning and its uplink events, in the order they happened.
        for (const eui of euis) {
          expect(shown.filter((e) => e.device_id === eui && e.category === 'provisioning'), eui).toHaveLength(1);
        }
        expect(shown.filter((e) => e.category === 'uplink').map((e) => e.device_id)).toEqual([...euis, euis[0]]);
        console.info(`cluster events: shown on instance 3's stream ${latencies.map((ms) => `${ms.toFixed(0)} ms`).join(', ')} after the webhooks to instances 1, 2, 3`);
      },
      30_000,
    );
  });
});
