import Router from '@koa/router';
import { MEASUREMENT_FIELDS, QUANTITIES, unitOf } from '../../formatters/normalized-payload.js';
import { queryValidator } from '../schemas/validate.js';
import { MeasuredQuantitiesQuery, MeasurementQuery } from '../schemas/queries.js';
import { timeRange } from './time-range.js';
import type { Services } from './services.js';

const measurementQuery = queryValidator(MeasurementQuery);
const quantitiesQuery = queryValidator(MeasuredQuantitiesQuery);

/** Normalized measurements (TTS normalized payloads): one quantity across every device that reports it. */
export function measurementRoutes(s: Services): Router {
  const router = new Router({ prefix: '/api/measurements' });

  router.get('/', async (ctx) => {
    const q = measurementQuery.parse({ ...ctx.query });
    const rows = await s.store.listMeasurements({
      quantity: q.quantity,
      ...(q.app_id ? { appId: q.app_id } : {}),
      ...(q.device_id ? { deviceId: q.device_id } : {}),
      ...timeRange(q),
      limit: q.limit,
      order: q.order,
    });
    ctx.body = {
      quantity: q.quantity,
      unit: unitOf(q.quantity),
      items: rows.map((r) => ({ app_id: r.appId, device_id: r.deviceId, ts: new Date(r.tsMs).toISOString(), value: r.value })),
    };
  });

  /** Every quantity of the schema with its unit, and whether any device reported it. */
  router.get('/quantities', async (ctx) => {
    const q = quantitiesQuery.parse({ ...ctx.query });
    const measured = new Set(await s.store.measuredQuantities(QUANTITIES, q.app_id ? { appId: q.app_id } : {}));
    ctx.body = {
      items: QUANTITIES.map((quantity) => ({
        quantity,
        unit: unitOf(quantity),
        description: MEASUREMENT_FIELDS[quantity].description,
        measured: measured.has(quantity),
      })),
    };
  });

  return router;
}
