/**
 * End-to-end benchmark: bare Koa (same JSON body parser) against the whole plugin pipeline, driven
 * by autocannon with realistic TTS uplinks; scale rows (1k vs 100k devices + 1M bucket rows); both
 * again at one steady rate below saturation (latency without the closed loop's queue); RSS with 100
 * application isolates, the plugin taking the same uplinks over MQTT (through mosquitto, open loop at
 * stepped rates), and a CPU profile of the plugin under load.
 *
 *   npm run bench            full run (~3 min)
 *   npm run bench -- --quick smoke run (short durations)
 *   npm run bench -- --soak N  N minutes of steady mixed traffic instead (bench/soak.ts)
 *   npm run bench -- --store=postgres  also the plugin on PostgreSQL (bench/postgres.ts, durable
 *                            settings): one instance, and two on one database (~1-2 min more)
 *
 * Every server runs in its own child process (its RSS and event loop are its own); autocannon runs
 * here. Servers are measured one at a time (2-core machine). Writes bench/results.json.
 */
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { START_NODE_FLAGS } from '../plugin/project-files.js';
import { killAllChildren, ServerChild, type MemoryReport } from './children.js';
import { summarizeProfile, type ProfileSummary } from './cpuprofile.js';
import { loadFailed, runLoad, summarize, type LoadFigures, type LoadRound } from './load.js';
import { BenchBroker } from './mosquitto.js';
import { mqttSettings, runMqttRow, type MqttReport } from './mqtt-row.js';
import { runPaced } from './paced-load.js';
import { Postgres } from './postgres.js';
import { prepopulate, type PrepopulateResult } from './prepopulate.js';
import { copySqliteToPostgres } from '../plugin/store/store-copy.js';
import {
  benchDevice,
  bodyTemplates,
  FIRST_BENCH_FCNT,
  projectRoot,
  thingerScript,
  WEBHOOK_PATH,
  type BenchDevice,
  type BodyTemplate,
} from './uplinks.js';
import { lpad, pad } from './columns.js';
import { rng } from './rng.js';

// ---- settings

// `--soak N`: N minutes of steady mixed traffic against the plugin (bench/soak.ts), not the comparison below.
if (process.argv.includes('--soak')) {
  const { soak } = await import('./soak.js');
  process.exit(await soak(process.argv.slice(2)));
}

const argv = new Set(process.argv.slice(2));
for (const arg of argv) {
  if (!['--quick', '--no-profile', '--keep-data', '--store=postgres'].includes(arg)) {
    process.stderr.write(`unknown argument ${arg}\nusage: npm run bench [-- --quick] [--no-profile] [--keep-data] [--store=postgres]  (or: npm run bench -- --soak MINUTES [--rate UPLINKS_PER_SEC] [--keep-data])\n`);
    process.exit(64);
  }
}
const QUICK = argv.has('--quick');
const PROFILE = !argv.has('--no-profile');
const KEEP_DATA = argv.has('--keep-data');
/** Also the PostgreSQL rows: one plugin instance on PostgreSQL, and two on one database. */
const STORE_PG = argv.has('--store=postgres');

const CONNECTIONS = 50;
const DURATION_SEC = QUICK ? 3 : 10;
const WARMUP_SEC = QUICK ? 1 : 2;
/** Measured rounds per server in the comparison; servers take turns, which evens out drift. */
const ROUNDS = QUICK ? 1 : 2;
const LOAD_DEVICES = 1_000;
const SMALL = { devices: 1_000, rows: 10_000 };
const BIG = { devices: 100_000, rows: 1_000_000 };
const APPS = 100;
/**
 * The steady-rate rows send this share of the plugin's full-speed throughput. Per-request costs
 * roughly double at low rates (fewer requests per loop turn and per commit, colder caches), so at
 * half the full-speed rate the plugin's loop was already ~86% busy; at a quarter it is ~60%.
 */
const PACED_SHARE = 0.25;
/** The MQTT row's publish rates, windows and limits (bench/mqtt-row.ts). */
const MQTT = mqttSettings(QUICK);
/** Longest wait before a measured round for other processes to calm down. */
const QUIET_WAIT_MS = QUICK ? 1_000 : 4_000;
/**
 * The bench ends itself after this, whatever happens (npm's build comes on top). The PostgreSQL rows
 * add a server start, two copies of the 1k data, three plugin starts and two rows of rounds: ~25 s
 * (quick; 22 s measured on the busy 2-core machine) or ~75 s (full), given more than twice that.
 */
const TIME_LIMIT_MS = (QUICK ? 100_000 : 330_000) + (STORE_PG ? (QUICK ? 60_000 : 150_000) : 0);
/** What one plugin instance on PostgreSQL should do, as a share of plugin-1k's throughput on SQLite (a figure, not a target). */
const PG_AIM = 0.6;

const TARGETS = {
  ratio: 0.5,
  p99Ms: 10,
  rssMb: 250,
  scaleDrop: 0.1,
};

const ADMIN_TOKEN = 'bench-admin-token-0123456789abcdef';
const APP_ID = 'bench-app';
const here = dirname(fileURLToPath(import.meta.url));
const root = projectRoot();

// ---- helpers

const started = performance.now();
const elapsed = () => `${((performance.now() - started) / 1000).toFixed(1)}s`;
const log = (message: string) => process.stdout.write(`[${elapsed()}] ${message}\n`);

const fCnt = { next: FIRST_BENCH_FCNT };


/**
 * CPU time of the whole machine so far, ms (Linux /proc/stat; null elsewhere): busy in this VM, and
 * stolen by the hypervisor for other VMs (this VM's host is shared, and that drift is not ours).
 */
function machineCpuMs(): { busy: number; steal: number } | null {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0];
    const [user, nice, system, , , irq, softirq, steal] = line.trim().split(/\s+/).slice(1).map(Number);
    return { busy: ((user + nice + system + irq + softirq) * 1000) / 100, steal: ((steal || 0) * 1000) / 100 };
  } catch {
    return null;
  }
}

/**
 * Waits (at most `maxMs`) until processes other than the bench, and other VMs on the host, use less
 * than `limitPct` of a core: other sessions' test runs on this 2-core machine skew the figures badly.
 */
async function waitForQuiet(maxMs: number, limitPct = 25): Promise<number | null> {
  const until = performance.now() + maxMs;
  let other: number | null = null;
  do {
    const m0 = machineCpuMs();
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    await new Promise((r) => setTimeout(r, 500));
    const m1 = machineCpuMs();
    if (m0 === null || m1 === null) return null;
    const c = process.cpuUsage(c0);
    other = Math.round(((m1.busy + m1.steal - m0.busy - m0.steal - (c.user + c.system) / 1000) / (performance.now() - t0)) * 100);
    if (other < limitPct) return other;
  } while (performance.now() < until);
  return other;
}

/** `count` distinct devices out of `of` provisioned ones, in random order. */
function deviceSubset(count: number, of: number, appId: string): BenchDevice[] {
  const random = rng(of);
  const picked = new Set<number>();
  while (picked.size < Math.min(count, of)) picked.add(Math.floor(random() * of));
  return [...picked].map((i) => benchDevice(i, appId));
}

async function api(server: ServerChild, method: string, path: string, body?: unknown): Promise<{ status: number; json: any }> {
  const res = await fetch(`${server.url}${path}`, {
    method,
    headers: { Authorization: `Bearer ${ADMIN_TOKEN}`, ...(body !== undefined ? { 'Content-Type': 'application/json' } : {}) },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    signal: AbortSignal.timeout(10_000),
  });
  const text = await res.text();
  let json: unknown = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    json = text;
  }
  return { status: res.status, json };
}

/** Creates the profile with its own Thinger-style formatter; returns its webhook token. */
async function createProfile(server: ServerChild, appId: string, variant: number): Promise<string> {
  const put = await api(server, 'PUT', `/api/profiles/${appId}`, {
    formatter: { type: 'javascript', script: thingerScript(variant) },
  });
  if (put.status !== 201 && put.status !== 200) throw new Error(`PUT profile ${appId}: ${put.status} ${JSON.stringify(put.json)}`);
  const hook = await api(server, 'GET', `/api/profiles/${appId}/webhook`);
  const auth = (hook.json as { headers?: { Authorization?: string } } | null)?.headers?.Authorization;
  if (hook.status !== 200 || !auth?.startsWith('Bearer ')) throw new Error(`GET webhook ${appId}: ${hook.status} ${JSON.stringify(hook.json)}`);
  return auth.slice('Bearer '.length);
}

/** One uplink through fetch (used to load isolates), checked for `stored`. */
async function sendOne(server: ServerChild, t: BodyTemplate): Promise<void> {
  const res = await fetch(`${server.url}${WEBHOOK_PATH}`, {
    method: 'POST',
    headers: t.headers,
    body: t.head + fCnt.next++ + t.tail,
    signal: AbortSignal.timeout(10_000),
  });
  const text = await res.text();
  if (res.status !== 200 || !text.includes('"status":"stored"')) throw new Error(`uplink: ${res.status} ${text.slice(0, 300)}`);
}

function pluginEnv(dataDir: string): Record<string, string> {
  return {
    PLUGIN_DATA_DIR: dataDir,
    PLUGIN_PORT: '0',
    PLUGIN_HOST: '127.0.0.1',
    PLUGIN_ADMIN_TOKEN: ADMIN_TOKEN,
    PLUGIN_LOG_LEVEL: 'silent',
    // Also keeps GET /api/profiles/<app>/webhook from using ctx.origin, which Koa 3 made the Origin header.
    PLUGIN_PUBLIC_URL: 'https://bridge.example.com',
    // The bench's uplinks carry downlink URLs on 127.0.0.1 (nothing is sent to them).
    PLUGIN_TTS_ALLOW_PRIVATE: 'true',
  };
}

interface Target {
  name: string;
  measured: string;
  met: boolean;
}

interface Measured {
  round: LoadRound;
  /** CPU the server child used during the round, % of one core. */
  serverCpuPct: number;
  /** The same as time, ms (all the server's threads). */
  serverCpuMs: number;
  /** CPU this process (the load generator: autocannon or the pacer) used during the round, % of one core. */
  loaderCpuPct: number;
  /** CPU used by every other process on the machine during the round, % of one core (null: unknown). */
  otherCpuPct: number | null;
  /** CPU the hypervisor gave other VMs instead of this one during the round, % of one core. */
  stealPct: number | null;
  /** The server's event loop during the round: busy share, p99 and worst stall. */
  loop: MemoryReport['loop'];
  /** The round's window on CLOCK_MONOTONIC, microseconds (to cut the CPU profile to it). */
  windowUs: [number, number];
  /**
   * PostgreSQL rows: the CPU time of each process, ms (serverCpuMs/Pct are their total): each plugin
   * instance's, and PostgreSQL's (postmaster and every backend; null if /proc could not tell).
   */
  split?: { pluginMs: number[]; pgMs: number | null };
}

interface Row {
  name: string;
  note: string;
  figures: LoadFigures;
  memory: MemoryReport;
  serverCpuPct: number;
  /**
   * Server CPU time per request, µs: what a request costs, whatever the throughput. Steadier than
   * req/s on a shared machine, where the load generator competes for the same cores.
   */
  cpuUsPerRequest: number;
  loaderCpuPct: number;
  otherCpuPct: number | null;
  stealPct: number | null;
  loop: MemoryReport['loop'];
  /** Dead letters of a plugin row with uplinks not stored (reason and formatter error). */
  deadLetters: unknown[];
  /** The MQTT row's own figures (steps, broker), for results.json. */
  mqtt?: MqttReport;
  /** PostgreSQL rows: CPU per request of each plugin instance and of PostgreSQL, µs (cpuUsPerRequest is their total). */
  cpuSplit?: { pluginUsPerRequest: number[]; pgUsPerRequest: number | null };
}

interface ProfileReport extends ProfileSummary {
  server: string;
  file: string;
}


// ---- the run

let tmpDir: string | null = null;
const removeData = () => {
  if (tmpDir && !KEEP_DATA) rmSync(tmpDir, { recursive: true, force: true });
};

async function main(): Promise<number> {
  const tmp = mkdtempSync(join(tmpdir(), 'plugin-bench-'));
  tmpDir = tmp;
  const servers: ServerChild[] = [];
  const start = async (name: string, file: string, env: Record<string, string>, nodeArgs: string[] = []) => {
    // The plugin runs with the flags of `npm start`; bare Koa with node's defaults.
    const flags = file === 'server-plugin.js' ? [...START_NODE_FLAGS, ...nodeArgs] : nodeArgs;
    const s = await ServerChild.start(name, join(here, file), env, flags);
    servers.push(s);
    return s;
  };
  /** Measured rounds by row name. */
  const rounds = new Map<string, Measured[]>();
  /**
   * Warm-up (first time), then one measured round, by autocannon at full speed or `paced` at a
   * fixed rate; CPU use of the server and of the load generator alongside. `cluster` (the
   * PostgreSQL rows, full speed only): the row's name, more plugin instances taking the load with
   * `server` (the connections split evenly over them), and the PostgreSQL server they use, whose CPU
   * counts as the row's too.
   */
  const measure = async (
    server: ServerChild,
    templates: BodyTemplate[],
    warmup: boolean,
    paced?: { name: string; ratePerSec: number },
    cluster?: { name: string; others: ServerChild[]; postgres: Postgres },
  ): Promise<Measured> => {
    if (paced && cluster) throw new Error('measure: a paced round of several processes is not implemented');
    const name = paced?.name ?? cluster?.name ?? server.name;
    const instances = [server, ...(cluster?.others ?? [])];
    const load = { url: server.url, connections: CONNECTIONS, durationSec: DURATION_SEC, templates, fCnt };
    const full = { ...load, url: instances.length > 1 ? instances.map((s) => s.url) : server.url };
    // A paced round warms up at its own rate (the servers ran at full speed before; this warms the pacer).
    if (paced) await runPaced({ ...load, durationSec: WARMUP_SEC, ratePerSec: paced.ratePerSec });
    else if (warmup) await runLoad({ ...full, durationSec: WARMUP_SEC });
    const quiet = await waitForQuiet(QUIET_WAIT_MS);
    if (quiet !== null && quiet >= 25) log(`  (machine still busy: other processes and VMs use ${quiet}% CPU; measuring anyway)`);
    const before = await Promise.all(instances.map((s) => s.memory()));
    const pgBefore = cluster?.postgres.cpuMs() ?? null;
    const machineBefore = machineCpuMs();
    const loaderBefore = process.cpuUsage();
    const t0 = performance.now();
    const windowStart = Number(process.hrtime.bigint() / 1000n);
    const round = await (paced ? runPaced({ ...load, ratePerSec: paced.ratePerSec }) : runLoad(full));
    const windowEnd = Number(process.hrtime.bigint() / 1000n);
    const wallMs = performance.now() - t0;
    const loader = process.cpuUsage(loaderBefore);
    const machineAfter = machineCpuMs();
    const pgAfter = cluster?.postgres.cpuMs() ?? null;
    const after = await Promise.all(instances.map((s) => s.memory()));
    const pluginMs = instances.map((_, i) => after[i].cpuMs - before[i].cpuMs);
    const pgMs = pgBefore !== null && pgAfter !== null ? pgAfter - pgBefore : null;
    const serverCpuMs = pluginMs.reduce((n, ms) => n + ms, 0) + (pgMs ?? 0);
    const serverCpuPct = Math.round((serverCpuMs / wallMs) * 100);
    const loaderCpuPct = Math.round(((loader.user + loader.system) / 1000 / wallMs) * 100);
    const pct = (ms: number) => `${Math.round((ms / wallMs) * 100)}%`;
    const m: Measured = {
      round,
      serverCpuPct,
      serverCpuMs,
      loaderCpuPct,
      otherCpuPct:
        machineBefore === null || machineAfter === null
          ? null
          : Math.max(0, Math.round(((machineAfter.busy - machineBefore.busy) / wallMs) * 100) - serverCpuPct - loaderCpuPct),
      stealPct: machineBefore === null || machineAfter === null ? null : Math.round(((machineAfter.steal - machineBefore.steal) / wallMs) * 100),
      // Several instances: the busiest loop, the worst stalls.
      loop: after.map((a) => a.loop).reduce((w, l) => ({
        busyPct: Math.max(w.busyPct, l.busyPct),
        delayP50Ms: Math.max(w.delayP50Ms, l.delayP50Ms),
        delayP99Ms: Math.max(w.delayP99Ms, l.delayP99Ms),
        delayMaxMs: Math.max(w.delayMaxMs, l.delayMaxMs),
      })),
      windowUs: [windowStart, windowEnd],
      ...(cluster ? { split: { pluginMs, pgMs } } : {}),
    };
    rounds.set(name, [...(rounds.get(name) ?? []), m]);
    const f = summarize([round]);
    const split = cluster ? ` = plugin ${pluginMs.map(pct).join(' + ')} + PostgreSQL ${pgMs === null ? '?' : pct(pgMs)}` : '';
    log(
      `  ${pad(name, 18)} ${lpad(String(f.rps), 6)} req/s  p50 ${f.p50Ms} ms  p99 ${f.p99Ms} ms  (CPU: server ${m.serverCpuPct}%${split}, load generator ${m.loaderCpuPct}%, other processes ${m.otherCpuPct ?? '?'}%, stolen by the hypervisor ${m.stealPct ?? '?'}%; event loop busy ${m.loop.busyPct}%, stalls p99 ${m.loop.delayP99Ms.toFixed(1)} ms, max ${m.loop.delayMaxMs.toFixed(1)} ms)` +
        (loadFailed(f) ? `  ERRORS: ${JSON.stringify(f.statusCodes)} errors=${f.errors} notStored=${f.notStored} ${f.samples.join(' | ')}` : ''),
    );
    return m;
  };
  const rowOf = async (server: ServerChild, note: string, plugin = true, name = server.name): Promise<Row> => {
    const measured = rounds.get(name) ?? [];
    const avg = (f: (m: Measured) => number) => Math.round(measured.reduce((n, m) => n + f(m), 0) / Math.max(1, measured.length));
    const figures = summarize(measured.map((m) => m.round));
    // Why uplinks were not stored: the plugin keeps them as dead letters with the error.
    let deadLetters: unknown[] = [];
    if (plugin && figures.notStored > 0) {
      const list = await api(server, 'GET', '/api/dead-letters?limit=5').catch(() => null);
      const items = (list?.json as { items?: { reason: string; error: unknown; device_id: string; created_at: string }[] } | null)?.items ?? [];
      deadLetters = items.map((d) => ({ reason: d.reason, error: d.error, device_id: d.device_id, created_at: d.created_at }));
    }
    return {
      deadLetters,
      name,
      note,
      figures,
      memory: await server.memory(),
      serverCpuPct: avg((m) => m.serverCpuPct),
      cpuUsPerRequest: Math.round((measured.reduce((n, m) => n + m.serverCpuMs, 0) * 1000) / Math.max(1, figures.requests)),
      loaderCpuPct: avg((m) => m.loaderCpuPct),
      otherCpuPct: measured.some((m) => m.otherCpuPct === null) ? null : avg((m) => m.otherCpuPct ?? 0),
      stealPct: measured.some((m) => m.stealPct === null) ? null : avg((m) => m.stealPct ?? 0),
      loop: {
        busyPct: avg((m) => m.loop.busyPct),
        delayP50Ms: Math.max(0, ...measured.map((m) => m.loop.delayP50Ms)),
        delayP99Ms: Math.max(0, ...measured.map((m) => m.loop.delayP99Ms)),
        delayMaxMs: Math.max(0, ...measured.map((m) => m.loop.delayMaxMs)),
      },
    };
  };

  /**
   * A PostgreSQL row: rowOf's figures, CPU per request split by process (us/req is their total),
   * and the memory of the instance with the highest peak RSS.
   */
  const clusterRowOf = async (instances: ServerChild[], name: string, note: string): Promise<Row> => {
    const row = await rowOf(instances[0], note, true, name);
    const measured = rounds.get(name) ?? [];
    const perRequest = (ms: number) => Math.round((ms * 1000) / Math.max(1, row.figures.requests));
    const pluginUs = instances.map((_, i) => perRequest(measured.reduce((n, m) => n + (m.split?.pluginMs[i] ?? 0), 0)));
    const pgUs = measured.some((m) => m.split?.pgMs == null) ? null : perRequest(measured.reduce((n, m) => n + (m.split?.pgMs ?? 0), 0));
    const memories = [row.memory, ...(await Promise.all(instances.slice(1).map((s) => s.memory())))];
    return {
      ...row,
      note: `${note}; us/req: plugin ${pluginUs.join(' + ')} + pg ${pgUs ?? '?'} µs`,
      memory: memories.reduce((a, b) => (b.peakRssMb > a.peakRssMb ? b : a)),
      cpuSplit: { pluginUsPerRequest: pluginUs, pgUsPerRequest: pgUs },
    };
  };

  /** The MQTT row (bench/mqtt-row.ts) as a row of the table. */
  const measureMqtt = async (): Promise<Row> => {
    const dir = join(tmp, 'plugin-mqtt');
    mkdirSync(dir);
    const m = await runMqttRow({
      settings: MQTT,
      dataDir: dir,
      appId: APP_ID,
      prepopulated: SMALL,
      loadDevices: LOAD_DEVICES,
      startPlugin: (dataDir) => start('plugin-mqtt', 'server-plugin.js', pluginEnv(dataDir)),
      api,
      machineCpuMs,
      waitForQuiet,
      log,
      fCnt,
    });
    const best = m.best;
    return {
      name: `plugin-mqtt@${best.ratePerSec}/s`,
      note: m.note,
      figures: m.figures,
      memory: best.memory,
      serverCpuPct: best.pluginCpuPct,
      cpuUsPerRequest: best.pluginUsPerStored,
      loaderCpuPct: best.loaderCpuPct,
      otherCpuPct: best.otherCpuPct,
      stealPct: best.stealPct,
      loop: best.loop,
      deadLetters: m.deadLetters,
      mqtt: m.report,
    };
  };

  const prepared: Record<string, PrepopulateResult> = {};
  const profiles: ProfileReport[] = [];
  const rows: Row[] = [];
  /** Bare Koa and the plugin (1k) at the same steady rate. */
  const pacedRows: Row[] = [];
  let pacedRate = 0;
  let mqttRow: Row | null = null;
  /** Why the MQTT row is missing (mosquitto not installed) or failed. */
  let mqttSkipped: string | null = null;
  let mqttFailure: string | null = null;
  let isolateIdle: MemoryReport | null = null;
  /** One plugin instance on PostgreSQL, then two on one database (--store=postgres). */
  const pgRows: Row[] = [];
  let pgServer: Postgres | null = null;
  /** Why the PostgreSQL rows are missing (its binaries are) or failed. */
  let pgSkipped: string | null = null;
  let pgFailure: string | null = null;
  const pgInfo: { major: number | null; copySeconds: number[] } = { major: null, copySeconds: [] };
  try {
    log(`bench: ${QUICK ? 'quick' : 'full'} run, ${CONNECTIONS} connections, ${DURATION_SEC} s x ${ROUNDS} round(s) per server, ${WARMUP_SEC} s warm-up${STORE_PG ? ', PostgreSQL rows at the end' : ''}; data in ${tmp}`);

    // Data dirs first (the big one takes seconds), before any server runs.
    const smallDir = join(tmp, 'plugin-1k');
    const bigDir = join(tmp, 'plugin-100k');
    mkdirSync(smallDir);
    mkdirSync(bigDir);
    prepared.small = await prepopulate({ file: join(smallDir, 'plugin.db'), appId: APP_ID, ...SMALL });
    log(`pre-populated ${SMALL.devices} devices / ${SMALL.rows} bucket rows in ${prepared.small.seconds.toFixed(1)} s`);
    // The PostgreSQL rows start from the same data: a copy of the file before plugin-1k writes to it.
    const pgSourceDir = join(tmp, 'plugin-pg-source');
    if (STORE_PG) {
      mkdirSync(pgSourceDir);
      for (const f of readdirSync(smallDir)) if (f.startsWith('plugin.db')) copyFileSync(join(smallDir, f), join(pgSourceDir, f));
    }
    prepared.big = await prepopulate({ file: join(bigDir, 'plugin.db'), appId: APP_ID, ...BIG });
    log(`pre-populated ${BIG.devices} devices / ${BIG.rows} bucket rows in ${prepared.big.seconds.toFixed(1)} s`);

    const bare = await start('bare-koa', 'server-bare.js', { BENCH_PORT: '0' });
    const small = await start('plugin-1k', 'server-plugin.js', pluginEnv(smallDir));
    const big = await start('plugin-100k', 'server-plugin.js', pluginEnv(bigDir));
    const smallToken = await createProfile(small, APP_ID, 0);
    const bigToken = await createProfile(big, APP_ID, 0);
    const loadDevices = Array.from({ length: LOAD_DEVICES }, (_, i) => benchDevice(i, APP_ID));
    const bareTemplates = bodyTemplates(loadDevices, () => 'bare-koa-ignores-the-token');
    const smallTemplates = bodyTemplates(loadDevices, () => smallToken);
    const bigTemplates = bodyTemplates(deviceSubset(LOAD_DEVICES, BIG.devices, APP_ID), () => bigToken);
    const plan: [ServerChild, BodyTemplate[]][] = [
      [bare, bareTemplates],
      [small, smallTemplates],
      [big, bigTemplates],
    ];
    for (let round = 0; round < ROUNDS; round++) {
      log(`round ${round + 1}/${ROUNDS}`);
      for (const [server, templates] of plan) await measure(server, templates, round === 0);
    }
    rows.push(await rowOf(bare, 'same body parser, answers 200', false));
    rows.push(await rowOf(small, `${SMALL.devices} devices, ${SMALL.rows} rows`));
    rows.push(await rowOf(big, `${BIG.devices} devices, ${BIG.rows} rows, uplinks from ${LOAD_DEVICES} of them`));

    // Latency below saturation, the same steady rate for both: a share of what the plugin did above.
    pacedRate = Math.max(100, Math.floor((rows[1].figures.rps * PACED_SHARE) / 100) * 100);
    log(`steady ${pacedRate} uplinks/s (${PACED_SHARE * 100}% of the plugin's throughput above), at most ${CONNECTIONS} connections`);
    for (const [server, templates] of [
      [bare, bareTemplates],
      [small, smallTemplates],
    ] as const) {
      const name = `${server.name}@${pacedRate}/s`;
      await measure(server, templates, false, { name, ratePerSec: pacedRate });
      pacedRows.push(await rowOf(server, `steady ${pacedRate} req/s (open loop)`, server !== bare, name));
    }
    for (const [server] of plan) await server.stop();

    // 100 applications, each with its own formatter (in contexts of its own, isolates shared).
    log(`${APPS} applications with their own formatters`);
    const appsDir = join(tmp, 'plugin-apps');
    mkdirSync(appsDir);
    const apps = await start(`plugin-${APPS}-apps`, 'server-plugin.js', pluginEnv(appsDir));
    const tokens = new Map<string, string>();
    const appIds = Array.from({ length: APPS }, (_, i) => `${APP_ID}-${String(i).padStart(3, '0')}`);
    for (let i = 0; i < APPS; i++) tokens.set(appIds[i], await createProfile(apps, appIds[i], i + 1));
    const perApp = Math.ceil(LOAD_DEVICES / APPS);
    const appDevices = Array.from({ length: APPS * perApp }, (_, i) => benchDevice(i, appIds[i % APPS]));
    const appTemplates = bodyTemplates(appDevices, (appId) => tokens.get(appId)!);
    for (let i = 0; i < APPS; i++) await sendOne(apps, appTemplates[i]);
    isolateIdle = await apps.memory();
    log(`  ${isolateIdle.stats.apps ?? '?'} applications loaded in ${isolateIdle.stats.isolates ?? '?'} isolates: RSS ${isolateIdle.rssMb} MB (peak so far ${isolateIdle.peakRssMb} MB); now under load over all ${APPS} apps`);
    await measure(apps, appTemplates, true);
    rows.push(await rowOf(apps, `${APPS} profiles with their own formatters, uplinks over all apps`));
    await apps.stop();

    // The same uplinks over MQTT: mosquitto on loopback, open loop at stepped rates.
    if (!BenchBroker.available()) {
      mqttSkipped = 'mosquitto is not installed (apt-get install mosquitto)';
      log(`MQTT row skipped: ${mqttSkipped}`);
    } else {
      log(`the plugin over MQTT: uplinks through mosquitto at QoS 0, ${MQTT.rates.join('/')} per s until < ${MQTT.kept * 100}% stored (${MQTT.warmupSec} s warm-up, ${MQTT.windowSec} s window each)`);
      try {
        mqttRow = await measureMqtt();
        // Not keeping up is a figure (QoS 0 drops what the plugin cannot take); dead letters and duplicates are errors.
        const odd = (mqttRow.mqtt?.steps ?? []).filter((s) => s.duplicates > 0 || s.deadLetters > 0);
        if (odd.length) mqttFailure = `uplinks over MQTT not stored: ${odd.map((s) => `${s.ratePerSec}/s: ${s.deadLetters} dead letters, ${s.duplicates} duplicates`).join('; ')}`;
      } catch (err) {
        mqttFailure = err instanceof Error ? (err.stack ?? err.message) : String(err);
        log(`  MQTT row FAILED: ${mqttFailure}`);
      }
    }

    // The plugin on PostgreSQL (durable settings): one instance with plugin-1k's data and load, then two
    // instances on one database (a copy of the same data) taking the same connections between them.
    if (STORE_PG) {
      pgSkipped = Postgres.missing();
      if (pgSkipped) {
        log(`PostgreSQL rows skipped: ${pgSkipped}`);
      } else {
        try {
          pgServer = await Postgres.start({ settings: 'durable' });
          pgInfo.major = pgServer.major;
          log(`the plugin on PostgreSQL ${pgServer.major} (durable: fsync and synchronous_commit on): one instance, then two on one database, ${CONNECTIONS / 2} connections each`);
          const databases: string[] = [];
          for (const prefix of ['bench_pg', 'bench_pg_x2']) {
            const url = await pgServer.createDatabase(prefix);
            const t0 = performance.now();
            const copied = await copySqliteToPostgres({ file: join(pgSourceDir, 'plugin.db'), url });
            pgInfo.copySeconds.push(Math.round((performance.now() - t0) / 100) / 10);
            log(`  copied the 1k data (${copied.reduce((n, t) => n + t.source, 0)} rows of ${copied.length} tables) into ${prefix} in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
            databases.push(url);
          }
          const pgEnv = (name: string, url: string) => {
            // The instance's data dir stays empty: its store is the database.
            const dir = join(tmp, name);
            mkdirSync(dir);
            return { ...pluginEnv(dir), PLUGIN_DATABASE_URL: url };
          };
          const one = await start('plugin-pg', 'server-plugin.js', pgEnv('plugin-pg', databases[0]));
          const oneToken = await createProfile(one, APP_ID, 0);
          const x2a = await start('plugin-pg-x2-a', 'server-plugin.js', pgEnv('plugin-pg-x2-a', databases[1]));
          const x2Token = await createProfile(x2a, APP_ID, 0);
          // Started once the profile is in the database: it takes the same token from there.
          const x2b = await start('plugin-pg-x2-b', 'server-plugin.js', pgEnv('plugin-pg-x2-b', databases[1]));
          const oneTemplates = bodyTemplates(loadDevices, () => oneToken);
          const x2Templates = bodyTemplates(loadDevices, () => x2Token);
          for (let round = 0; round < ROUNDS; round++) {
            log(`PostgreSQL round ${round + 1}/${ROUNDS}`);
            await measure(one, oneTemplates, round === 0, undefined, { name: 'plugin-pg', others: [], postgres: pgServer });
            await measure(x2a, x2Templates, round === 0, undefined, { name: 'plugin-pg-x2', others: [x2b], postgres: pgServer });
          }
          const data = `${SMALL.devices} devices, ${SMALL.rows} rows copied from SQLite`;
          pgRows.push(await clusterRowOf([one], 'plugin-pg', `1 instance on PostgreSQL, ${data}`));
          pgRows.push(await clusterRowOf([x2a, x2b], 'plugin-pg-x2', `2 instances on one database, ${CONNECTIONS / 2} connections each, ${data}`));
          for (const s of [one, x2a, x2b]) await s.stop();
        } catch (err) {
          pgFailure = err instanceof Error ? (err.stack ?? err.message) : String(err);
          log(`  PostgreSQL rows FAILED: ${pgFailure}`);
          if (pgServer?.log) log(`  PostgreSQL's log (tail): ${pgServer.log.slice(-2000)}`);
        } finally {
          await pgServer?.stop();
        }
      }
    }

    if (PROFILE) {
      // The same data dirs again, each plugin restarted with --cpu-prof; only the measured window counts.
      const targets: [string, string, BodyTemplate[]][] = [['1k', smallDir, smallTemplates]];
      if (!QUICK) targets.push(['100k', bigDir, bigTemplates]);
      for (const [label, dataDir, templates] of targets) {
        log(`CPU profile of the plugin (${label}) under load (--cpu-prof; not in the figures above)`);
        try {
          const profDir = join(tmp, `cpu-prof-${label}`);
          mkdirSync(profDir);
          const prof = await start(`plugin-${label}-cpu-prof`, 'server-plugin.js', pluginEnv(dataDir), [
            '--cpu-prof',
            `--cpu-prof-dir=${profDir}`,
          ]);
          const token = await createProfile(prof, APP_ID, 0);
          const m = await measure(prof, templates.map((t) => ({ ...t, headers: { ...t.headers, Authorization: `Bearer ${token}` } })), true);
          await prof.stop();
          const file = readdirSync(profDir).find((f) => f.endsWith('.cpuprofile'));
          if (!file) throw new Error('the profiled plugin wrote no .cpuprofile');
          // Kept for Chrome DevTools / speedscope, in dist/ (ignored by git).
          const kept = join(here, `plugin-${label}.cpuprofile`);
          copyFileSync(join(profDir, file), kept);
          profiles.push({ server: prof.name, ...summarizeProfile(kept, root, 25, m.windowUs), file: relative(root, kept) });
        } catch (err) {
          // The figures above stand without a profile.
          log(`  profiling failed: ${err instanceof Error ? err.message : String(err)}`);
        }
      }
    }
  } finally {
    for (const s of servers) await s.stop(3000).catch(() => s.kill());
    killAllChildren();
    removeData();
  }

  // ---- figures, targets, report

  const [bareRow, smallRow, bigRow, appsRow] = rows;
  const [pacedBare, pacedPlugin] = pacedRows;
  const ratio = smallRow.figures.rps / bareRow.figures.rps;
  const scale = bigRow.figures.rps / smallRow.figures.rps;
  const cpuRatio = bareRow.cpuUsPerRequest / smallRow.cpuUsPerRequest;
  const targets: Target[] = [
    {
      name: `plugin throughput >= ${TARGETS.ratio * 100}% of bare Koa`,
      measured: `${(ratio * 100).toFixed(1)}% (${smallRow.figures.rps} vs ${bareRow.figures.rps} req/s)`,
      met: ratio >= TARGETS.ratio,
    },
    {
      name: `plugin p99 latency < ${TARGETS.p99Ms} ms`,
      // Bare Koa's own p99 beside it: the plugin does all that bare Koa does, and more, on the same cores.
      measured: `${smallRow.figures.p99Ms} ms (mean ${smallRow.figures.meanMs} ms; bare Koa in the same run: p99 ${bareRow.figures.p99Ms} ms, mean ${bareRow.figures.meanMs} ms)`,
      met: smallRow.figures.p99Ms < TARGETS.p99Ms,
    },
    {
      name: `the same at a steady ${pacedRate} req/s (${PACED_SHARE * 100}% of full speed)`,
      measured: `${pacedPlugin.figures.p99Ms} ms (p50 ${pacedPlugin.figures.p50Ms} ms; bare Koa at the same rate: p99 ${pacedBare.figures.p99Ms} ms)`,
      met: pacedPlugin.figures.p99Ms < TARGETS.p99Ms && !loadFailed(pacedPlugin.figures),
    },
    {
      name: `peak RSS < ${TARGETS.rssMb} MB with ${APPS} applications' formatters`,
      measured: `${appsRow.memory.peakRssMb} MB peak (${isolateIdle?.rssMb ?? '?'} MB once loaded, ${appsRow.memory.stats.apps ?? '?'} applications in ${appsRow.memory.stats.isolates ?? '?'} isolates)`,
      met: appsRow.memory.peakRssMb < TARGETS.rssMb && (appsRow.memory.stats.apps ?? 0) >= APPS,
    },
    {
      name: `100k devices + 1M rows within ${TARGETS.scaleDrop * 100}% of 1k devices`,
      measured: `${((scale - 1) * 100).toFixed(1)}% (${bigRow.figures.rps} vs ${smallRow.figures.rps} req/s)`,
      met: scale >= 1 - TARGETS.scaleDrop,
    },
  ];
  const allRows = [...rows, ...pacedRows, ...(mqttRow ? [mqttRow] : []), ...pgRows];
  // The MQTT row loses up to 1 - MQTT.kept by design (QoS 0, open loop): judged by mqttFailure instead.
  const failedRows = allRows.filter((r) => r !== mqttRow && loadFailed(r.figures));

  const header = `${pad('server', 18)}${lpad('req/s', 8)}${lpad('p50 ms', 8)}${lpad('p99 ms', 8)}${lpad('max ms', 8)}${lpad('peak RSS', 10)}${lpad('CPU', 6)}${lpad('us/req', 8)}${lpad('loop', 6)}${lpad('stall', 7)}${lpad('other', 7)}${lpad('steal', 7)}${lpad('errors', 7)}  notes`;
  const lines = [header, '-'.repeat(header.length + 40)];
  const ms = (n: number, digits: number) => (Number.isFinite(n) ? n.toFixed(digits) : '-');
  for (const r of allRows) {
    const f = r.figures;
    const errors = f.non2xx + f.errors + f.notStored;
    lines.push(
      `${pad(r.name, 18)}${lpad(String(f.rps), 8)}${lpad(ms(f.p50Ms, 2), 8)}${lpad(ms(f.p99Ms, 2), 8)}${lpad(ms(f.maxMs, 1), 8)}${lpad(`${r.memory.peakRssMb} MB`, 10)}${lpad(`${r.serverCpuPct}%`, 6)}${lpad(String(r.cpuUsPerRequest), 8)}${lpad(`${r.loop.busyPct}%`, 6)}${lpad(r.loop.delayMaxMs.toFixed(0), 7)}${lpad(r.otherCpuPct === null ? '?' : `${r.otherCpuPct}%`, 7)}${lpad(r.stealPct === null ? '?' : `${r.stealPct}%`, 7)}${lpad(String(errors), 7)}  ${r.note}`,
    );
  }
  lines.push(
    'CPU = server process, % of one core; us/req = its CPU time per request, µs; loop = its event loop busy; stall = longest the loop was blocked, ms; other = every other process on the machine during the rounds; steal = CPU the hypervisor gave other VMs.',
  );
  if (pgRows.length) {
    lines.push(
      `PostgreSQL rows (PostgreSQL ${pgInfo.major ?? '?'}, durable: fsync and synchronous_commit on): CPU and us/req are every process's together, the plugin instances' and PostgreSQL's ` +
        '(postmaster and all its backends, /proc), the split per request in the notes; peak RSS, loop and stall: the plugin instance with the highest.',
    );
  } else if (pgSkipped) {
    lines.push(`PostgreSQL rows skipped: ${pgSkipped}.`);
  }
  if (mqttRow?.mqtt) {
    const m = mqttRow.mqtt;
    lines.push(
      `MQTT row: req/s = uplinks stored per s (plugin's /metrics) at the highest publish rate with >= ${m.keptShare * 100}% of a ${m.windowSec} s window stored; p50/p99/max = publish -> row committed, ` +
        `sampled (${MQTT.probesPerSec} uplinks/s of a device of their own, its bucket polled every ms in the plugin's database); us/req = plugin CPU per stored uplink (mosquitto's in the notes); errors = published but not stored. Steps: ` +
        m.steps.map((s) => `${s.ratePerSec}/s ${s.storedPct}%${s.kept ? '' : ' (not kept up)'}`).join(', ') +
        '.',
    );
    if (m.highestKeptRate === null) {
      lines.push(`WARNING: over MQTT the plugin stored less than ${m.keptShare * 100}% of the uplinks even at ${m.rates[0]}/s (the row shows that rate): QoS 0 drops what it cannot take.`);
    }
  } else if (mqttSkipped) {
    lines.push(`MQTT row skipped: ${mqttSkipped}.`);
  }
  const disturbed = allRows.filter((r) => (r.otherCpuPct ?? 0) >= 20);
  if (disturbed.length) {
    lines.push(`WARNING: other processes were busy during ${disturbed.map((r) => r.name).join(', ')}: those figures are unreliable; run again on a quiet machine.`);
  }
  const stolen = allRows.filter((r) => (r.stealPct ?? 0) >= 10);
  if (stolen.length) {
    lines.push(
      `WARNING: the hypervisor gave ${stolen.map((r) => `${r.stealPct}% (${r.name})`).join(', ')} of a core to other VMs: the host is busy, so those figures are low and unreliable.`,
    );
  }
  const loaderBound = [...rows, ...pgRows].filter((r) => r.loaderCpuPct >= 90);
  if (loaderBound.length) {
    lines.push(`NOTE: autocannon used ${loaderBound.map((r) => `${r.loaderCpuPct}% (${r.name})`).join(', ')} of its core: those servers may be faster than measured.`);
  }
  lines.push('');
  lines.push(`ratio plugin/bare (req/s): ${ratio.toFixed(3)}    100k/1k devices (req/s): ${scale.toFixed(3)}`);
  lines.push(
    `CPU per request: bare Koa ${bareRow.cpuUsPerRequest} µs, plugin ${smallRow.cpuUsPerRequest} µs (1k), ${bigRow.cpuUsPerRequest} µs (100k); bare/plugin ${cpuRatio.toFixed(3)}`,
  );
  const [pgRow, pgX2Row] = pgRows;
  const pgShare = pgRow ? pgRow.figures.rps / smallRow.figures.rps : null;
  const pgX2Share = pgRow && pgX2Row ? pgX2Row.figures.rps / pgRow.figures.rps : null;
  if (pgRow && pgShare !== null) {
    const split = (r: Row) => `plugin ${r.cpuSplit?.pluginUsPerRequest.join(' + ') ?? '?'} + pg ${r.cpuSplit?.pgUsPerRequest ?? '?'}`;
    lines.push(
      `PostgreSQL, one instance: ${pgRow.figures.rps} req/s = ${(pgShare * 100).toFixed(1)}% of plugin-1k on SQLite (${smallRow.figures.rps} req/s; the aim: >= ${PG_AIM * 100}%), ` +
        `p99 ${pgRow.figures.p99Ms} ms; CPU per request ${pgRow.cpuUsPerRequest} µs (${split(pgRow)}) vs ${smallRow.cpuUsPerRequest} µs on SQLite`,
    );
    if (pgX2Row && pgX2Share !== null) {
      lines.push(
        `PostgreSQL, two instances on one database: ${pgX2Row.figures.rps} req/s = ${(pgX2Share * 100).toFixed(1)}% of one instance (${((pgX2Row.figures.rps / smallRow.figures.rps) * 100).toFixed(1)}% of SQLite), ` +
          `p99 ${pgX2Row.figures.p99Ms} ms; CPU per request ${pgX2Row.cpuUsPerRequest} µs (${split(pgX2Row)})`,
      );
    }
  }
  if (isolateIdle) {
    lines.push(
      `RSS with ${APPS} applications' formatters: ${isolateIdle.rssMb} MB once loaded (one uplink per app; main heap ${isolateIdle.heapUsedMb} MB), ` +
        `${appsRow.memory.rssMb} MB after the load over all apps, peak ${appsRow.memory.peakRssMb} MB`,
    );
  }
  lines.push('');
  lines.push('targets:');
  const unreliable = disturbed.length > 0 || stolen.length > 0;
  if (unreliable) lines.push('  (measured on a busy machine, see the warnings: no verdict below can be trusted)');
  for (const t of targets) lines.push(`  [${t.met ? 'met' : 'NOT MET'}${unreliable ? '?' : ''}] ${pad(t.name, 50)} ${t.measured}`);

  for (const profile of profiles) {
    lines.push('');
    lines.push(
      `CPU profile ${profile.server}: ${profile.busyMs} ms busy of ${profile.totalMs} ms${profile.windowed ? ' (measured window only)' : ' (whole process)'}; self time, share of busy`,
    );
    lines.push('  by package / folder:');
    for (const h of profile.groups.slice(0, 10)) lines.push(`    ${lpad(h.selfPct.toFixed(1), 5)}%  ${h.name}`);
    lines.push('  by function:');
    for (const h of profile.functions.slice(0, 15)) lines.push(`    ${lpad(h.selfPct.toFixed(1), 5)}%  ${h.name}`);
    lines.push(`  (open ${profile.file} in Chrome DevTools or speedscope)`);
  }

  const results = {
    date: new Date().toISOString(),
    mode: QUICK ? 'quick' : 'full',
    machine: { cpus: cpus().length, cpu: cpus()[0]?.model ?? '?', memoryMb: Math.round(totalmem() / 1024 / 1024), node: process.version },
    settings: {
      connections: CONNECTIONS,
      durationSec: DURATION_SEC,
      warmupSec: WARMUP_SEC,
      rounds: ROUNDS,
      loadDevices: LOAD_DEVICES,
      small: SMALL,
      big: BIG,
      apps: APPS,
      store: STORE_PG ? 'sqlite+postgres' : 'sqlite',
    },
    prepopulate: prepared,
    pacedRatePerSec: pacedRate,
    mqtt: { ran: mqttRow !== null, skipped: mqttSkipped, failure: mqttFailure, highestKeptRate: mqttRow?.mqtt?.highestKeptRate ?? null },
    ...(STORE_PG
      ? {
          postgres: {
            ran: pgRows.length > 0,
            skipped: pgSkipped,
            failure: pgFailure,
            major: pgInfo.major,
            settings: 'durable (PostgreSQL defaults: fsync, synchronous_commit, full_page_writes on)',
            copySeconds: pgInfo.copySeconds,
            // One instance's req/s over plugin-1k's (SQLite); two instances' over one's.
            shareOfSqlite: pgShare === null ? null : Math.round(pgShare * 1000) / 1000,
            aim: PG_AIM,
            x2ShareOfOne: pgX2Share === null ? null : Math.round(pgX2Share * 1000) / 1000,
          },
        }
      : {}),
    rows: allRows.map((r) => ({
      name: r.name,
      note: r.note,
      ...r.figures,
      memory: r.memory,
      serverCpuPct: r.serverCpuPct,
      cpuUsPerRequest: r.cpuUsPerRequest,
      loaderCpuPct: r.loaderCpuPct,
      otherCpuPct: r.otherCpuPct,
      stealPct: r.stealPct,
      loop: r.loop,
      deadLetters: r.deadLetters,
      ...(r.cpuSplit ? { cpuSplit: r.cpuSplit } : {}),
      ...(r.mqtt ? { mqtt: r.mqtt } : {}),
    })),
    ratio: Math.round(ratio * 1000) / 1000,
    cpuRatio: Math.round(cpuRatio * 1000) / 1000,
    scale: Math.round(scale * 1000) / 1000,
    isolatesIdle: isolateIdle,
    targets,
    reliable: !unreliable,
    failedRows: [...failedRows.map((r) => r.name), ...(mqttFailure ? ['plugin-mqtt'] : []), ...(pgFailure ? ['plugin-pg'] : [])],
    profiles,
    elapsedSec: Math.round((performance.now() - started) / 100) / 10,
  };
  writeFileSync(join(root, 'bench', 'results.json'), `${JSON.stringify(results, null, 2)}\n`);

  process.stdout.write(`\n${lines.join('\n')}\n\n`);
  if (failedRows.length) {
    process.stdout.write(
      `${'!'.repeat(72)}\nFAILED RUN: requests failed (non-2xx, errors, timeouts or not "stored") on: ${failedRows
        .map(
          (r) =>
            `${r.name} ${JSON.stringify(r.figures.statusCodes)} errors=${r.figures.errors} notStored=${r.figures.notStored} ${r.figures.samples.join(' | ')}` +
            (r.deadLetters.length ? ` dead letters: ${JSON.stringify(r.deadLetters)}` : ''),
        )
        .join('; ')}\n${'!'.repeat(72)}\n\n`,
    );
  }
  if (mqttFailure) {
    process.stdout.write(
      `${'!'.repeat(72)}\nFAILED RUN: the MQTT row: ${mqttFailure}` +
        (mqttRow?.deadLetters.length ? ` dead letters: ${JSON.stringify(mqttRow.deadLetters)}` : '') +
        `\n${'!'.repeat(72)}\n\n`,
    );
  }
  if (pgFailure) {
    process.stdout.write(`${'!'.repeat(72)}\nFAILED RUN: the PostgreSQL rows: ${pgFailure}\n${'!'.repeat(72)}\n\n`);
  }
  process.stdout.write(`figures written to bench/results.json (${elapsed()})\n`);
  process.stdout.write('formatter sandbox bench (part of the report): npm run bench:sandbox\n');
  if (KEEP_DATA) process.stdout.write(`data kept in ${tmp}\n`);
  return failedRows.length || mqttFailure || pgFailure ? 1 : 0;
}

const watchdog = setTimeout(() => {
  process.stderr.write(`\nbench: time limit (${TIME_LIMIT_MS / 1000} s) reached; killing the servers\n`);
  killAllChildren();
  removeData();
  process.exit(2);
}, TIME_LIMIT_MS);
watchdog.unref();
process.on('exit', () => killAllChildren());
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    killAllChildren();
    process.exit(130);
  });
}

main().then(
  (code) => {
    clearTimeout(watchdog);
    process.exit(code);
  },
  (err: unknown) => {
    process.stderr.write(`\nbench FAILED: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    killAllChildren();
    process.exit(1);
  },
);
