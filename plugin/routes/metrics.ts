import Router from '@koa/router';
import type { PluginMetrics } from '../metrics/metrics.js';

/** GET /metrics: Prometheus text format; admin token required (wired in app.ts, /metrics is not under /api/). */
export function metricsRoutes(metrics: PluginMetrics): Router {
  const router = new Router();
  router.get('/metrics', async (ctx) => {
    const text = await metrics.text();
    ctx.set('Cache-Control', 'no-store');
    ctx.set('Content-Type', metrics.contentType);
    ctx.body = text;
  });
  return router;
}
