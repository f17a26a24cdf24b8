import type { Middleware } from 'koa';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { FormatterPool, PoolStats } from '../../sandbox/formatter-pool.js';
import type { Clock } from '../clock.js';
import type { DownlinkService } from '../pipeline/downlink.js';
import type { UplinkPipeline } from '../pipeline/uplink.js';
import { isWebhookPath } from '../routes/webhooks.js';
import { MESSAGE_STATUSES, type MessageRecord, type MessageStatus } from '../store/records.js';
import { SqliteStore } from '../store/sqlite-store.js';
import type { Store } from '../store/store.js';

const PREFIX = 'lorawan_bridge_';

/** The queue gauges read at most this many rows from the store per scrape (they read records, not a count). */
export const QUEUE_COUNT_CAP = 1000;

/** Why a webhook was refused: 401, 400 (unparseable or invalid body), any other 4xx (413, 415, 405 ...). */
export type WebhookRejection = 'unauthorized' | 'invalid_body' | 'other_4xx';

export interface MetricsSources {
  store: Store;
  formatters: FormatterPool;
  uplinks: UplinkPipeline;
  downlinks: DownlinkService;
  clock: Clock;
}

let processRegistry: Registry | undefined;

/**
 * Node's and the process's own metrics (event-loop lag, GC, heap, CPU, file descriptors), from
 * prom-client's collectDefaultMetrics. One set per process, in a registry of this module's (not
 * prom-client's global one): they describe the process, not an app, and prom-client starts an
 * event-loop delay monitor and a GC observer for them that it has no way to stop, so one set per
 * app would leave one of each behind for every app a test process builds.
 */
function processMetrics(): Registry {
  if (!processRegistry) {
    processRegistry = new Registry();
    collectDefaultMetrics({ register: processRegistry });
  }
  return processRegistry;
}

/**
 * GET /metrics for one app: its own prom-client Registry (tests build many apps side by side), then
 * the process's metrics. Nothing on the uplink path touches prom-client: the pipelines keep plain
 * counts, and a scrape copies them (and the formatter pool's stats, and two capped store reads) into
 * the metrics. No label takes a value from a request: reasons, outcomes and statuses are fixed sets.
 */
export class PluginMetrics {
  readonly registry = new Registry();
  private readonly rejected: Record<WebhookRejection, number> = { unauthorized: 0, invalid_body: 0, other_4xx: 0 };
  /** Downlink messages that entered each status (PENDING: created pending). */
  private readonly downlinkStatuses: Record<MessageStatus, number> = { PENDING: 0, DELIVERED: 0, FAILED: 0, TIMEOUT: 0 };
  private readonly stopDownlinks: () => void;
  private readonly sqlite: SqliteStore | null;

  private readonly uplinkOutcomes: readonly string[];
  private readonly formatterResults: readonly string[];

  private readonly m;

  /**
   * For the webhook intake's answers (outside Koa): a 'finish' listener, one function per app, that
   * counts the answer if it is a refusal.
   */
  /** Counts a webhook the intake refused, by its status. */
  readonly webhookRefused: (status: number) => void;

  constructor(private readonly sources: MetricsSources) {
    const registers = [this.registry];
    const counter = <L extends string = never>(name: string, help: string, labelNames: L[] = []) =>
      new Counter<L>({ name: PREFIX + name, help, labelNames, registers });
    const gauge = (name: string, help: string) => new Gauge({ name: PREFIX + name, help, registers });
    this.m = {
      uplinks: counter('uplinks_total', 'Uplinks by outcome (stored, duplicate, dead_letter); dead-letter replays included.', ['outcome']),
      formatterCalls: counter(
        'uplink_formatter_calls_total',
        "Uplink formatter runs by result: ok, or the error kind (timeout, runtime, memory, crash, ...; 'suspended' was refused without running).",
        ['result'],
      ),
      webhooksRejected: counter(
        'webhooks_rejected_total',
        'Webhook POSTs answered 4xx, by reason: unauthorized (401), invalid_body (400: not JSON, or not a valid TTS message), other_4xx.',
        ['reason'],
      ),
      downlinks: counter(
        'downlinks_total',
        'Downlink messages that entered each status: PENDING counts messages created pending, DELIVERED/FAILED/TIMEOUT those that ended so.',
        ['status'],
      ),
      downlinksPending: gauge('downlinks_pending', `Downlink messages PENDING in the store (counted up to ${QUEUE_COUNT_CAP}).`),
      notificationsDue: gauge('status_notifications_due', `Status notifications due for delivery now (counted up to ${QUEUE_COUNT_CAP}).`),
      processes: gauge('formatter_processes', 'Formatter processes configured.'),
      running: gauge('formatter_processes_running', 'Formatter processes running now.'),
      starts: counter('formatter_process_starts_total', 'Formatter processes started (the spare included).'),
      restarts: counter('formatter_process_restarts_total', 'Formatter processes started to replace one that ended.'),
      kills: counter('formatter_process_kills_total', 'Formatter processes killed because a call did not stop at its deadline.'),
      crashes: counter('formatter_process_crashes_total', 'Formatter processes that died otherwise (crash, OOM killer).'),
      resent: counter('formatter_calls_resent_total', 'Formatter calls sent again to a fresh process after theirs died.'),
      suspensions: counter('formatter_suspensions_total', 'Formatter suspensions by the circuit breaker.'),
      suspended: gauge('formatter_suspended', 'Applications whose formatter is suspended now.'),
      isolated: counter('formatter_isolated_total', 'Applications moved to an isolate of their own for the memory they held.'),
      commitSync: new Histogram({
        name: `${PREFIX}store_commit_sync_seconds`,
        help: "Duration of each group commit's WAL sync (fdatasync); every write's answer waits for one.",
        buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
        registers,
      }),
    };
    // The label values are fixed here, once: the keys the pipeline counts under.
    this.uplinkOutcomes = Object.keys(sources.uplinks.counts.outcome);
    this.formatterResults = Object.keys(sources.uplinks.counts.formatter);

    const rejected = this.rejected;
    this.webhookRefused = (status) => countRejection(rejected, status);
    this.stopDownlinks = sources.downlinks.onStatusChange(async (message) => this.downlinkAnnounced(message));

    // The SQLite store reports each WAL sync; another store (or none) leaves the histogram empty.
    this.sqlite = sources.store instanceof SqliteStore ? sources.store : null;
    const histogram = this.m.commitSync;
    this.sqlite?.onCommitSync((seconds) => histogram.observe(seconds));

    processMetrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  /** Koa middleware, in front of the error handler: counts the webhooks Koa refused (the intake's are counted by `webhookRefused`). */
  koaWebhookRejections(): Middleware {
    const rejected = this.rejected;
    return async function countWebhookRejections(ctx, next) {
      await next();
      if (ctx.status >= 400 && ctx.method === 'POST' && isWebhookPath(ctx.path)) countRejection(rejected, ctx.status);
    };
  }

  /** The exposition text: this app's metrics, then the process's. */
  async text(): Promise<string> {
    await this.refresh();
    return (await this.registry.metrics()) + (await processMetrics().metrics());
  }

  /** Stops listening; the process's metrics stay (see processMetrics). */
  close(): void {
    this.stopDownlinks();
    this.sqlite?.onCommitSync(null);
  }

  private downlinkAnnounced(message: MessageRecord): void {
    // A message is announced when created and at every change; ended ones are not announced again.
    // Only creation announces a PENDING message still waiting_for_uplink (attempts and TTS events
    // move it to submitted, retrying, queued ...), so that is when PENDING is entered.
    if (message.status !== 'PENDING' || message.detail === 'waiting_for_uplink') this.downlinkStatuses[message.status]++;
  }

  private async refresh(): Promise<void> {
    const { store, formatters, uplinks, clock } = this.sources;
    const m = this.m;
    setLabelled(m.uplinks, 'outcome', this.uplinkOutcomes, uplinks.counts.outcome);
    setLabelled(m.formatterCalls, 'result', this.formatterResults, uplinks.counts.formatter);
    setLabelled(m.webhooksRejected, 'reason', Object.keys(this.rejected), this.rejected);
    setLabelled(m.downlinks, 'status', MESSAGE_STATUSES, this.downlinkStatuses);

    const stats: PoolStats = formatters.stats();
    m.processes.set(stats.processes);
    m.running.set(stats.running);
    m.suspended.set(stats.suspended);
    setTotal(m.starts, stats.starts);
    setTotal(m.restarts, stats.restarts);
    setTotal(m.kills, stats.kills);
    setTotal(m.crashes, stats.crashes);
    setTotal(m.resent, stats.resent);
    setTotal(m.suspensions, stats.suspensions);
    setTotal(m.isolated, stats.isolated);

    const [pending, due] = await Promise.all([
      store.listOpenMessages({ statuses: ['PENDING'], limit: QUEUE_COUNT_CAP }),
      store.listDueNotifications(clock.now().toISOString(), QUEUE_COUNT_CAP),
    ]);
    m.downlinksPending.set(pending.length);
    m.notificationsDue.set(due.length);
  }
}

function countRejection(rejected: Record<WebhookRejection, number>, status: number): void {
  if (status < 400 || status > 499) return;
  if (status === 401) rejected.unauthorized++;
  else if (status === 400) rejected.invalid_body++;
  else rejected.other_4xx++;
}

/** A counter's value is the count kept elsewhere (prom-client counters have no set). */
function setTotal(counter: Counter<never>, value: number): void {
  counter.reset();
  counter.inc(value);
}

function setLabelled<L extends string>(counter: Counter<L>, label: L, keys: readonly string[], counts: Readonly<Record<string, number>>): void {
  counter.reset();
  for (const key of keys) {
    const value = counts[key];
    if (Number.isFinite(value)) counter.inc({ [label]: key } as Partial<Record<L, string>>, value);
  }
}
