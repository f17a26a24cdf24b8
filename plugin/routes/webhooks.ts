import Router from '@koa/router';
import type { Context } from 'koa';
import type { Services } from './services.js';

/**
 * The webhook paths, as the router below matches them (any case, optional trailing slash); the
 * webhook intake in front of Koa takes the same ones.
 */
const WEBHOOK_PATH = /^\/(?:uplink|tts\/webhook(?:\/[^/]+)?)\/?$/i;

export function isWebhookPath(path: string): boolean {
  return WEBHOOK_PATH.test(path);
}

/**
 * TTS webhooks: `/uplink` (Thinger template path), `/tts/webhook` and `/tts/webhook/<type>`.
 * Most arrive through the webhook intake (plugin/http/webhook-intake.ts); this route answers the
 * ones it hands on (chunked or compressed bodies, other charsets, bodies it refuses).
 */
export function webhookRoutes(s: Services): Router {
  const router = new Router();
  const handle = async (ctx: Context) => {
    const answer = await s.webhooks.handle({
      body: ctx.request.body,
      rawBody: (ctx.request as { rawBody?: string }).rawBody,
      headers: ctx.headers,
      remoteAddress: ctx.ip,
    });
    ctx.status = answer.status;
    ctx.body = answer.body;
  };
  router.post('/uplink', handle);
  router.post('/tts/webhook', handle);
  router.post('/tts/webhook/:type', handle);
  return router;
}
