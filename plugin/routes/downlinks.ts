import Router from '@koa/router';
import type { Context } from 'koa';
import { bodyIsEmpty } from '../http/json-body.js';
import { HttpError, notFound } from '../http/http-error.js';
import { bodyValidator, queryValidator } from '../schemas/validate.js';
import { DownlinkOptionsSchema, DownlinkQuerySchema, MessageRequestSchema, type DownlinkOptions } from '../schemas/downlink.js';
import { MessageListQuery } from '../schemas/queries.js';
import type { MessageRecord } from '../store/records.js';
import { iotdaCreated, iotdaTime } from '../iotda.js';
import { messageView } from './views.js';
import type { Services } from './services.js';

const messageBody = bodyValidator(MessageRequestSchema);
const downlinkQuery = queryValidator(DownlinkQuerySchema);
const envelopeOptions = bodyValidator(DownlinkOptionsSchema, 'invalid_options');
const listQuery = queryValidator(MessageListQuery);
const OPTION_KEYS = new Set(Object.keys(DownlinkOptionsSchema.properties));

/**
 * The Thinger-compatible body: the payload itself, or an envelope {payload, confirmed?, priority?,
 * f_port?, replace?} when the object has a `payload` key and nothing but option keys beside it.
 */
function splitEnvelope(body: unknown): { payload: unknown; options: DownlinkOptions } {
  if (typeof body === 'object' && body !== null && !Array.isArray(body) && 'payload' in body) {
    const { payload, ...rest } = body as Record<string, unknown>;
    if (Object.keys(rest).every((k) => OPTION_KEYS.has(k))) return { payload, options: envelopeOptions.parse(rest) };
  }
  return { payload: body, options: {} };
}

/** Thinger-compatible answer for a message whose fate is known synchronously. */
function downlinkAnswer(ctx: Context, m: MessageRecord): void {
  if (m.status === 'FAILED' && m.error) {
    // The network's own refusals (tts_…, thingpark_…) are a bad gateway; the formatter's or the port's are ours.
    const fromNetwork = m.error.code.startsWith(`${m.network}_`);
    throw new HttpError(fromNetwork ? 502 : 422, m.error.code, m.error.message, {
      message_id: m.messageId,
      status: m.status,
    });
  }
  ctx.status = 202;
  ctx.body = {
    message_id: m.messageId,
    status: m.status,
    detail: m.detail,
    ...(m.error ? { error: m.error } : {}),
    ...(m.nextAttemptAt ? { next_attempt_time: iotdaTime(m.nextAttemptAt) } : {}),
  };
}

export function downlinkRoutes(s: Services): Router {
  const router = new Router();

  router.post('/downlink/:device_id', async (ctx) => {
    const deviceId = ctx.params.device_id;
    const query = downlinkQuery.parse({ ...ctx.query });
    let payload: unknown;
    let options: DownlinkOptions = {};
    if (bodyIsEmpty(ctx)) {
      const device = await s.store.getDevice(deviceId);
      if (!device) throw notFound('device', deviceId);
      payload = device.properties.downlink ?? {};
    } else {
      ({ payload, options } = splitEnvelope(ctx.request.body));
    }
    const message = await s.downlinks.create(deviceId, { message: payload, encoding: 'none', ttl: 1440, ...options, ...query });
    downlinkAnswer(ctx, message);
  });

  router.post('/downlink/:device_id/clear', async (ctx) => {
    const outcome = await s.downlinks.clearQueue(ctx.params.device_id);
    if (!outcome.ok) {
      throw new HttpError(502, outcome.code, outcome.message, { http_status: outcome.status });
    }
    ctx.body = { status: 'cleared' };
  });

  router.post('/api/devices/:device_id/messages', async (ctx) => {
    const req = messageBody.parse(ctx.request.body);
    const m = await s.downlinks.create(ctx.params.device_id, req);
    ctx.status = 201;
    ctx.body = iotdaCreated(m, { detail: m.detail, ...(m.error ? { error: m.error } : {}) });
  });

  router.get('/api/devices/:device_id/messages', async (ctx) => {
    const q = listQuery.parse({ ...ctx.query });
    if (!(await s.store.getDevice(ctx.params.device_id))) throw notFound('device', ctx.params.device_id);
    const page = await s.store.listMessages(ctx.params.device_id, q);
    ctx.body = { device_id: ctx.params.device_id, total: page.total, messages: page.items.map(messageView) };
  });

  router.get('/api/devices/:device_id/messages/:message_id', async (ctx) => {
    const m = await s.store.getMessage(ctx.params.device_id, ctx.params.message_id);
    if (!m) throw notFound('message', ctx.params.message_id);
    ctx.body = messageView(m);
  });

  return router;
}
