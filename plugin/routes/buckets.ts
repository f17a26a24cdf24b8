import Router from '@koa/router';
import { notFound } from '../http/http-error.js';
import { timeRange } from './time-range.js';
import { queryValidator } from '../schemas/validate.js';
import { BucketDataQuery, BucketListQuery } from '../schemas/queries.js';
import { toCsv } from './csv.js';
import { bucketView } from './views.js';
import type { Services } from './services.js';

const listQuery = queryValidator(BucketListQuery);
const dataQuery = queryValidator(BucketDataQuery);

export function bucketRoutes(s: Services): Router {
  const router = new Router({ prefix: '/api/buckets' });

  router.get('/', async (ctx) => {
    const q = listQuery.parse({ ...ctx.query });
    const buckets = await s.store.listBuckets({ ...(q.app_id ? { appId: q.app_id } : {}), ...(q.device_id ? { deviceId: q.device_id } : {}) });
    ctx.body = { items: buckets.map(bucketView) };
  });

  router.get('/:id', async (ctx) => {
    const bucket = await s.store.getBucket(ctx.params.id);
    if (!bucket) throw notFound('bucket', ctx.params.id);
    ctx.body = bucketView(bucket);
  });

  router.get('/:id/data', async (ctx) => {
    const q = dataQuery.parse({ ...ctx.query });
    const range = timeRange(q);
    if (!(await s.store.getBucket(ctx.params.id))) throw notFound('bucket', ctx.params.id);
    const rows = await s.store.readBucket(ctx.params.id, { limit: q.limit, order: q.order, ...range });
    if (q.format === 'csv') {
      ctx.type = 'text/csv; charset=utf-8';
      ctx.attachment(`${ctx.params.id}.csv`);
      ctx.body = toCsv(rows);
      return;
    }
    ctx.body = { bucket_id: ctx.params.id, items: rows };
  });

  return router;
}
