import Koa from 'koa';
import { jsonBody } from '../plugin/http/json-body.js';
import { envNumber, failChild, serveChild } from './ipc.js';

/**
 * The baseline: Koa with the plugin's own JSON body parser (same options), answering 200 with a
 * body of the same shape as the plugin's. Everything the plugin does beyond this is its cost.
 */
function main(): void {
  const koa = new Koa({ proxy: false });
  koa.use(jsonBody());
  koa.use((ctx) => {
    const body = ctx.request.body as { end_device_ids?: { dev_eui?: string } } | undefined;
    ctx.status = 200;
    ctx.body = { status: 'stored', device_id: body?.end_device_ids?.dev_eui ?? null };
  });
  const server = koa.listen(envNumber('BENCH_PORT', 0), '127.0.0.1');
  serveChild(server, async () => {});
}

try {
  main();
} catch (err) {
  failChild(err);
}
