import Router from '@koa/router';
import { HttpError, notFound } from '../http/http-error.js';
import { replayAllDeadLetters, replayDeadLetter } from '../pipeline/dead-letter-replay.js';
import { queryValidator } from '../schemas/validate.js';
import { DeadLetterQuery, ReplayAllQuery } from '../schemas/queries.js';
import { deadLetterView } from './views.js';
import type { Services } from './services.js';

const listQuery = queryValidator(DeadLetterQuery);
const replayAllQuery = queryValidator(ReplayAllQuery);

export function deadLetterRoutes(s: Services): Router {
  const router = new Router({ prefix: '/api/dead-letters' });

  router.get('/', async (ctx) => {
    const q = listQuery.parse({ ...ctx.query });
    const items = await s.store.listDeadLetters({ limit: q.limit, ...(q.app_id ? { appId: q.app_id } : {}) });
    ctx.body = { items: items.map(deadLetterView) };
  });

  /** Runs the stored uplink through today's profile and formatter; on success it leaves the list. */
  router.post('/:id/replay', async (ctx) => {
    if (!/^\d{1,15}$/.test(ctx.params.id)) throw notFound('dead letter', ctx.params.id.slice(0, 40));
    const outcome = await replayDeadLetter(s, Number(ctx.params.id));
    if (outcome.status === 'dead_letter') {
      throw new HttpError(422, 'replay_failed', 'the uplink failed again and was kept as a new dead letter', {
        dead_letter_id: outcome.deadLetterId,
      });
    }
    ctx.body = { status: outcome.status, device_id: outcome.deviceId };
  });

  /** Every dead letter of one application not replayed yet, once each (after a formatter fix). */
  router.post('/replay-all', async (ctx) => {
    const { app_id } = replayAllQuery.parse({ ...ctx.query });
    ctx.body = await replayAllDeadLetters(s, app_id);
  });

  return router;
}
