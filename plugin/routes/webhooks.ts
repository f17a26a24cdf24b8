import Router from '@koa/router';
import type { Context } from 'koa';
import type { Services } from './services.js';

/** TTS webhooks: `/uplink` (Thinger template path), `/tts/webhook` and `/tts/webhook/<type>`. */
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
