import Router from '@koa/router';
import { buildManifest } from '../manifest.js';
import type { Services } from './services.js';

/** Unauthenticated: health (with the formatter processes' counters) and the plugin manifest. */
export function publicRoutes(s: Services): Router {
  const manifest = JSON.stringify(buildManifest());
  const router = new Router();
  router.get('/healthz', (ctx) => {
    ctx.set('Cache-Control', 'no-store');
    // Counts only: which applications are suspended, or which connections are down, is for the admin API.
    ctx.body = { status: 'ok', version: s.version, details: { formatters: s.formatters.stats(), mqtt: s.connections.counts() } };
  });
  router.get('/manifest.json', (ctx) => {
    ctx.type = 'application/json';
    ctx.set('Cache-Control', 'no-cache');
    ctx.body = manifest;
  });
  return router;
}
