import autocannon from 'autocannon';
import { WEBHOOK_PATH, type BodyTemplate } from './uplinks.js';

export interface LoadOptions {
  url: string;
  connections: number;
  durationSec: number;
  templates: BodyTemplate[];
  /** Shared f_cnt counter: every request of every run against one server gets its own f_cnt. */
  fCnt: { next: number };
}

/** One autocannon run, raw. */
export interface LoadRound {
  durationSec: number;
  requests: number;
  /** Every response's own time in ms (sub-ms resolution; autocannon's histogram is in whole ms). */
  latencies: Float64Array;
  /** autocannon's own figures, for comparison (absent for paced rounds, which do not use it). */
  autocannon?: { rpsAvg: number; p50Ms: number; p99Ms: number };
  non2xx: number;
  errors: number;
  timeouts: number;
  /** 2xx responses whose body is not `status: "stored"`. */
  notStored: number;
  statusCodes: Record<string, number>;
  samples: string[];
}

/** Figures of one or more rounds against one server. */
export interface LoadFigures {
  rounds: number;
  durationSec: number;
  requests: number;
  rps: number;
  /** Requests/s of each round. */
  roundRps: number[];
  /** With a fixed number of connections this is connections / req/s (Little's law). */
  meanMs: number;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  maxMs: number;
  autocannon: { rpsAvg: number; p50Ms: number; p99Ms: number }[];
  non2xx: number;
  errors: number;
  timeouts: number;
  notStored: number;
  statusCodes: Record<string, number>;
  samples: string[];
}

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i];
}

const round = (n: number, digits = 2) => Math.round(n * 10 ** digits) / 10 ** digits;

/** Sums rounds; latency percentiles over every response of every round. */
export function summarize(rounds: LoadRound[]): LoadFigures {
  const total = rounds.reduce((n, r) => n + r.latencies.length, 0);
  const all = new Float64Array(total);
  let at = 0;
  for (const r of rounds) {
    all.set(r.latencies, at);
    at += r.latencies.length;
  }
  all.sort();
  const durationSec = rounds.reduce((n, r) => n + r.durationSec, 0);
  const requests = rounds.reduce((n, r) => n + r.requests, 0);
  const statusCodes: Record<string, number> = {};
  for (const r of rounds) for (const [k, v] of Object.entries(r.statusCodes)) statusCodes[k] = (statusCodes[k] ?? 0) + v;
  const sum = (f: (r: LoadRound) => number) => rounds.reduce((n, r) => n + f(r), 0);
  return {
    rounds: rounds.length,
    durationSec: round(durationSec),
    requests,
    rps: round(requests / durationSec, 0),
    roundRps: rounds.map((r) => round(r.requests / r.durationSec, 0)),
    meanMs: round(all.length ? all.reduce((n, ms) => n + ms, 0) / all.length : NaN),
    p50Ms: round(percentile(all, 50)),
    p90Ms: round(percentile(all, 90)),
    p99Ms: round(percentile(all, 99)),
    maxMs: round(all.length ? all[all.length - 1] : NaN),
    autocannon: rounds.flatMap((r) => (r.autocannon ? [r.autocannon] : [])),
    non2xx: sum((r) => r.non2xx),
    errors: sum((r) => r.errors),
    timeouts: sum((r) => r.timeouts),
    notStored: sum((r) => r.notStored),
    statusCodes,
    samples: rounds.flatMap((r) => r.samples).slice(0, 5),
  };
}

/**
 * Drives a server with TTS uplinks: each request goes to the next device (round robin over the
 * templates) with a fresh f_cnt, so nothing is deduplicated away. The per-request work in this
 * process is two string concatenations. `url` may name several servers (instances of the plugin on
 * one database, as behind a load balancer): autocannon gives connection i to server i mod n, so the
 * same `connections` are split evenly over them (make it a multiple of their number).
 */
export function runLoad(o: Omit<LoadOptions, 'url'> & { url: string | string[] }): Promise<LoadRound> {
  const { templates, fCnt } = o;
  let turn = 0;
  const answers = new AnswerTally();
  let latencies = new Float64Array(1 << 16);
  let count = 0;

  return new Promise<LoadRound>((resolve, reject) => {
    const instance = autocannon(
      {
        url: o.url,
        connections: o.connections,
        duration: o.durationSec,
        // TTS gives a webhook 5 s and does not retry: a slower answer is a lost uplink.
        timeout: 5,
        requests: [
          {
            method: 'POST',
            path: WEBHOOK_PATH,
            setupRequest(req) {
              const t = templates[turn];
              turn = turn + 1 === templates.length ? 0 : turn + 1;
              req.headers = t.headers;
              req.body = t.head + fCnt.next++ + t.tail;
              return req;
            },
            onResponse(status, body) {
              answers.answer(status, body);
            },
          },
        ],
      },
      (err, result) => {
        if (err) {
          reject(err);
          return;
        }
        const statusCodes: Record<string, number> = {};
        for (const [code, v] of Object.entries(result.statusCodeStats)) statusCodes[code] = v.count;
        resolve({
          durationSec: result.duration,
          requests: result['2xx'] + result.non2xx,
          latencies: latencies.slice(0, count),
          autocannon: { rpsAvg: result.requests.average, p50Ms: result.latency.p50, p99Ms: result.latency.p99 },
          non2xx: result.non2xx,
          errors: result.errors,
          timeouts: result.timeouts,
          notStored: answers.notStored,
          statusCodes,
          samples: answers.samples,
        });
      },
    );
    instance.on('response', (_client, _status, _bytes, responseTime) => {
      if (count === latencies.length) {
        const bigger = new Float64Array(latencies.length * 2);
        bigger.set(latencies);
        latencies = bigger;
      }
      latencies[count++] = responseTime;
    });
    instance.on('reqError', (error) => answers.error(error));
  });
}

/** What the plugin answered: uplinks not stored, and the first few odd answers, to show. */
export class AnswerTally {
  notStored = 0;
  readonly samples: string[] = [];

  answer(status: number, body: string): void {
    const ok = status >= 200 && status < 300;
    if (ok && !body.includes('"status":"stored"')) this.notStored++;
    if (!ok || !body.includes('"status":"stored"')) this.sample(`${status} ${body.slice(0, 300)}`);
  }

  error(error: Error): void {
    this.sample(`error: ${error.message}`);
  }

  private sample(text: string): void {
    if (this.samples.length < 5) this.samples.push(text);
  }
}

export function loadFailed(r: Pick<LoadFigures, 'non2xx' | 'errors' | 'timeouts' | 'notStored' | 'requests'>): boolean {
  return r.non2xx > 0 || r.errors > 0 || r.timeouts > 0 || r.notStored > 0 || r.requests === 0;
}
