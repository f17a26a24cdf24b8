import { mkdirSync } from 'node:fs';
import { createServer } from 'node:http';
import { resolve } from 'node:path';
import pino from 'pino';
import { createApp } from '../plugin/app.js';
import { formatterPoolOptions, loadConfig, ttsUrlPolicyOptions } from '../plugin/config.js';
import { openStore } from '../plugin/store/open-store.js';
import { FormatterPool } from '../sandbox/formatter-pool.js';
import { failChild, serveChild } from './ipc.js';

/**
 * The plugin as plugin/main.ts builds it (same config loading and defaults, its store: SQLite, or
 * PostgreSQL with PLUGIN_DATABASE_URL; FormatterPool with its processes, createApp), with the
 * parent's PLUGIN_* environment: data dir, port 0 on loopback, a fixed admin token and a silent logger.
 */
async function main(): Promise<void> {
  const config = loadConfig();
  const logger = pino({ level: 'silent' });
  const dataDir = resolve(config.dataDir);
  mkdirSync(dataDir, { recursive: true });
  if (!config.adminToken) throw new Error('PLUGIN_ADMIN_TOKEN is required for the bench');
  const { store } = await openStore(config, dataDir);
  const formatters = new FormatterPool(formatterPoolOptions(config));
  formatters.start();
  const app = await createApp({
    store,
    formatters,
    adminToken: config.adminToken,
    logger,
    ttsTimeoutMs: config.ttsTimeoutMs,
    ttsUrlPolicy: ttsUrlPolicyOptions(config),
    ...(config.publicUrl ? { publicUrl: config.publicUrl } : {}),
  });
  const server = createServer(app.handler).listen(config.port, config.host);
  serveChild(server, async () => {
    await app.close();
    await formatters.close();
    await store.close();
  }, async () => {
    const pool = formatters.stats();
    return { ...(await formatters.runtimeStats()), formatterProcesses: pool.running, restarts: pool.restarts };
  }, () => formatters.usage());
}

main().catch(failChild);
