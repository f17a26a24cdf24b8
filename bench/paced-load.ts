import { Pool } from 'undici';
import { AnswerTally, type LoadOptions, type LoadRound } from './load.js';
import { WEBHOOK_PATH } from './uplinks.js';

/** TTS gives a webhook 5 s and does not retry: a slower answer is a lost uplink. */
const TIMEOUT_MS = 5_000;
/** How often the pacer wakes; each wake sends what fell due since the last one. */
const TICK_MS = 1;

/**
 * Open-loop load: uplinks at a fixed rate, however fast the server answers, over at most
 * `connections` keep-alive connections. At full speed in a closed loop every request queues behind
 * the other connections' requests, so latency there is mostly that queue (mean = connections /
 * req/s); at a fixed rate below the server's capacity it is what a TTS application sending at that
 * rate sees. A request's latency counts from the moment it was due, so waiting for a free
 * connection counts too (no coordinated omission). autocannon's own rate option sends each second's
 * quota back to back and then pauses, which is not a steady rate; undici's pool costs the load
 * generator a fraction of what node:http's client does.
 */
export function runPaced(o: LoadOptions & { ratePerSec: number }): Promise<LoadRound> {
  const { templates, fCnt } = o;
  const pool = new Pool(o.url, { connections: o.connections, pipelining: 1, headersTimeout: TIMEOUT_MS, bodyTimeout: TIMEOUT_MS });
  const total = Math.round(o.ratePerSec * o.durationSec);
  const latencies = new Float64Array(total);
  const answers = new AnswerTally();
  const statusCodes: Record<string, number> = {};
  let sent = 0;
  /** Requests answered or failed. */
  let done = 0;
  let answered = 0;
  let non2xx = 0;
  let errors = 0;
  let timeouts = 0;

  return new Promise<LoadRound>((resolve) => {
    const start = performance.now();
    const finish = () => {
      void pool.destroy();
      resolve({
        // Sent over exactly this window; the answers to the last ones may come later.
        durationSec: o.durationSec,
        requests: answered,
        latencies: latencies.slice(0, answered),
        non2xx,
        errors,
        timeouts,
        notStored: answers.notStored,
        statusCodes,
        samples: answers.samples,
      });
    };
    const send = async (index: number) => {
      const dueAt = start + (index * 1000) / o.ratePerSec;
      const t = templates[index % templates.length];
      try {
        const res = await pool.request({ path: WEBHOOK_PATH, method: 'POST', headers: t.headers, body: t.head + fCnt.next++ + t.tail });
        const text = await res.body.text();
        latencies[answered++] = performance.now() - dueAt;
        statusCodes[res.statusCode] = (statusCodes[res.statusCode] ?? 0) + 1;
        if (res.statusCode < 200 || res.statusCode >= 300) non2xx++;
        answers.answer(res.statusCode, text);
      } catch (err) {
        const error = err instanceof Error ? err : new Error(String(err));
        if ((error as { code?: string }).code?.endsWith('_TIMEOUT')) timeouts++;
        else errors++;
        answers.error(error);
      }
      if (++done === total) finish();
    };
    const tick = () => {
      // Request i is due at start + i / rate: the first at once.
      const due = Math.min(total, Math.floor(((performance.now() - start) * o.ratePerSec) / 1000) + 1);
      while (sent < due) void send(sent++);
      if (sent < total) setTimeout(tick, TICK_MS);
    };
    if (total === 0) finish();
    else tick();
  });
}
