import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { PluginProcess, ensureBuilt } from '../helpers/plugin-process.js';
import { adminApi } from '../helpers/admin-api.js';
import { MARKER_UPLINK, MarkerUplinks, expectDuplicates, expectStoredUnlessBefore } from '../helpers/marker-uplinks.js';
import { WebhookLoad, postAll, type LoadUplink } from '../helpers/webhook-load.js';

const ADMIN_TOKEN = 'crash-recovery-admin-token-0123456789';
const APP = 'crash-app';
const SENDERS = 16;
/** The kill comes once this many uplinks were acknowledged, or after MAX_LOAD_MS of load. */
const KILL_AFTER_ACKS = 300;
const MAX_LOAD_MS = 4_000;
/** Below this the kill did not land mid-load in any meaningful sense: the test fails. */
const MIN_ACKED_BEFORE_KILL = 100;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
// Small pages: a bucket's rows are read across many page boundaries.
const { putProfile, readEverything } = adminApi(ADMIN_TOKEN, { bucketPageSize: 8 });

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
      const authorization = await putProfile(url1, APP, { formatter: { type: 'javascript', script: MARKER_UPLINK, timeout_ms: 2000 } });
      phase('started');

      const uplinks = new MarkerUplinks(APP, 'C0FFEE00', 'crash');
      const load = new WebhookLoad({ url: url1, authorization, senders: SENDERS, uplink: (sender, seq) => uplinks.make(sender, seq) });
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
      uplinks.expectKilledMidLoad(load, { ackedAtKill, inFlightAtKill, minAckedBeforeKill: MIN_ACKED_BEFORE_KILL });

      // ---- second life: same data dir, same environment
      const second = start(dataDir);
      const url2 = await second.url();
      phase('restarted');
      const before = await readEverything(url2);
      const { counts, lostButStored } = uplinks.expectStoredOnce(before, load);

      phase('read back');
      // ---- TTS resends after the restart: the dedupe windows survived the kill with the rows.
      // Acknowledged uplinks still in their device's window (each device's stored uplinks are its first ones in a row).
      const resendAcked = acked.map((a) => a.uplink).filter(uplinks.inDedupeWindow());
      expect(resendAcked.length).toBeGreaterThan(0);
      const lastAckedOfDevice = new Map<string, LoadUplink>();
      for (const { uplink } of acked) if ((lastAckedOfDevice.get(uplink.devEui)?.fCnt ?? 0) < uplink.fCnt) lastAckedOfDevice.set(uplink.devEui, uplink);
      for (const up of lastAckedOfDevice.values()) expect(resendAcked).toContain(up);
      expectDuplicates(await postAll(url2, authorization, resendAcked.map((up) => up.body)), resendAcked);
      // Uplinks cut off by the kill, sent again as TTS would.
      const lostUplinks = lost.map((l) => l.uplink);
      expectStoredUnlessBefore(await postAll(url2, authorization, lostUplinks.map((up) => up.body)), lostUplinks, counts);

      // Every uplink made, acknowledged or cut off, stored once.
      uplinks.expectStoredExactly(await readEverything(url2), [...acked, ...lost].map((r) => r.uplink.marker));

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
