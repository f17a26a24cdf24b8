import Router from '@koa/router';
import { HttpError, notFound } from '../http/http-error.js';
import { queryValidator } from '../schemas/validate.js';
import { DEFAULT_PROFILE } from '../schemas/profile.js';
import { DeadLetterQuery } from '../schemas/queries.js';
import { WriteConflict } from '../store/errors.js';
import { deadLetterView } from './views.js';
import type { Services } from './services.js';

const listQuery = queryValidator(DeadLetterQuery);

export function deadLetterRoutes(s: Services): Router {
  const router = new Router({ prefix: '/api/dead-letters' });

  router.get('/', async (ctx) => {
    const q = listQuery.parse({ ...ctx.query });
    const items = await s.store.listDeadLetters({ limit: q.limit, ...(q.app_id ? { appId: q.app_id } : {}) });
    ctx.body = { items: items.map(deadLetterView) };
  });

  /** Runs the stored uplink through today's profile and formatter; on success it leaves the list. */
  router.post('/:id/replay', async (ctx) => {
    const id = Number(ctx.params.id);
    const letter = Number.isInteger(id) ? await s.store.getDeadLetter(id) : null;
    if (!letter) throw notFound('dead letter', ctx.params.id);
    if (letter.replayedAt) throw new HttpError(409, 'already_replayed', `dead letter ${id} was replayed at ${letter.replayedAt}`);
    const uplink = s.networks.get(letter.network).uplinkOf(letter.body, letter.appId, s.clock.now());
    if (!uplink) throw new HttpError(422, 'not_an_uplink', `dead letter ${id} holds no uplink`);
    const profile = await s.profiles.resolve(letter.appId ?? DEFAULT_PROFILE);
    const outcome = await s.uplinks.handle({ uplink, profile, credentials: null, replayOf: id }).catch((err: unknown) => {
      if (err instanceof WriteConflict) throw new HttpError(409, 'already_replayed', err.message);
      throw err;
    });
    if (outcome.status === 'dead_letter') {
      throw new HttpError(422, 'replay_failed', 'the uplink failed again and was kept as a new dead letter', {
        dead_letter_id: outcome.deadLetterId,
      });
    }
    ctx.body = { status: outcome.status, device_id: outcome.deviceId };
  });

  return router;
}
