import { mkdirSync } from 'node:fs';
import { createServer } from 'node:http';
import { join, resolve } from 'node:path';
import pino from 'pino';
import { createApp } from '../plugin/app.js';
import { loadConfig, runtimeOptions } from '../plugin/config.js';
import { SqliteStore } from '../plugin/store/sqlite-store.js';
import { FormatterRuntime } from '../sandbox/runtime.js';
import { failChild, serveChild } from './ipc.js';

/**
 * The plugin as plugin/main.ts builds it (same config loading and defaults, SqliteStore,
 * FormatterRuntime, createApp), with the parent's PLUGIN_* environment: data dir, port 0 on
 * loopback, a fixed admin token and a silent logger.
 */
async function main(): Promise<void> {
  const config = loadConfig();
  const logger = pino({ level: 'silent' });
  const dataDir = resolve(config.dataDir);
  mkdirSync(dataDir, { recursive: true });
  if (!config.adminToken) throw new Error('PLUGIN_ADMIN_TOKEN is required for the bench');
  const store = new SqliteStore({ file: join(dataDir, 'plugin.db'), eventCap: config.eventCap, now: () => new Date() });
  const runtime = new FormatterRuntime(runtimeOptions(config));
  const app = await createApp({
    store,
    runtime,
    adminToken: config.adminToken,
    logger,
    ttsTimeoutMs: config.ttsTimeoutMs,
    ...(config.publicUrl ? { publicUrl: config.publicUrl } : {}),
  });
  const server = createServer(app.handler).listen(config.port, config.host);
  serveChild(server, async () => {
    await app.close();
    runtime.dispose();
    await store.close();
  }, () => runtime.stats());
}

main().catch(failChild);
