import Router from '@koa/router';
import type { Context } from 'koa';
import type { Services } from './services.js';

/**
 * TTS webhooks: `/uplink` (Thinger template path), `/tts/webhook` and `/tts/webhook/<type>`, in any
 * case, with an optional trailing slash. The webhook intake in front of Koa takes the same paths.
 */
const WEBHOOK_PATH = /^\/(?:uplink|tts\/webhook(?:\/[^/]+)?)\/?$/i;

export function isWebhookPath(path: string): boolean {
  return WEBHOOK_PATH.test(path);
}

/**
 * Most webhooks arrive through the webhook intake (plugin/http/webhook-intake.ts); this route answers
 * the ones it hands on (chunked or compressed bodies, other charsets, bodies it refuses).
 */
export function webhookRoutes(s: Services): Router {
  const router = new Router();
  router.post(WEBHOOK_PATH, async (ctx: Context) => {
    const answer = await s.webhooks.handle({
      body: ctx.request.body,
      rawBody: (ctx.request as { rawBody?: string }).rawBody,
      headers: ctx.headers,
      remoteAddress: ctx.ip,
    });
    ctx.status = answer.status;
    ctx.body = answer.body;
  });
  return router;
}
