import Router from '@koa/router';
import { buildManifest } from '../manifest.js';
import type { Services } from './services.js';

/** How long a health check waits for the store, and how long its answer serves later checks. */
const HEALTH_STORE_TIMEOUT_MS = 2000;
const HEALTH_STORE_FRESH_MS = 1000;

/**
 * Whether the store answers, asked at most once a second whatever the number of checks: the
 * health route is open to anyone, and a flood of it must not become a flood of queries.
 */
function storeHealth(store: Services['store']): () => Promise<boolean> {
  let checked: { at: number; ok: Promise<boolean> } | null = null;
  return () => {
    const now = performance.now();
    if (checked && now - checked.at < HEALTH_STORE_FRESH_MS) return checked.ok;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error('no answer')), HEALTH_STORE_TIMEOUT_MS);
    });
    const ok = Promise.race([store.ping(), timeout]).then(
      () => true,
      () => false,
    );
    void ok.finally(() => clearTimeout(timer));
    checked = { at: now, ok };
    return ok;
  };
}

/** Unauthenticated: health (with the formatter processes' counters) and the plugin manifest. */
export function publicRoutes(s: Services): Router {
  const manifest = JSON.stringify(buildManifest());
  const storeAnswers = storeHealth(s.store);
  const router = new Router();
  router.get('/healthz', async (ctx) => {
    ctx.set('Cache-Control', 'no-store');
    // A load balancer sends elsewhere while this instance cannot reach its database.
    if (!(await storeAnswers())) {
      ctx.status = 503;
      ctx.body = { status: 'unavailable', version: s.version, details: { store: 'unreachable' } };
      return;
    }
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
