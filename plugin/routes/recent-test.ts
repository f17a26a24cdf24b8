import Router from '@koa/router';
import { runOnRecentUplinks } from '../pipeline/recent-test.js';
import { RecentTestSchema } from '../schemas/formatter-test.js';
import { bodyValidator } from '../schemas/validate.js';
import type { Services } from './services.js';

const recentBody = bodyValidator(RecentTestSchema);

/** `POST /api/formatters/test-recent`: a formatter over the application's recent uplinks, nothing stored. */
export function recentTestRoutes(s: Services): Router {
  const router = new Router();
  router.post('/api/formatters/test-recent', async (ctx) => {
    ctx.body = await runOnRecentUplinks(s, recentBody.parse(ctx.request.body));
  });
  return router;
}
