import Router from '@koa/router';
import { PassThrough } from 'node:stream';
import { HttpError } from '../http/http-error.js';
import { bearerToken, secretHash } from '../http/secrets.js';
import { queryValidator } from '../schemas/validate.js';
import { EventQuery } from '../schemas/queries.js';
import type { EventRecord } from '../store/records.js';
import { eventView } from './views.js';
import type { Services } from './services.js';

const eventQuery = queryValidator(EventQuery);
const HEARTBEAT_MS = 15_000;
/** A client this far behind is cut off rather than buffered without bound. */
const MAX_BUFFERED_BYTES = 1024 * 1024;
/**
 * Live streams one admin token may hold open at once. Each tab of the UI holds one; a stream costs a
 * socket, a subscription and a timer for as long as it lasts, so a runaway script (or a leaked
 * token) cannot pile them up. The next one gets 429 until one closes.
 */
export const MAX_STREAMS_PER_TOKEN = 8;
/** Seconds a refused client is asked to wait before trying again. */
export const STREAM_RETRY_AFTER_S = 10;

/** Open streams per token, keyed by the token's hash (raw tokens are not kept around). */
class StreamSlots {
  private readonly open = new Map<string, number>();
  constructor(private readonly max: number) {}

  /** Takes a place for `token` and returns its release (idempotent), or throws the 429. */
  take(token: string): () => void {
    const key = secretHash(token).toString('hex');
    const count = this.open.get(key) ?? 0;
    if (count >= this.max) {
      throw new HttpError(
        429,
        'too_many_streams',
        `at most ${this.max} event streams may be open per token; close one first`,
        { limit: this.max, retry_after_s: STREAM_RETRY_AFTER_S },
        { 'Retry-After': String(STREAM_RETRY_AFTER_S) },
      );
    }
    this.open.set(key, count + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = (this.open.get(key) ?? 1) - 1;
      if (left > 0) this.open.set(key, left);
      else this.open.delete(key);
    };
  }
}

export function eventRoutes(s: Services, openStreams: Set<PassThrough>): Router {
  const router = new Router({ prefix: '/api/events' });
  const slots = new StreamSlots(MAX_STREAMS_PER_TOKEN);

  router.get('/', async (ctx) => {
    const q = eventQuery.parse({ ...ctx.query });
    const items = await s.store.listEvents({
      limit: q.limit,
      ...(q.app_id ? { appId: q.app_id } : {}),
      ...(q.device_id ? { deviceId: q.device_id } : {}),
      ...(q.category ? { category: q.category } : {}),
      ...(q.severity ? { severity: q.severity } : {}),
      ...(q.after_id !== undefined ? { afterId: q.after_id } : {}),
    });
    ctx.body = { items: items.map(eventView) };
  });

  /** Server-Sent Events; resumes after `Last-Event-ID` (or `after_id`) from the stored log. */
  router.get('/stream', async (ctx) => {
    const q = eventQuery.parse({ ...ctx.query });
    const lastId = Number(ctx.get('last-event-id') || q.after_id || NaN);
    const matches = (e: EventRecord) =>
      (!q.app_id || e.appId === q.app_id) &&
      (!q.device_id || e.deviceId === q.device_id) &&
      (!q.category || e.category === q.category) &&
      (!q.severity || e.severity === q.severity);
    // Admin auth ran before this route, so the header holds a valid token.
    const release = slots.take(bearerToken(ctx.get('authorization')) ?? '');
    // The answer closing (client gone, stream ended, or an error answered instead) frees the place.
    ctx.res.once('close', release);

    const stream = new PassThrough();
    const send = (e: EventRecord) => {
      if (!matches(e)) return;
      if (stream.writableLength > MAX_BUFFERED_BYTES) {
        stream.end();
        return;
      }
      stream.write(`id: ${e.id}\nevent: event\ndata: ${JSON.stringify(eventView(e))}\n\n`);
    };
    const unsubscribe = s.events.subscribe(send);
    const heartbeat = setInterval(() => stream.write(': ping\n\n'), HEARTBEAT_MS);
    heartbeat.unref();
    const close = () => {
      clearInterval(heartbeat);
      unsubscribe();
      openStreams.delete(stream);
      release();
    };
    stream.on('close', close);
    ctx.req.on('close', () => stream.end());
    openStreams.add(stream);

    ctx.req.socket.setTimeout(0);
    ctx.req.socket.setNoDelay(true);
    ctx.set({ 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-store', 'X-Accel-Buffering': 'no' });
    ctx.status = 200;
    ctx.body = stream;
    stream.write(`retry: 2000\n\n`);
    if (Number.isInteger(lastId) && lastId >= 0) {
      const missed = await s.store.listEvents({ afterId: lastId, limit: 1000 });
      for (const e of missed.reverse()) send(e);
    }
  });

  return router;
}
