import Router from '@koa/router';
import type { Context, Next } from 'koa';
import { HttpError, notFound } from '../http/http-error.js';
import { matchesSecret, secretHash } from '../http/secrets.js';
import { bodyValidator } from '../schemas/validate.js';
import { MessageRequestSchema } from '../schemas/downlink.js';
import { iotdaCreated, iotdaMessage } from '../iotda.js';
import type { Services } from './services.js';

const messageBody = bodyValidator(MessageRequestSchema);

/** IoTDA authenticates with X-Auth-Token (here: the admin token). */
function iotdaAuth(adminToken: string) {
  const expected = secretHash(adminToken);
  return async (ctx: Context, next: Next) => {
    const token = ctx.get('x-auth-token');
    if (!token || !matchesSecret(token, expected)) throw new HttpError(401, 'unauthorized', 'missing or wrong X-Auth-Token');
    await next();
  };
}

/** The device message resource under IoTDA's path, so an IoTDA client works unchanged. */
export function iotdaRoutes(s: Services, adminToken: string): Router {
  const router = new Router({ prefix: '/v5/iot/:project_id/devices/:device_id/messages' });
  router.use(iotdaAuth(adminToken));

  router.post('/', async (ctx) => {
    const m = await s.downlinks.create(ctx.params.device_id, messageBody.parse(ctx.request.body));
    ctx.status = 201;
    ctx.body = iotdaCreated(m);
  });

  router.get('/', async (ctx) => {
    if (!(await s.store.getDevice(ctx.params.device_id))) throw notFound('device', ctx.params.device_id);
    const page = await s.store.listMessages(ctx.params.device_id, { limit: 20, offset: 0 });
    ctx.body = { device_id: ctx.params.device_id, messages: page.items.map(iotdaMessage) };
  });

  router.get('/:message_id', async (ctx) => {
    const m = await s.store.getMessage(ctx.params.device_id, ctx.params.message_id);
    if (!m) throw notFound('message', ctx.params.message_id);
    ctx.body = iotdaMessage(m);
  });

  return router;
}
