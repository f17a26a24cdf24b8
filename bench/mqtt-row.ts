import { join } from 'node:path';
import Database from 'better-sqlite3';
import mqtt, { type MqttClient } from 'mqtt';
import type { MemoryReport, ServerChild } from './children.js';
import { lpad, pad } from './columns.js';
import { summarize, type LoadFigures } from './load.js';
import { BenchBroker } from './mosquitto.js';
import { LatencyProbe, mqttTemplates, publishPaced } from './mqtt-load.js';
import { prepopulate } from './prepopulate.js';
import { benchDevice, thingerScript } from './uplinks.js';

/**
 * The bench's MQTT row: the plugin (server-plugin.js, its own child process and data dir, data as
 * plugin-1k's) with a profile whose `tts_mqtt` points at a mosquitto on loopback; The Things
 * Stack's side is a client in the bench process publishing the webhook rows' bodies to
 * `v3/{user}/devices/{device}/up` at QoS 0. QoS 0 has no answer per message, so the load is open
 * loop: a warm-up and then a measured window at each rate in turn, until a window in which the
 * plugin stored less than `kept` of what was published. The row is the highest rate kept up with.
 *
 *  - stored: the plugin's /metrics (lorawan_bridge_uplinks_total{outcome="stored"}), read before a
 *    window and after it, once everything published in it is stored or `graceMs` after the last
 *    publish; stored/s = those over the publishing window.
 *  - CPU: the plugin's own report (its formatter processes included), mosquitto's from /proc,
 *    this process's (the publisher), the machine's from /proc/stat; the same span (window + drain).
 *  - latency: sampled probes (LatencyProbe), publish until the row is committed, looked for in the
 *    plugin's SQLite file, read-only, from this process (polling the plugin's API cost the plugin
 *    about 1 ms of CPU per poll: more than an uplink).
 */
export interface MqttSettings {
  rates: number[];
  windowSec: number;
  warmupSec: number;
  /** Share of a window's uplinks that must be stored for the rate to count as kept up with. */
  kept: number;
  /** After the last publish, how long the plugin may take to store the rest of a window. */
  graceMs: number;
  /** Latency probes per second (one uplink each, looked for until stored). */
  probesPerSec: number;
  /** No further rate is tried once the MQTT part has run this long. */
  budgetMs: number;
  /** The profile's MQTT user: TTS's `{app}@{tenant}`, also the topic prefix `v3/{user}/`. */
  user: string;
}

export function mqttSettings(quick: boolean): MqttSettings {
  return {
    rates: quick ? [500, 1500, 4000] : [500, 1000, 2000, 3000, 4000, 5500, 7500],
    windowSec: quick ? 1 : 3,
    warmupSec: quick ? 0.3 : 1,
    kept: 0.99,
    graceMs: 1_000,
    probesPerSec: 20,
    // The whole part stays under ~40 s (full) and ~10 s (quick) on a quiet machine.
    budgetMs: quick ? 10_000 : 34_000,
    user: 'bench-app@bench',
  };
}

/** One rate: a window of `published` uplinks at `ratePerSec` after a warm-up at that rate. */
export interface MqttStep {
  ratePerSec: number;
  published: number;
  /** What the publisher achieved (below the rate if this process fell behind). */
  publishedPerSec: number;
  stored: number;
  storedPct: number;
  /** Uplinks of the window stored by the end of the grace, per second of the publishing window. */
  storedPerSec: number;
  /** After the last publish until everything was stored, ms (graceMs: not everything was). */
  drainMs: number;
  /** The publishing window, s. */
  windowSec: number;
  kept: boolean;
  /** Other outcomes counted by the plugin in the window (none expected). */
  duplicates: number;
  deadLetters: number;
  /** Publish-to-stored of the probes, ms. */
  latencies: number[];
  probesLost: number;
  pluginCpuMs: number;
  pluginCpuPct: number;
  pluginUsPerStored: number;
  brokerCpuMs: number;
  brokerCpuPct: number;
  /** mosquitto's CPU per published message (in from the publisher, out to the plugin), µs. */
  brokerUsPerMessage: number;
  /** This process: the publisher and the probes. */
  loaderCpuPct: number;
  otherCpuPct: number | null;
  stealPct: number | null;
  loop: MemoryReport['loop'];
  memory: MemoryReport;
  brokerRssMb: number;
  brokerPeakRssMb: number;
}

export interface MqttReport {
  rates: number[];
  windowSec: number;
  warmupSec: number;
  keptShare: number;
  probesPerSec: number;
  highestKeptRate: number | null;
  /** Every rate tried was kept up with: the plugin may take more. */
  open: boolean;
  steps: (Omit<MqttStep, 'latencies' | 'memory'> & { probes: number; p50Ms: number; p99Ms: number; maxMs: number; peakRssMb: number; rssMb: number })[];
}

export interface MqttRowOptions {
  settings: MqttSettings;
  /** An empty directory for the plugin's data. */
  dataDir: string;
  appId: string;
  prepopulated: { devices: number; rows: number };
  /** Devices the load goes round (the first of the pre-populated ones). */
  loadDevices: number;
  startPlugin: (dataDir: string) => Promise<ServerChild>;
  api: (server: ServerChild, method: string, path: string, body?: unknown) => Promise<{ status: number; json: any }>;
  machineCpuMs: () => { busy: number; steal: number } | null;
  waitForQuiet: (maxMs: number) => Promise<number | null>;
  log: (message: string) => void;
  /** Shared f_cnt counter: nothing is a duplicate. */
  fCnt: { next: number };
}

export interface MqttRowResult {
  steps: MqttStep[];
  /** The highest rate kept up with (the first tried if none was). */
  best: MqttStep;
  figures: LoadFigures;
  note: string;
  deadLetters: unknown[];
  report: MqttReport;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Percentiles of probe latencies (load.ts's, for the same rounding). */
const latencyFigures = (latencies: number[]) =>
  summarize([{ durationSec: 1, requests: 0, latencies: Float64Array.from(latencies), non2xx: 0, errors: 0, timeouts: 0, notStored: 0, statusCodes: {}, samples: [] }]);

export async function runMqttRow(o: MqttRowOptions): Promise<MqttRowResult> {
  const cfg = o.settings;
  const started = performance.now();
  const phases: string[] = [];
  let phaseAt = started;
  const phase = (name: string) => {
    const now = performance.now();
    phases.push(`${name} ${((now - phaseAt) / 1000).toFixed(1)} s`);
    phaseAt = now;
  };
  await prepopulate({ file: join(o.dataDir, 'plugin.db'), appId: o.appId, ...o.prepopulated });
  phase('data');
  const broker = await BenchBroker.start();
  phase('mosquitto');
  let client: MqttClient | null = null;
  let probe: LatencyProbe | null = null;
  let db: Database.Database | null = null;
  try {
    const server = await o.startPlugin(o.dataDir);
    phase('plugin');
    const api = (method: string, path: string, body?: unknown) => o.api(server, method, path, body);
    const outcomes = async () => {
      const res = await api('GET', '/metrics');
      if (res.status !== 200 || typeof res.json !== 'string') throw new Error(`GET /metrics: ${res.status}`);
      const counts = { stored: 0, duplicate: 0, dead_letter: 0 };
      for (const m of (res.json as string).matchAll(/^lorawan_bridge_uplinks_total\{outcome="(\w+)"\} (\d+)$/gm)) {
        if (m[1] in counts) counts[m[1] as keyof typeof counts] = Number(m[2]);
      }
      return counts;
    };

    const put = await api('PUT', `/api/profiles/${o.appId}`, {
      formatter: { type: 'javascript', script: thingerScript(0) },
      // The bench's broker takes any user name and password.
      tts_mqtt: { url: broker.url, username: cfg.user, password: 'bench-mqtt-password' },
    });
    if (put.status !== 201 && put.status !== 200) throw new Error(`PUT profile ${o.appId} with tts_mqtt: ${put.status} ${JSON.stringify(put.json)}`);
    for (const deadline = performance.now() + 10_000; ; await sleep(50)) {
      const c = await api('GET', `/api/profiles/${o.appId}/connection`);
      if ((c.json as { state?: string } | null)?.state === 'connected') break;
      if (performance.now() > deadline) throw new Error(`the plugin did not connect to mosquitto: ${JSON.stringify(c.json)}\n${broker.stderr}`);
    }
    phase('profile + connection');
    const publisher = await mqtt.connectAsync(broker.url, {
      protocolVersion: 4,
      clientId: 'bench-tts-server',
      username: 'tts-server',
      password: 'bench',
      clean: true,
      reconnectPeriod: 0,
    });
    client = publisher;
    let publisherError: string | null = null;
    publisher.on('error', (err) => (publisherError ??= err.message));
    publisher.on('close', () => (publisherError ??= 'the publisher lost its connection to mosquitto'));
    const templates = mqttTemplates(
      Array.from({ length: o.loadDevices }, (_, i) => benchDevice(i, o.appId)),
      cfg.user,
    );
    // A device of its own (not pre-populated: the first probe provisions it), whose bucket (id =
    // DevEUI, the profile's default) this process reads in the plugin's database.
    const probeDevice = benchDevice(o.prepopulated.devices, o.appId);
    db = new Database(join(o.dataDir, 'plugin.db'), { readonly: true, fileMustExist: true });
    const newest = db.prepare<[string], number | null>('SELECT MAX(ts) FROM bucket_rows WHERE bucket_id = ?').pluck();
    const latencyProbe = new LatencyProbe({
      client: publisher,
      template: mqttTemplates([probeDevice], cfg.user)[0],
      fCnt: o.fCnt,
      newestTs: () => newest.get(probeDevice.devEui) ?? null,
      ratePerSec: cfg.probesPerSec,
    });
    probe = latencyProbe;
    // End to end once (formatter loaded, probe device provisioned); the subscription may trail "connected".
    let through = false;
    for (let i = 0; i < 3 && !through; i++) through = await latencyProbe.once();
    if (!through) throw new Error(`no uplink published over MQTT was stored\n${broker.stderr}`);
    phase('first uplink');
    o.log(`  set up in ${((performance.now() - started) / 1000).toFixed(1)} s (${phases.join(', ')})`);

    /** Reads the counters until `target` uplinks are stored, or graceMs after `endAt`. */
    const drain = async (target: number, endAt: number) => {
      for (;;) {
        const counts = await outcomes();
        const waited = performance.now() - endAt;
        if (counts.stored >= target || waited >= cfg.graceMs) return { counts, drainMs: Math.round(waited) };
        await sleep(20);
      }
    };

    const step = async (rate: number): Promise<MqttStep> => {
      const load = { client: publisher, templates, fCnt: o.fCnt, ratePerSec: rate };
      const base = await outcomes();
      const warm = await publishPaced({ ...load, durationSec: cfg.warmupSec });
      await drain(base.stored + warm.published, performance.now());
      latencyProbe.reset();
      const c0 = await outcomes();
      const before = await server.memory();
      const broker0 = broker.usage();
      const machine0 = o.machineCpuMs();
      const loader0 = process.cpuUsage();
      const t0 = performance.now();
      const pub = await publishPaced({ ...load, durationSec: cfg.windowSec, probe: latencyProbe });
      const { counts: c1, drainMs } = await drain(c0.stored + pub.published, performance.now());
      const wallMs = performance.now() - t0;
      const loader = process.cpuUsage(loader0);
      const machine1 = o.machineCpuMs();
      const broker1 = broker.usage();
      const after = await server.memory();
      await latencyProbe.settled();
      if (publisherError) throw new Error(`MQTT publisher: ${publisherError}`);
      const stored = c1.stored - c0.stored;
      const pluginCpuMs = after.cpuMs - before.cpuMs;
      const brokerCpuMs = broker0 && broker1 ? (broker1.cpuUs - broker0.cpuUs) / 1000 : NaN;
      const pct = (ms: number) => Math.round((ms / wallMs) * 100);
      const loaderCpuPct = pct((loader.user + loader.system) / 1000);
      return {
        ratePerSec: rate,
        published: pub.published,
        publishedPerSec: Math.round(pub.published / pub.seconds),
        stored,
        storedPct: Math.round((stored / Math.max(1, pub.published)) * 1000) / 10,
        storedPerSec: Math.round(stored / pub.seconds),
        drainMs,
        windowSec: Math.round(pub.seconds * 1000) / 1000,
        kept: stored >= cfg.kept * pub.published,
        duplicates: c1.duplicate - c0.duplicate,
        deadLetters: c1.dead_letter - c0.dead_letter,
        latencies: [...latencyProbe.latencies],
        probesLost: latencyProbe.lost,
        pluginCpuMs: Math.round(pluginCpuMs),
        pluginCpuPct: pct(pluginCpuMs),
        pluginUsPerStored: Math.round((pluginCpuMs * 1000) / Math.max(1, stored)),
        brokerCpuMs: Math.round(brokerCpuMs),
        brokerCpuPct: pct(brokerCpuMs),
        brokerUsPerMessage: Math.round((brokerCpuMs * 1000) / Math.max(1, pub.published)),
        loaderCpuPct,
        otherCpuPct:
          machine0 === null || machine1 === null || !Number.isFinite(brokerCpuMs)
            ? null
            : Math.max(0, pct(machine1.busy - machine0.busy) - pct(pluginCpuMs) - loaderCpuPct - pct(brokerCpuMs)),
        stealPct: machine0 === null || machine1 === null ? null : pct(machine1.steal - machine0.steal),
        loop: after.loop,
        memory: after,
        brokerRssMb: Math.round(((broker1?.rssBytes ?? 0) / 1024 / 1024) * 10) / 10,
        brokerPeakRssMb: Math.round(((broker1?.peakRssKb ?? 0) / 1024) * 10) / 10,
      };
    };

    const quiet = await o.waitForQuiet(cfg.windowSec < 2 ? 500 : 2_000);
    if (quiet !== null && quiet >= 25) o.log(`  (machine still busy: other processes and VMs use ${quiet}% CPU; measuring anyway)`);
    const steps: MqttStep[] = [];
    const stepMs = (cfg.warmupSec + cfg.windowSec) * 1000 + 500;
    for (const rate of cfg.rates) {
      if (steps.length && performance.now() - started + stepMs > cfg.budgetMs) {
        o.log(`  (MQTT: time budget of ${cfg.budgetMs / 1000} s spent; ${rate}/s and above not tried)`);
        break;
      }
      const s = await step(rate);
      steps.push(s);
      const lat = latencyFigures(s.latencies);
      o.log(
        `  ${pad(`plugin-mqtt@${rate}/s`, 18)} ${lpad(String(s.storedPerSec), 6)} stored/s  p50 ${lat.p50Ms} ms  p99 ${lat.p99Ms} ms  ` +
          `(published ${s.published} at ${s.publishedPerSec}/s, stored ${s.storedPct}%${s.kept ? '' : ' NOT KEPT UP'}, the last ${s.drainMs} ms after the last publish; ${s.latencies.length} probes, ${s.probesLost} lost; ` +
          `CPU: plugin ${s.pluginCpuPct}% = ${s.pluginUsPerStored} µs/uplink, mosquitto ${s.brokerCpuPct}% = ${s.brokerUsPerMessage} µs/msg, publisher ${s.loaderCpuPct}%, other processes ${s.otherCpuPct ?? '?'}%, stolen ${s.stealPct ?? '?'}%; ` +
          `event loop busy ${s.loop.busyPct}%, stalls max ${s.loop.delayMaxMs.toFixed(1)} ms)` +
          (s.duplicates || s.deadLetters ? `  UNEXPECTED: ${s.duplicates} duplicates, ${s.deadLetters} dead letters` : ''),
      );
      if (!s.kept) break;
    }

    const kept = steps.filter((s) => s.kept);
    const best = kept[kept.length - 1] ?? steps[0];
    const failed = steps.find((s) => !s.kept);
    const tried = steps.map((s) => s.ratePerSec).join('/');
    const figures = summarize([
      {
        durationSec: best.windowSec,
        requests: best.stored,
        latencies: Float64Array.from(best.latencies),
        non2xx: 0,
        errors: 0,
        timeouts: 0,
        notStored: best.published - best.stored,
        statusCodes: {},
        samples: [],
      },
    ]);
    let deadLetters: unknown[] = [];
    if (steps.some((s) => s.deadLetters > 0)) {
      const list = await api('GET', '/api/dead-letters?limit=5').catch(() => null);
      const items = (list?.json as { items?: { reason: string; error: unknown; device_id: string }[] } | null)?.items ?? [];
      deadLetters = items.map((d) => ({ reason: d.reason, error: d.error, device_id: d.device_id }));
    }
    const report: MqttReport = {
      rates: cfg.rates,
      windowSec: cfg.windowSec,
      warmupSec: cfg.warmupSec,
      keptShare: cfg.kept,
      probesPerSec: cfg.probesPerSec,
      highestKeptRate: kept.length ? best.ratePerSec : null,
      open: kept.length > 0 && !failed,
      steps: steps.map(({ latencies, memory, ...rest }) => {
        const f = latencyFigures(latencies);
        return { ...rest, probes: latencies.length, p50Ms: f.p50Ms, p99Ms: f.p99Ms, maxMs: f.maxMs, peakRssMb: memory.peakRssMb, rssMb: memory.rssMb };
      }),
    };
    const note =
      `over MQTT (mosquitto, QoS 0): ${
        !kept.length
          ? `NOT KEPT UP even at ${best.ratePerSec}/s`
          : failed
            ? `highest of ${tried}/s with >= ${cfg.kept * 100}% stored (${failed.ratePerSec}/s: ${failed.storedPct}%)`
            : `>= ${cfg.kept * 100}% stored at every rate tried (${tried}/s): may take more`
      }; ` + `mosquitto ${best.brokerUsPerMessage} µs/msg, ${best.brokerCpuPct}% CPU, peak RSS ${best.brokerPeakRssMb} MB`;
    await server.stop();
    return { steps, best, figures, note, deadLetters, report };
  } finally {
    probe?.stop();
    await probe?.settled();
    await client?.endAsync(true).catch(() => undefined);
    db?.close();
    await broker.stop();
  }
}
