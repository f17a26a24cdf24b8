import Router from '@koa/router';
import { bodyValidator } from '../schemas/validate.js';
import { runFormatterTest } from '../pipeline/formatter-test.js';
import { runCodecExamples } from '../pipeline/codec-examples.js';
import { CodecExamplesSchema } from '../schemas/codec-examples.js';
import { FormatterTestSchema } from '../schemas/formatter-test.js';
import { TEMPLATES } from '../../formatters/templates.js';
import type { Services } from './services.js';

const testBody = bodyValidator(FormatterTestSchema);
const examplesBody = bodyValidator(CodecExamplesSchema);

export function formatterRoutes(s: Services): Router {
  const router = new Router({ prefix: '/api/formatters' });
  router.post('/test', async (ctx) => {
    ctx.body = await runFormatterTest(s, testBody.parse(ctx.request.body));
  });
  router.post('/examples', async (ctx) => {
    ctx.body = await runCodecExamples(s, examplesBody.parse(ctx.request.body));
  });
  router.get('/templates', (ctx) => {
    ctx.body = { items: TEMPLATES };
  });
  return router;
}
