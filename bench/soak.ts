/**
 * Soak: `npm run bench -- --soak N` drives the plugin (its own child process, `npm start`'s node
 * flags) for N minutes with steady mixed traffic and reports, minute by minute, the RSS of the
 * plugin and of its formatter processes, the plugin's event-loop lag, requests/s by kind and
 * unexpected answers; at the end a verdict whether memory and lag stayed flat.
 *
 * The traffic, all open loop at fixed rates (a request's latency counts from when it was due):
 *   - uplinks from STABLE_APPS.length applications x DEVICES_PER_APP devices, picked at random: Thinger-style
 *     formatters, TTS-style decodeUplink ones, and one that throws on every FLAKY_EVERY-th f_cnt (dead letters);
 *     the rate is UPLINK_SHARE of what the plugin took at full speed just before (or `--rate`);
 *   - downlinks queued through POST /api/devices/{id}/messages (half of them confirmed) to random
 *     devices; the plugin pushes them to a TTS stand-in on loopback (the devices' X-Downlink-* URLs
 *     point at it), which answers 200 and sends downlink_queued, downlink_sent and, when confirmed,
 *     downlink_ack back as webhooks, as TTS does;
 *   - API reads: device lists, bucket data, events, a device's messages, dead letters; /metrics and /healthz;
 *   - formatter churn every 10-20 s: a profile's formatter replaced by a new version (new code each
 *     time, so compiled scripts are replaced); every third time a profile is created instead (traffic
 *     to its devices starts) and, with two such already live, the oldest one deleted (traffic stops first).
 *
 * Per minute (per half minute with `--soak 1`): RSS from /proc of the plugin and of its child
 * processes (the formatter processes and the spare), the plugin's event-loop delay (perf_hooks'
 * monitorEventLoopDelay inside the plugin process, reset every period, see bench/ipc.ts), its busy
 * share and CPU, compiled scripts in the formatter processes, requests/s by kind and errors.
 */
import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Pool, type Dispatcher } from 'undici';
import { START_NODE_FLAGS } from '../plugin/project-files.js';
import { processUsage } from '../sandbox/process-usage.js';
import { killAllChildren, ServerChild, type MemoryReport } from './children.js';
import { LOOP_RESOLUTION_MS } from './ipc.js';
import { runLoad } from './load.js';
import { benchDevice, bodyTemplate, FIRST_BENCH_FCNT, projectRoot, WEBHOOK_PATH, type BenchDevice, type BodyTemplate } from './uplinks.js';
import { lpad, pad } from './columns.js';
import { rng } from './rng.js';

// ---- settings

const ADMIN_TOKEN = 'bench-admin-token-0123456789abcdef';
type Style = 'thinger' | 'tts' | 'flaky';
const STABLE_APPS: { id: string; style: Style }[] = [
  { id: 'soak-thinger-a', style: 'thinger' },
  { id: 'soak-thinger-b', style: 'thinger' },
  { id: 'soak-thinger-c', style: 'thinger' },
  { id: 'soak-tts-a', style: 'tts' },
  { id: 'soak-tts-b', style: 'tts' },
  { id: 'soak-flaky', style: 'flaky' },
];
/** Profiles that come and go (created, used, deleted, later created again: their devices stay). */
const TEMP_APP_IDS = ['soak-temp-0', 'soak-temp-1', 'soak-temp-2'];
const TEMP_APPS_LIVE = 2;
const DEVICES_PER_APP = 200;
const DEVICES_PER_TEMP_APP = 50;
/** The flaky formatter throws when f_cnt is a multiple of this (~1 in FLAKY_EVERY of its uplinks). */
const FLAKY_EVERY = 20;
/** Uplink rate: this share of the plugin's full-speed throughput, measured first (closed loop, autocannon). */
const UPLINK_SHARE = 0.2;
const CALIBRATION = { connections: 50, warmupSec: 2, durationSec: 5 };
/** Downlinks queued through the API per uplink (at least one a second). */
const DOWNLINKS_PER_UPLINK = 1 / 50;
const CONFIRMED_SHARE = 0.5;
/** API reads per second (device lists, bucket data, events, messages, dead letters, in turn). */
const READS_PER_SEC = 4;
const METRICS_EVERY_SEC = 10;
const HEALTHZ_EVERY_SEC = 5;
/** A formatter replaced (or a profile created / deleted) every this many seconds, at random. */
const CHURN_EVERY_SEC: [number, number] = [10, 20];
/** TTS's downlink events after a push, ms after the previous one: queued, sent, ack (confirmed only). */
const TTS_DELAYS_MS: [number, number][] = [
  [100, 300],
  [800, 1500],
  [300, 800],
];
const RSS_SAMPLE_MS = 5_000;
/** TTS gives a webhook 5 s and does not retry; API calls get 10 s. */
const WEBHOOK_TIMEOUT_MS = 5_000;
const API_TIMEOUT_MS = 10_000;
const CONNECTIONS = 32;

/** The verdict's thresholds (printed with it). */
const RULES = {
  rssGrowthMb: 10,
  rssGrowthPct: 5,
  lagFactor: 1.5,
  lagPlusMs: 2,
};

const here = dirname(fileURLToPath(import.meta.url));
const root = projectRoot();

// ---- small helpers

const started = performance.now();
const elapsed = () => `${((performance.now() - started) / 1000).toFixed(1)}s`;
const log = (message: string) => process.stdout.write(`[${elapsed()}] ${message}\n`);
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
const round1 = (n: number) => Math.round(n * 10) / 10;
const round2 = (n: number) => Math.round(n * 100) / 100;

const random = rng(20_250_416);
const between = ([lo, hi]: [number, number]) => lo + random() * (hi - lo);

function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = Float64Array.from(values).sort();
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

function median(values: number[]): number {
  return percentile(values, 50);
}

/** Least-squares slope of y over x. */
function slope(points: [number, number][]): number {
  if (points.length < 2) return NaN;
  const mx = points.reduce((n, [x]) => n + x, 0) / points.length;
  const my = points.reduce((n, [, y]) => n + y, 0) / points.length;
  const sxx = points.reduce((n, [x]) => n + (x - mx) ** 2, 0);
  const sxy = points.reduce((n, [x, y]) => n + (x - mx) * (y - my), 0);
  return sxx === 0 ? NaN : sxy / sxx;
}

/** Whole machine CPU so far, ms (Linux /proc/stat): busy, and stolen by the hypervisor for other VMs. */
function machineCpuMs(): { busy: number; steal: number } | null {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0];
    const [user, nice, system, , , irq, softirq, steal] = line.trim().split(/\s+/).slice(1).map(Number);
    return { busy: ((user + nice + system + irq + softirq) * 1000) / 100, steal: ((steal || 0) * 1000) / 100 };
  } catch {
    return null;
  }
}

/** Process ids whose parent is `ppid` (the plugin's formatter processes and its spare), from /proc. */
function childPids(ppid: number): number[] {
  const pids: number[] = [];
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return pids;
  }
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // Fields after the command name (which may hold spaces): state, ppid, ...
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(fields[1]) === ppid) pids.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return pids;
}

interface ProcSample {
  pluginRssMb: number;
  pluginCpuMs: number;
  /** The plugin's child processes: count, RSS each (MB), CPU so far (ms, those alive now). */
  helpers: { pid: number; rssMb: number; cpuMs: number }[];
}

function procSample(pid: number): ProcSample | null {
  const own = processUsage(pid);
  if (!own) return null;
  const helpers = childPids(pid).flatMap((p) => {
    const u = processUsage(p);
    return u ? [{ pid: p, rssMb: u.rssBytes / 1024 / 1024, cpuMs: u.cpuUs / 1000 }] : [];
  });
  return { pluginRssMb: own.rssBytes / 1024 / 1024, pluginCpuMs: own.cpuUs / 1000, helpers };
}

/** Prometheus text: the value of one series, e.g. `lorawan_bridge_downlinks_total{status="DELIVERED"}`. */
function metric(text: string, series: string): number | null {
  for (const line of text.split('\n')) {
    if (line.startsWith(series) && line.charAt(series.length) === ' ') return Number(line.slice(series.length + 1));
  }
  return null;
}

// ---- formatters

/** A formatter of the given style; `version` and a nonce make every version's code new. */
function formatterScript(style: Style, appId: string, version: number): string {
  const stamp = `// ${appId} version ${version} (${randomUUID()})`;
  if (style === 'tts') {
    return `${stamp}
function decodeUplink(input) {
  if (input.bytes.length < 4) return { errors: ['expected 4 bytes, got ' + input.bytes.length] };
  var raw = (input.bytes[0] << 8) | input.bytes[1];
  return {
    data: {
      temperature: (raw > 0x7fff ? raw - 0x10000 : raw) / 100,
      humidity: ((input.bytes[2] << 8) | input.bytes[3]) / 100,
      port: input.fPort,
      version: ${version}
    }
  };
}
function encodeDownlink(input) {
  var f = input.data.frequency;
  return { bytes: [input.data.enabled ? 1 : 0, (f >> 8) & 0xff, f & 0xff, input.data.threshold & 0xff], fPort: 10 };
}
`;
  }
  const flaky =
    style === 'flaky'
      ? `  if (message.uplink_message.f_cnt % ${FLAKY_EVERY} === 0) throw new Error('flaky sensor at f_cnt ' + message.uplink_message.f_cnt);\n`
      : '';
  return `${stamp}
module.exports.uplink = function (payload, message) {
${flaky}  const b = Buffer.from(payload, 'base64');
  return { temperature: b.readInt16BE(0) / 100, humidity: b.readUInt16BE(2) / 100, port: message.uplink_message.f_port, version: ${version} };
};
module.exports.downlink = function (payload) {
  const b = Buffer.alloc(4);
  b.writeUInt8(payload.enabled ? 1 : 0, 0);
  b.writeUInt16BE(payload.frequency, 1);
  b.writeUInt8(payload.threshold, 3);
  return b.toString('base64');
};
`;
}

// ---- traffic bookkeeping

const KINDS = ['uplink', 'tts-event', 'downlink', 'read', 'scrape', 'churn'] as const;
type Kind = (typeof KINDS)[number];

interface KindStats {
  count: number;
  errors: number;
  latencies: number[];
}

class Period {
  readonly kinds = new Map<Kind, KindStats>(KINDS.map((k) => [k, { count: 0, errors: 0, latencies: [] }]));
  deadLetters = 0;
  churn = { updates: 0, creates: 0, deletes: 0 };
  readonly startedAt = performance.now();
  readonly benchCpu = process.cpuUsage();
  readonly machine = machineCpuMs();

  of(kind: Kind): KindStats {
    return this.kinds.get(kind)!;
  }
}

interface App {
  id: string;
  style: Style;
  version: number;
  token: string;
  devices: BenchDevice[];
  templates: BodyTemplate[];
  /** Temporary profiles: no downlinks (they may be gone before TTS answers). */
  temporary: boolean;
}

interface Row {
  label: string;
  warmup: boolean;
  seconds: number;
  perSec: Record<Kind, number>;
  errors: number;
  errorsByKind: Partial<Record<Kind, number>>;
  deadLetters: number;
  churn: Period['churn'];
  uplinkP50Ms: number;
  uplinkP99Ms: number;
  apiP99Ms: number;
  /** Event-loop lag (recorded delay minus the sampling interval), ms, and busy share. */
  lag: { p50Ms: number; p99Ms: number; maxMs: number; busyPct: number };
  pluginRssMb: number;
  /** Mean of the RSS samples taken during the period (every RSS_SAMPLE_MS, and its end), MB. */
  pluginRssAvgMb: number;
  heapUsedMb: number;
  helperCount: number;
  helperRssMb: number;
  helperRssAvgMb: number;
  helperMaxRssMb: number;
  pluginCpuPct: number;
  helperCpuPct: number;
  benchCpuPct: number;
  /** Every other process on the machine (other sessions' builds and tests), % of one core. */
  otherCpuPct: number | null;
  stealPct: number | null;
  scripts: number | null;
  isolates: number | null;
  restarts: number | null;
}

// ---- the TTS stand-in

/** Fixture bodies of TTS's downlink events, by type. */
const EVENT_TYPES = ['downlink_queued', 'downlink_sent', 'downlink_ack'] as const;
type EventType = (typeof EVENT_TYPES)[number];

interface PushedDownlink {
  correlation_ids?: string[];
  confirmed?: boolean;
  f_port?: number;
  frm_payload?: string;
  decoded_payload?: unknown;
  priority?: string;
}

/**
 * The Things Stack's downlink API on loopback: takes the plugin's pushes (answering 200 with an empty
 * body, as TTS does) and tells `onPush` what came, so the events can go back as webhooks.
 */
class TtsStandIn {
  private server: Server | null = null;
  url = '';
  pushes = 0;
  refused = 0;
  readonly samples: string[] = [];

  constructor(
    private readonly apiKeyOf: (appId: string) => string | null,
    private readonly onPush: (appId: string, ttsDeviceId: string, downlinks: PushedDownlink[]) => void,
  ) {}

  async start(): Promise<void> {
    this.server = createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const m = /^\/api\/v3\/as\/applications\/([^/]+)\/webhooks\/[^/]+\/devices\/([^/]+)\/down\/(push|replace)$/.exec(req.url ?? '');
    const answer = (status: number, body: string, why?: string) => {
      if (why) {
        this.refused++;
        if (this.samples.length < 5) this.samples.push(`${req.method} ${req.url}: ${why}`);
      }
      res.writeHead(status, { 'Content-Type': 'application/json' });
      res.end(body);
    };
    if (req.method !== 'POST' || !m) return answer(404, '{"code":5,"message":"not found"}', 'not a TTS downlink URL');
    const key = this.apiKeyOf(m[1]);
    if (!key || req.headers.authorization !== `Bearer ${key}`) return answer(401, '{"code":16,"message":"unauthenticated"}', 'wrong API key');
    let downlinks: PushedDownlink[];
    try {
      downlinks = (JSON.parse(Buffer.concat(chunks).toString('utf8')) as { downlinks?: PushedDownlink[] }).downlinks ?? [];
    } catch {
      return answer(400, '{"code":3,"message":"invalid body"}', 'body is not JSON');
    }
    this.pushes++;
    answer(200, '');
    this.onPush(m[1], m[2], downlinks);
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}

// ---- the run

export function soakUsage(): string {
  return 'usage: npm run bench -- --soak MINUTES [--rate UPLINKS_PER_SEC] [--keep-data]';
}

/** Parses `--soak N [--rate R] [--keep-data]`; throws with the usage on anything else. */
function parseArgs(args: string[]): { minutes: number; rate: number | null; keepData: boolean } {
  let minutes: number | null = null;
  let rate: number | null = null;
  let keepData = false;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    const value = () => {
      const v = args[++i];
      if (v === undefined || !/^\d+$/.test(v)) throw new Error(`${arg} needs a whole number\n${soakUsage()}`);
      return Number(v);
    };
    if (arg === '--soak') minutes = value();
    else if (arg === '--rate') rate = value();
    else if (arg === '--keep-data') keepData = true;
    else throw new Error(`unknown argument ${arg} with --soak\n${soakUsage()}`);
  }
  if (minutes === null || minutes < 1 || minutes > 24 * 60) throw new Error(`--soak takes 1..1440 minutes\n${soakUsage()}`);
  if (rate !== null && rate < 1) throw new Error(`--rate must be at least 1\n${soakUsage()}`);
  return { minutes, rate, keepData };
}

export async function soak(args: string[]): Promise<number> {
  let options: ReturnType<typeof parseArgs>;
  try {
    options = parseArgs(args);
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n`);
    return 64;
  }
  const { minutes, keepData } = options;
  /** With one minute there is no minute to spare for warming up: two half minutes instead. */
  const periodMs = minutes === 1 ? 30_000 : 60_000;
  const periods = (minutes * 60_000) / periodMs;
  /** The first minute warms up (not in the verdict) when there are at least three. */
  const warmupPeriods = minutes >= 3 ? 1 : 0;

  const tmp = mkdtempSync(join(tmpdir(), 'plugin-soak-'));
  const cleanup = () => {
    killAllChildren();
    if (!keepData) rmSync(tmp, { recursive: true, force: true });
  };
  // The soak ends itself after its minutes plus set-up and drain, whatever happens.
  const watchdog = setTimeout(
    () => {
      process.stderr.write('\nsoak: time limit reached; killing the plugin\n');
      cleanup();
      process.exit(2);
    },
    minutes * 60_000 + 240_000,
  );
  watchdog.unref();
  process.on('exit', () => killAllChildren());
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      cleanup();
      process.exit(130);
    });
  }

  const apps = new Map<string, App>();
  const apiKeyOf = (appId: string) => `NNSXS.SOAK${appId.toUpperCase().replace(/[^A-Z0-9]/g, '')}.SECRETSECRETSECRETSECRETSECRETSECRET`;
  let plugin: ServerChild | null = null;
  let pool: Pool | null = null;
  let tts: TtsStandIn | null = null;
  try {
    log(`soak: ${minutes} min of mixed traffic, a row every ${periodMs / 1000} s${warmupPeriods ? ', the first minute warms up' : ''}; data in ${tmp}`);
    const dataDir = join(tmp, 'plugin');
    mkdirSync(dataDir);
    plugin = await ServerChild.start('plugin-soak', join(here, 'server-plugin.js'), {
      PLUGIN_DATA_DIR: dataDir,
      PLUGIN_PORT: '0',
      PLUGIN_HOST: '127.0.0.1',
      PLUGIN_ADMIN_TOKEN: ADMIN_TOKEN,
      PLUGIN_LOG_LEVEL: 'silent',
      PLUGIN_PUBLIC_URL: 'https://bridge.example.com',
      // The devices' downlink URLs point at the TTS stand-in on 127.0.0.1.
      PLUGIN_TTS_ALLOW_PRIVATE: 'true',
    }, [...START_NODE_FLAGS]);
    const server = plugin;
    const pluginPid = server.pid!;
    pool = new Pool(server.url, { connections: CONNECTIONS, pipelining: 1 });
    const http = pool;

    // ---- requests, counted in the period they end in

    let period = new Period();
    const errorSamples: string[] = [];
    let inFlight = 0;
    /** Requests answered by kind, over the whole run (set-up included). */
    const totals = new Map<Kind, number>();
    const fCnt = { next: FIRST_BENCH_FCNT };

    /**
     * One request. `check` says what is wrong with an answer (null: as expected). Counted under
     * `kind` (null: set-up, not counted) with its latency from `dueAt`.
     */
    const request = async (
      kind: Kind | null,
      method: string,
      path: string,
      o: { headers?: Record<string, string>; body?: string; dueAt?: number; check?: (status: number, text: string) => string | null } = {},
    ): Promise<{ status: number; text: string } | null> => {
      const dueAt = o.dueAt ?? performance.now();
      const webhook = kind === 'uplink' || kind === 'tts-event';
      const timeout = webhook ? WEBHOOK_TIMEOUT_MS : API_TIMEOUT_MS;
      // Webhooks carry their own headers (the application's token); API calls the admin token.
      const headers = webhook
        ? (o.headers ?? {})
        : { Authorization: `Bearer ${ADMIN_TOKEN}`, ...(o.body !== undefined ? { 'Content-Type': 'application/json' } : {}), ...o.headers };
      inFlight++;
      let problem: string | null;
      let answer: { status: number; text: string } | null = null;
      try {
        const res = await http.request({
          method: method as Dispatcher.HttpMethod,
          path,
          headers,
          ...(o.body !== undefined ? { body: o.body } : {}),
          headersTimeout: timeout,
          bodyTimeout: timeout,
        });
        answer = { status: res.statusCode, text: await res.body.text() };
        problem = o.check ? o.check(answer.status, answer.text) : answer.status >= 200 && answer.status < 300 ? null : `HTTP ${answer.status}`;
      } catch (err) {
        problem = `error: ${err instanceof Error ? err.message : String(err)}`;
      } finally {
        inFlight--;
      }
      if (kind) {
        totals.set(kind, (totals.get(kind) ?? 0) + 1);
        const s = period.of(kind);
        s.count++;
        s.latencies.push(performance.now() - dueAt);
        if (problem) s.errors++;
      }
      if (problem) {
        if (errorSamples.length < 12) errorSamples.push(`${kind ?? 'set-up'} ${method} ${path}: ${problem}${answer ? ` ${answer.text.slice(0, 200)}` : ''}`);
        if (!kind) throw new Error(`${method} ${path}: ${problem}${answer ? ` ${answer.text.slice(0, 300)}` : ''}`);
      }
      return answer;
    };

    // ---- the TTS stand-in and its downlink events

    const eventBodies = new Map<EventType, string>(EVENT_TYPES.map((t) => [t, readFileSync(join(root, `test/fixtures/tts/${t}.json`), 'utf8')]));
    const pendingEvents = new Set<NodeJS.Timeout>();
    const ttsEvent = (type: EventType, app: App, device: BenchDevice, d: PushedDownlink, dueAt: number) => {
      const body = JSON.parse(eventBodies.get(type)!) as Record<string, any>;
      body.end_device_ids.device_id = device.ttsDeviceId;
      body.end_device_ids.application_ids.application_id = app.id;
      body.end_device_ids.dev_eui = device.devEui;
      const correlation = [...(d.correlation_ids ?? []), `as:downlink:${randomUUID()}`];
      body.correlation_ids = correlation;
      body.received_at = new Date().toISOString();
      Object.assign(body[type], { correlation_ids: correlation, confirmed: d.confirmed ?? false, f_port: d.f_port, priority: d.priority });
      if (d.frm_payload !== undefined) body[type].frm_payload = d.frm_payload;
      void request('tts-event', 'POST', `/tts/webhook/${type.replace('_', '-')}`, {
        dueAt,
        headers: { ...uplinkHeaders(app, device) },
        body: JSON.stringify(body),
        check: (status, text) => (status === 200 && text.includes('"status":"recorded"') ? null : `HTTP ${status}`),
      });
    };
    const later = (ms: number, run: (dueAt: number) => void) => {
      const dueAt = performance.now() + ms;
      const timer = setTimeout(() => {
        pendingEvents.delete(timer);
        run(dueAt);
      }, ms);
      pendingEvents.add(timer);
    };
    tts = new TtsStandIn(
      (appId) => (apps.has(appId) ? apiKeyOf(appId) : null),
      (appId, ttsDeviceId, downlinks) => {
        const app = apps.get(appId);
        const device = app?.devices.find((d) => d.ttsDeviceId === ttsDeviceId);
        if (!app || !device) return;
        for (const d of downlinks) {
          const queued = between(TTS_DELAYS_MS[0]);
          const sent = queued + between(TTS_DELAYS_MS[1]);
          later(queued, (dueAt) => ttsEvent('downlink_queued', app, device, d, dueAt));
          later(sent, (dueAt) => ttsEvent('downlink_sent', app, device, d, dueAt));
          if (d.confirmed) later(sent + between(TTS_DELAYS_MS[2]), (dueAt) => ttsEvent('downlink_ack', app, device, d, dueAt));
        }
      },
    );
    await tts.start();
    const standIn = tts;

    /** The headers TTS sends with every webhook of a device: the app's token and the downlink URLs. */
    const uplinkHeaders = (app: App, d: BenchDevice): Record<string, string> => {
      const base = `${standIn.url}/api/v3/as/applications/${app.id}/webhooks/lorawan-bridge/devices/${d.ttsDeviceId}/down`;
      return {
        'Content-Type': 'application/json',
        Authorization: `Bearer ${app.token}`,
        'User-Agent': 'TheThingsStack/3.34.0 (linux/amd64)',
        'X-Tts-Domain': 'eu1.cloud.thethings.network',
        'X-Downlink-Apikey': apiKeyOf(app.id),
        'X-Downlink-Push': `${base}/push`,
        'X-Downlink-Replace': `${base}/replace`,
      };
    };

    // ---- profiles

    const putProfile = async (kind: Kind | null, app: Pick<App, 'id' | 'style' | 'version'>, expect: number[]) =>
      request(kind, 'PUT', `/api/profiles/${app.id}`, {
        body: JSON.stringify({ formatter: { type: 'javascript', script: formatterScript(app.style, app.id, app.version) } }),
        check: (status) => (expect.includes(status) ? null : `HTTP ${status}, expected ${expect.join(' or ')}`),
      });
    const webhookToken = async (kind: Kind | null, appId: string): Promise<string> => {
      const answer = await request(kind, 'GET', `/api/profiles/${appId}/webhook`);
      const auth = answer ? (JSON.parse(answer.text) as { headers?: { Authorization?: string } }).headers?.Authorization : undefined;
      if (!auth?.startsWith('Bearer ')) throw new Error(`GET /api/profiles/${appId}/webhook: no token`);
      return auth.slice('Bearer '.length);
    };
    const appNumber = new Map([...STABLE_APPS.map((a) => a.id), ...TEMP_APP_IDS].map((id, i) => [id, i + 1]));
    const addApp = async (kind: Kind | null, id: string, style: Style, temporary: boolean): Promise<App> => {
      const app: App = { id, style, version: 1, token: '', devices: [], templates: [], temporary };
      await putProfile(kind, app, [201]);
      app.token = await webhookToken(kind, id);
      const count = temporary ? DEVICES_PER_TEMP_APP : DEVICES_PER_APP;
      // Device indices of their own per application (a DevEUI belongs to one application).
      app.devices = Array.from({ length: count }, (_, i) => benchDevice(appNumber.get(id)! * 10_000 + i, id));
      app.templates = app.devices.map((d) => ({ ...bodyTemplate(d, app.token), headers: uplinkHeaders(app, d) }));
      apps.set(id, app);
      return app;
    };

    // ---- uplinks: one list of (app, template) to pick from at random, rebuilt when apps come and go

    let senders: { app: App; t: BodyTemplate; device: BenchDevice }[] = [];
    const rebuildSenders = () => {
      senders = [...apps.values()].flatMap((app) => app.templates.map((t, i) => ({ app, t, device: app.devices[i] })));
    };
    const uplinkCheck = (app: App) => (status: number, text: string) => {
      if (status !== 200) return `HTTP ${status}`;
      if (text.includes('"status":"stored"')) return null;
      if (app.style === 'flaky' && text.includes('"status":"dead_letter"')) {
        period.deadLetters++;
        return null;
      }
      return `not stored (${app.id})`;
    };
    const sendUplink = (s: (typeof senders)[number], dueAt?: number) =>
      request('uplink', 'POST', WEBHOOK_PATH, {
        ...(dueAt !== undefined ? { dueAt } : {}),
        headers: s.t.headers,
        body: s.t.head + fCnt.next++ + s.t.tail,
        check: uplinkCheck(s.app),
      });

    // ---- set-up: profiles, every device's first uplink (it brings the downlink URLs), calibration

    for (const a of STABLE_APPS) await addApp(null, a.id, a.style, false);
    rebuildSenders();
    log(`${STABLE_APPS.length} profiles (${STABLE_APPS.map((a) => `${a.id}: ${a.style}`).join(', ')}), ${senders.length} devices; TTS stand-in at ${standIn.url}`);
    {
      let next = 0;
      await Promise.all(
        Array.from({ length: 16 }, async () => {
          while (next < senders.length) await sendUplink(senders[next++]);
        }),
      );
    }
    const primed = period.of('uplink');
    if (primed.errors) throw new Error(`first uplinks failed: ${errorSamples.join(' | ')}`);

    let uplinkRate = options.rate;
    if (uplinkRate === null) {
      const templates = senders.filter((s) => s.app.style !== 'flaky').map((s) => s.t);
      const load = { url: server.url, connections: CALIBRATION.connections, templates, fCnt };
      await runLoad({ ...load, durationSec: CALIBRATION.warmupSec });
      const full = await runLoad({ ...load, durationSec: CALIBRATION.durationSec });
      const rps = full.requests / full.durationSec;
      uplinkRate = Math.max(20, Math.round((rps * UPLINK_SHARE) / 10) * 10);
      log(
        `full speed (autocannon, ${CALIBRATION.connections} connections, ${CALIBRATION.durationSec} s): ${Math.round(rps)} uplinks/s` +
          `${full.non2xx || full.errors ? ` (${full.non2xx} non-2xx, ${full.errors} errors)` : ''}; soaking at ${uplinkRate}/s (${UPLINK_SHARE * 100}%)`,
      );
    } else {
      log(`soaking at ${uplinkRate} uplinks/s (--rate)`);
    }
    const downlinkRate = Math.max(1, Math.round(uplinkRate * DOWNLINKS_PER_UPLINK));
    log(
      `per second: ${uplinkRate} uplinks, ${downlinkRate} downlinks (${CONFIRMED_SHARE * 100}% confirmed; 2-3 TTS events back each), ${READS_PER_SEC} API reads, ` +
        `/metrics every ${METRICS_EVERY_SEC} s, /healthz every ${HEALTHZ_EVERY_SEC} s; a formatter replaced or a profile created/deleted every ${CHURN_EVERY_SEC.join('-')} s`,
    );
    await sleep(3_000);

    // ---- the soak

    const rows: Row[] = [];
    const rssSamples: { sec: number; plugin: number; helpers: number }[] = [];
    let stopping = false;
    period = new Period();
    const t0 = performance.now();
    const secs = () => (performance.now() - t0) / 1000;
    await server.memory(); // resets the plugin's loop histogram
    let lastProc = procSample(pluginPid);
    const baseline = lastProc;
    if (baseline) {
      log(
        `start: plugin RSS ${round1(baseline.pluginRssMb)} MB, ${baseline.helpers.length} formatter processes ${round1(baseline.helpers.reduce((n, h) => n + h.rssMb, 0))} MB`,
      );
    }

    const downlinkApps = () => [...apps.values()].filter((a) => !a.temporary);
    let readTurn = 0;
    let downlinkCount = 0;
    const reads: (() => string)[] = [
      () => {
        const app = STABLE_APPS[readTurn % STABLE_APPS.length].id;
        return `/api/devices?app_id=${app}&limit=50`;
      },
      () => {
        // Devices of the lasting profiles: they all sent their first uplink (and got their bucket) in the set-up.
        const app = downlinkApps()[Math.floor(random() * downlinkApps().length)];
        return `/api/buckets/${app.devices[Math.floor(random() * app.devices.length)].devEui}/data?limit=20`;
      },
      () => '/api/events?limit=50',
      () => {
        const app = downlinkApps()[Math.floor(random() * downlinkApps().length)];
        return `/api/devices/${app.devices[Math.floor(random() * app.devices.length)].devEui}/messages?limit=10`;
      },
      () => '/api/dead-letters?app_id=soak-flaky&limit=20',
    ];
    const streams: { ratePerSec: number; sent: number; fire: (dueAt: number) => void }[] = [
      { ratePerSec: uplinkRate, sent: 0, fire: (dueAt) => void sendUplink(senders[Math.floor(random() * senders.length)], dueAt) },
      {
        ratePerSec: downlinkRate,
        sent: 0,
        fire: (dueAt) => {
          const list = downlinkApps();
          const app = list[Math.floor(random() * list.length)];
          const device = app.devices[Math.floor(random() * app.devices.length)];
          const n = downlinkCount++;
          void request('downlink', 'POST', `/api/devices/${device.devEui}/messages`, {
            dueAt,
            body: JSON.stringify({ message: { enabled: n % 2 === 0, frequency: 1 + (n % 1000), threshold: n % 200 }, confirmed: random() < CONFIRMED_SHARE }),
            check: (status, text) => {
              if (status !== 201) return `HTTP ${status}`;
              const result = (JSON.parse(text) as { result?: { status?: string; detail?: string } }).result;
              return result?.status === 'PENDING' && result.detail === 'submitted' ? null : `not submitted: ${JSON.stringify(result)}`;
            },
          });
        },
      },
      { ratePerSec: READS_PER_SEC, sent: 0, fire: (dueAt) => void request('read', 'GET', reads[readTurn++ % reads.length](), { dueAt }) },
      { ratePerSec: 1 / METRICS_EVERY_SEC, sent: 0, fire: (dueAt) => void request('scrape', 'GET', '/metrics', { dueAt }) },
      {
        ratePerSec: 1 / HEALTHZ_EVERY_SEC,
        sent: 0,
        fire: (dueAt) =>
          void request('scrape', 'GET', '/healthz', {
            dueAt,
            check: (status, text) => (status === 200 && text.includes('"status":"ok"') ? null : `HTTP ${status}`),
          }),
      },
    ];
    // The pacer: every stream's request i is due at t0 + i / rate.
    const tick = () => {
      if (stopping) return;
      const ms = performance.now() - t0;
      for (const s of streams) {
        const due = Math.floor((ms * s.ratePerSec) / 1000) + 1;
        while (s.sent < due) s.fire(t0 + (s.sent++ * 1000) / s.ratePerSec);
      }
      setTimeout(tick, 1);
    };
    tick();

    // Formatter churn; temporary profiles come and go.
    const liveTemp: App[] = [];
    let tempTurn = 0;
    let stableTurn = 0;
    let churnWake: (() => void) | null = null;
    const churnLoop = async () => {
      for (let n = 1; ; n++) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, between(CHURN_EVERY_SEC) * 1000);
          churnWake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        if (stopping) return;
        try {
          if (n % 3 === 0) {
            if (liveTemp.length >= TEMP_APPS_LIVE) {
              const old = liveTemp.shift()!;
              apps.delete(old.id);
              rebuildSenders();
              // Uplinks already sent to it are answered first.
              await sleep(2_000);
              await request('churn', 'DELETE', `/api/profiles/${old.id}`, { check: (status) => (status === 204 ? null : `HTTP ${status}`) });
              period.churn.deletes++;
            }
            let id = TEMP_APP_IDS[tempTurn++ % TEMP_APP_IDS.length];
            while (liveTemp.some((a) => a.id === id)) id = TEMP_APP_IDS[tempTurn++ % TEMP_APP_IDS.length];
            liveTemp.push(await addApp('churn', id, 'thinger', true));
            rebuildSenders();
            period.churn.creates++;
          } else {
            const app = apps.get(STABLE_APPS[stableTurn++ % STABLE_APPS.length].id)!;
            app.version++;
            await putProfile('churn', app, [200]);
            period.churn.updates++;
          }
        } catch (err) {
          // Counted as a churn error already; keep churning.
          if (errorSamples.length < 12) errorSamples.push(`churn: ${err instanceof Error ? err.message : String(err)}`);
        }
      }
    };
    const churning = churnLoop();

    const sampler = setInterval(() => {
      const s = procSample(pluginPid);
      if (s) rssSamples.push({ sec: secs(), plugin: s.pluginRssMb, helpers: s.helpers.reduce((n, h) => n + h.rssMb, 0) });
    }, RSS_SAMPLE_MS);

    // ---- period by period
    for (let k = 1; k <= periods; k++) {
      const wait = t0 + k * periodMs - performance.now();
      if (wait > 0) await sleep(wait);
      const done = period;
      period = new Period();
      const seconds = (performance.now() - done.startedAt) / 1000;
      const mem: MemoryReport = await server.memory();
      const proc = procSample(pluginPid);
      const machine = machineCpuMs();
      const bench = process.cpuUsage(done.benchCpu);
      const wallMs = seconds * 1000;
      const helperCpuMs = (p: ProcSample | null) => new Map((p?.helpers ?? []).map((h) => [h.pid, h.cpuMs]));
      const before = helperCpuMs(lastProc);
      // CPU of the helpers alive now, since the previous sample (a helper started meanwhile: all of its CPU).
      const helperCpu = (proc?.helpers ?? []).reduce((n, h) => n + h.cpuMs - (before.get(h.pid) ?? 0), 0);
      const perSec = Object.fromEntries(KINDS.map((kind) => [kind, round1(done.of(kind).count / seconds)])) as Record<Kind, number>;
      const errorsByKind: Partial<Record<Kind, number>> = {};
      for (const kind of KINDS) if (done.of(kind).errors) errorsByKind[kind] = done.of(kind).errors;
      const apiLatencies = [...done.of('read').latencies, ...done.of('downlink').latencies];
      const lag = (ms: number) => round2(Math.max(0, ms - LOOP_RESOLUTION_MS));
      const helperRssNow = proc ? proc.helpers.reduce((n, h) => n + h.rssMb, 0) : (mem.stats.helperRssMb ?? 0);
      const pluginRssNow = proc?.pluginRssMb ?? mem.rssMb - (mem.stats.helperRssMb ?? 0);
      rssSamples.push({ sec: secs(), plugin: pluginRssNow, helpers: helperRssNow });
      const inPeriod = rssSamples.filter((x) => x.sec > secs() - seconds - 0.5);
      const mean = (f: (x: (typeof rssSamples)[number]) => number) => inPeriod.reduce((n, x) => n + f(x), 0) / inPeriod.length;
      const pluginCpuPct = proc && lastProc ? Math.round(((proc.pluginCpuMs - lastProc.pluginCpuMs) / wallMs) * 100) : 0;
      const helperCpuPct = Math.round((helperCpu / wallMs) * 100);
      const benchCpuPct = Math.round(((bench.user + bench.system) / 1000 / wallMs) * 100);
      const row: Row = {
        label: minutes === 1 ? `0:${String((k * periodMs) / 1000).padStart(2, '0')}`.replace('0:60', '1:00') : `min ${k}`,
        warmup: k <= warmupPeriods,
        seconds: round1(seconds),
        perSec,
        errors: KINDS.reduce((n, kind) => n + done.of(kind).errors, 0),
        errorsByKind,
        deadLetters: done.deadLetters,
        churn: done.churn,
        uplinkP50Ms: round2(percentile(done.of('uplink').latencies, 50)),
        uplinkP99Ms: round2(percentile(done.of('uplink').latencies, 99)),
        apiP99Ms: round2(percentile(apiLatencies, 99)),
        lag: { p50Ms: lag(mem.loop.delayP50Ms), p99Ms: lag(mem.loop.delayP99Ms), maxMs: lag(mem.loop.delayMaxMs), busyPct: mem.loop.busyPct },
        pluginRssMb: round1(pluginRssNow),
        pluginRssAvgMb: round1(mean((x) => x.plugin)),
        heapUsedMb: mem.heapUsedMb,
        helperCount: proc?.helpers.length ?? 0,
        helperRssMb: round1(helperRssNow),
        helperRssAvgMb: round1(mean((x) => x.helpers)),
        helperMaxRssMb: round1(Math.max(0, ...(proc?.helpers ?? []).map((h) => h.rssMb))),
        pluginCpuPct,
        helperCpuPct,
        benchCpuPct,
        otherCpuPct:
          machine && done.machine
            ? Math.max(0, Math.round(((machine.busy - done.machine.busy) / wallMs) * 100) - pluginCpuPct - helperCpuPct - benchCpuPct)
            : null,
        stealPct: machine && done.machine ? Math.round(((machine.steal - done.machine.steal) / wallMs) * 100) : null,
        scripts: mem.stats.scripts ?? null,
        isolates: mem.stats.isolates ?? null,
        restarts: mem.stats.restarts ?? null,
      };
      lastProc = proc;
      rows.push(row);
      log(
        `${row.label}${row.warmup ? ' (warm-up)' : ''}: ${perSec.uplink} uplinks/s (p99 ${row.uplinkP99Ms} ms), ${perSec.downlink} downlinks/s, ${perSec['tts-event']} TTS events/s, ` +
          `${perSec.read} reads/s, churn ${row.churn.updates}/${row.churn.creates}/${row.churn.deletes}, ${row.deadLetters} dead letters, ${row.errors} errors; ` +
          `plugin RSS ${row.pluginRssMb} MB (heap ${row.heapUsedMb}), ${row.helperCount} formatter processes ${row.helperRssMb} MB; ` +
          `loop lag p50 ${row.lag.p50Ms} p99 ${row.lag.p99Ms} max ${row.lag.maxMs} ms, busy ${row.lag.busyPct}%`,
      );
    }

    // ---- stop the traffic, let answers and TTS's last events come in
    stopping = true;
    clearInterval(sampler);
    (churnWake as (() => void) | null)?.();
    await churning;
    const drainUntil = performance.now() + 15_000;
    while ((inFlight > 0 || pendingEvents.size > 0) && performance.now() < drainUntil) await sleep(100);
    const drained = period;
    await sleep(1_500); // the plugin's last writes and events
    const metrics = await request(null, 'GET', '/metrics');
    const metricsText = metrics?.text ?? '';
    const health = await request(null, 'GET', '/healthz');
    const formatterHealth = health ? (JSON.parse(health.text) as { details?: { formatters?: Record<string, unknown> } }).details?.formatters : undefined;

    // ---- report

    const lines: string[] = [];
    const kindsShort: Record<Kind, string> = { uplink: 'up/s', 'tts-event': 'tts-ev/s', downlink: 'dl/s', read: 'read/s', scrape: 'scrape/s', churn: 'churn' };
    const traffic = `${pad('period', 11)}${KINDS.filter((k) => k !== 'churn').map((k) => lpad(kindsShort[k], 10)).join('')}${lpad('churn u/c/d', 13)}${lpad('dead-l.', 9)}${lpad('errors', 8)}${lpad('up p50/p99 ms', 16)}${lpad('api p99', 9)}${lpad('gen CPU', 9)}`;
    lines.push('traffic (requests/s by kind, answered in the period; latency from when each request was due):');
    lines.push(traffic, '-'.repeat(traffic.length));
    for (const r of rows) {
      lines.push(
        `${pad(r.label + (r.warmup ? '*' : ''), 11)}${KINDS.filter((k) => k !== 'churn').map((k) => lpad(String(r.perSec[k]), 10)).join('')}` +
          `${lpad(`${r.churn.updates}/${r.churn.creates}/${r.churn.deletes}`, 13)}${lpad(String(r.deadLetters), 9)}${lpad(String(r.errors), 8)}` +
          `${lpad(`${r.uplinkP50Ms.toFixed(2)}/${r.uplinkP99Ms.toFixed(2)}`, 16)}${lpad(r.apiP99Ms.toFixed(1), 9)}${lpad(`${r.benchCpuPct}%`, 9)}`,
      );
    }
    lines.push('');
    const resources = `${pad('period', 11)}${lpad('plugin RSS end/avg', 20)}${lpad('heap', 7)}${lpad('fmt RSS end/avg (n, max)', 28)}${lpad('lag p50', 9)}${lpad('p99', 7)}${lpad('max', 8)}${lpad('busy', 6)}${lpad('CPU plugin/fmt', 16)}${lpad('other', 7)}${lpad('steal', 7)}${lpad('scripts', 9)}${lpad('isolates', 10)}${lpad('restarts', 10)}`;
    lines.push(
      `resources (RSS at the end of the period and its mean over samples every ${RSS_SAMPLE_MS / 1000} s, MB; event-loop lag in the plugin process over the period, ms; CPU % of one core):`,
    );
    lines.push(resources, '-'.repeat(resources.length));
    if (baseline) {
      lines.push(
        `${pad('start', 11)}${lpad(round1(baseline.pluginRssMb).toFixed(1), 20)}${lpad('', 7)}${lpad(`${round1(baseline.helpers.reduce((n, h) => n + h.rssMb, 0)).toFixed(1)} (${baseline.helpers.length})`, 28)}`,
      );
    }
    for (const r of rows) {
      lines.push(
        `${pad(r.label + (r.warmup ? '*' : ''), 11)}${lpad(`${r.pluginRssMb.toFixed(1)}/${r.pluginRssAvgMb.toFixed(1)}`, 20)}${lpad(r.heapUsedMb.toFixed(1), 7)}` +
          `${lpad(`${r.helperRssMb.toFixed(1)}/${r.helperRssAvgMb.toFixed(1)} (${r.helperCount}, ${r.helperMaxRssMb.toFixed(0)})`, 28)}` +
          `${lpad(r.lag.p50Ms.toFixed(2), 9)}${lpad(r.lag.p99Ms.toFixed(2), 7)}${lpad(r.lag.maxMs.toFixed(1), 8)}${lpad(`${r.lag.busyPct}%`, 6)}` +
          `${lpad(`${r.pluginCpuPct}/${r.helperCpuPct}%`, 16)}${lpad(r.otherCpuPct === null ? '?' : `${r.otherCpuPct}%`, 7)}${lpad(r.stealPct === null ? '?' : `${r.stealPct}%`, 7)}${lpad(String(r.scripts ?? '?'), 9)}${lpad(String(r.isolates ?? '?'), 10)}${lpad(String(r.restarts ?? '?'), 10)}`,
      );
    }
    lines.push(
      `${warmupPeriods ? '* warm-up, not in the verdict. ' : ''}lag = monitorEventLoopDelay (${LOOP_RESOLUTION_MS} ms sampling) in the plugin process minus its ${LOOP_RESOLUTION_MS} ms interval; ` +
        "fmt = the plugin's child processes from /proc (formatter processes, the spare, and the scratch process that checks saved formatters); " +
        'other = CPU of every other process on the machine; scripts/isolates = compiled scripts and isolates in the formatter processes ' +
        '(scripts grow with churn until each application holds its last few versions, maxScriptsPerApp).',
    );

    // Totals, from the plugin's own counters.
    const m = (series: string) => metric(metricsText, series) ?? NaN;
    const downlinksCreated = totals.get('downlink') ?? 0;
    lines.push('');
    lines.push(
      `plugin counters (/metrics, whole run incl. set-up): uplinks stored ${m('lorawan_bridge_uplinks_total{outcome="stored"}')}, dead letters ${m('lorawan_bridge_uplinks_total{outcome="dead_letter"}')}, ` +
        `duplicates ${m('lorawan_bridge_uplinks_total{outcome="duplicate"}')}; formatter runtime errors ${m('lorawan_bridge_uplink_formatter_calls_total{result="runtime"}')}, ` +
        `timeouts ${m('lorawan_bridge_uplink_formatter_calls_total{result="timeout"}')}, crashes ${m('lorawan_bridge_uplink_formatter_calls_total{result="crash"}')}; ` +
        `webhooks refused ${['unauthorized', 'invalid_body', 'other_4xx'].map((r) => m(`lorawan_bridge_webhooks_rejected_total{reason="${r}"}`)).join('/')} (401/400/other)`,
    );
    const delivered = m('lorawan_bridge_downlinks_total{status="DELIVERED"}');
    const pending = m('lorawan_bridge_downlinks_pending');
    lines.push(
      `downlinks: ${downlinksCreated} queued through the API, TTS stand-in took ${standIn.pushes} pushes (${standIn.refused} refused${standIn.samples.length ? `: ${standIn.samples.join(' | ')}` : ''}); ` +
        `plugin: ${m('lorawan_bridge_downlinks_total{status="PENDING"}')} created, ${delivered} delivered, ${m('lorawan_bridge_downlinks_total{status="FAILED"}')} failed, ` +
        `${m('lorawan_bridge_downlinks_total{status="TIMEOUT"}')} timed out, ${pending} still pending`,
    );
    lines.push(`formatter pool at the end (/healthz): ${JSON.stringify(formatterHealth ?? null)}`);
    if (drained.of('uplink').count + drained.of('tts-event').count + drained.of('downlink').count > 0) {
      lines.push(
        `after the last period (drain): ${KINDS.map((k) => `${drained.of(k).count} ${k}`).join(', ')}; ${KINDS.reduce((n, k) => n + drained.of(k).errors, 0)} errors`,
      );
    }

    // ---- verdict
    const measured = rows.filter((r) => !r.warmup);
    const ref = measured[0];
    const last = measured[measured.length - 1];
    const allowed = (mb: number) => Math.max(RULES.rssGrowthMb, (mb * RULES.rssGrowthPct) / 100);
    // Means over each period's samples: one sample at a period's end is as much GC timing as memory.
    const pluginGrowth = last.pluginRssAvgMb - ref.pluginRssAvgMb;
    const pluginFlat = pluginGrowth <= allowed(ref.pluginRssAvgMb);
    // A formatter process replaced in between starts small again: compare only the same processes.
    const sameHelpers = last.helperCount === ref.helperCount && last.restarts === ref.restarts;
    const helperGrowth = last.helperRssAvgMb - ref.helperRssAvgMb;
    const helperFlat = !sameHelpers || helperGrowth <= allowed(ref.helperRssAvgMb);
    const k = Math.max(1, Math.floor(measured.length / 3));
    const earlyLag = median(measured.slice(0, k).map((r) => r.lag.p99Ms));
    const lateLag = median(measured.slice(-k).map((r) => r.lag.p99Ms));
    const lagLimit = Math.max(earlyLag * RULES.lagFactor, earlyLag + RULES.lagPlusMs);
    const lagFlat = lateLag <= lagLimit;
    const errors = rows.reduce((n, r) => n + r.errors, 0) + KINDS.reduce((n, kind) => n + drained.of(kind).errors, 0);
    const after = rssSamples.filter((s) => s.sec > warmupPeriods * (periodMs / 1000));
    const pluginSlope = slope(after.map((s) => [s.sec / 60, s.plugin]));
    const helperSlope = slope(after.map((s) => [s.sec / 60, s.helpers]));
    const refName = ref.label;
    const lastName = last.label;
    const sign = (n: number) => `${n >= 0 ? '+' : ''}${round1(n)}`;
    const flat = pluginFlat && helperFlat && lagFlat;
    lines.push('');
    lines.push(
      `verdict rule: RSS is flat when its mean over the period grew by at most max(${RULES.rssGrowthMb} MB, ${RULES.rssGrowthPct}%) from ${refName} to ${lastName} ` +
        `(the plugin; and its formatter processes together, unless one was replaced in between); lag is flat when the median p99 lag of the last ${k} period(s) is at most ` +
        `max(${RULES.lagFactor} x, +${RULES.lagPlusMs} ms) that of the first ${k} measured period(s)${warmupPeriods ? ' (the first minute is warm-up)' : ' (no warm-up skipped in so short a run)'}.`,
    );
    lines.push(
      `  plugin RSS:              ${ref.pluginRssAvgMb} -> ${last.pluginRssAvgMb} MB (${sign(pluginGrowth)} MB, limit +${round1(allowed(ref.pluginRssAvgMb))}): ${pluginFlat ? 'flat' : 'GROWING'}` +
        `   [least-squares trend over the ${RSS_SAMPLE_MS / 1000} s samples${warmupPeriods ? ' after warm-up' : ''}: ${Number.isNaN(pluginSlope) ? '?' : `${sign(pluginSlope)} MB/min`}]`,
    );
    lines.push(
      `  formatter processes RSS: ${ref.helperRssAvgMb} -> ${last.helperRssAvgMb} MB (${sign(helperGrowth)} MB, limit +${round1(allowed(ref.helperRssAvgMb))}): ` +
        `${sameHelpers ? (helperFlat ? 'flat' : 'GROWING') : 'not compared (a formatter process was replaced in between)'}` +
        `   [trend: ${Number.isNaN(helperSlope) ? '?' : `${sign(helperSlope)} MB/min`}]`,
    );
    lines.push(`  event-loop lag p99:      ${round2(earlyLag)} -> ${round2(lateLag)} ms (limit ${round2(lagLimit)} ms): ${lagFlat ? 'flat' : 'TRENDING UP'}`);
    lines.push(`  unexpected answers:      ${errors}${errorSamples.length ? `  e.g. ${errorSamples.slice(0, 5).join(' | ')}` : ''}`);
    lines.push(`  => ${flat ? 'FLAT' : 'NOT FLAT'}${errors ? `, with ${errors} unexpected answers` : ''}`);
    if (minutes < 10) lines.push(`  (${minutes} min shows fast growth only: a slow leak needs a longer soak, e.g. --soak 30)`);
    const busy = rows.filter((r) => (r.otherCpuPct ?? 0) >= 20);
    if (busy.length) {
      lines.push(
        `  WARNING: other processes used ${busy.map((r) => `${r.otherCpuPct}% (${r.label})`).join(', ')} of a core: latency and lag figures are disturbed (the verdict compares periods, so a change in that load moves it too).`,
      );
    }
    const steal = rows.filter((r) => (r.stealPct ?? 0) >= 10);
    if (steal.length) lines.push(`  WARNING: the hypervisor took ${steal.map((r) => `${r.stealPct}% (${r.label})`).join(', ')} of a core for other VMs: lag and latency figures are disturbed.`);

    process.stdout.write(`\n${lines.join('\n')}\n\n`);
    const resultsFile = join(here, 'soak-results.json');
    writeFileSync(
      resultsFile,
      `${JSON.stringify(
        {
          date: new Date().toISOString(),
          minutes,
          periodSec: periodMs / 1000,
          warmupPeriods,
          rates: { uplinksPerSec: uplinkRate, downlinksPerSec: downlinkRate, readsPerSec: READS_PER_SEC },
          rules: RULES,
          baseline,
          rows,
          rssSamples,
          verdict: { pluginGrowthMb: round1(pluginGrowth), helperGrowthMb: round1(helperGrowth), earlyLagP99Ms: earlyLag, lateLagP99Ms: lateLag, flat, errors },
          errorSamples,
        },
        null,
        2,
      )}\n`,
    );
    process.stdout.write(`figures written to ${resultsFile} (${elapsed()})\n`);
    if (keepData) process.stdout.write(`data kept in ${tmp}\n`);
    return flat && errors === 0 ? 0 : 1;
  } finally {
    clearTimeout(watchdog);
    await pool?.close().catch(() => undefined);
    await tts?.stop().catch(() => undefined);
    await plugin?.stop(5000).catch(() => plugin?.kill());
    cleanup();
  }
}
