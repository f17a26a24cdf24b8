import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { join, resolve } from 'node:path';
import pino from 'pino';
import { FormatterPool } from '../sandbox/formatter-pool.js';
import { createApp } from './app.js';
import { formatterPoolOptions, loadConfig, ttsUrlPolicyOptions } from './config.js';
import { newToken } from './http/secrets.js';
import { openStore } from './store/open-store.js';

/** PLUGIN_ADMIN_TOKEN, else the one generated on first start and kept in the data dir (mode 0600). */
function adminToken(dataDir: string, fromEnv: string | undefined): { token: string; generated: boolean } {
  if (fromEnv) return { token: fromEnv, generated: false };
  const file = join(dataDir, 'admin-token');
  if (existsSync(file)) return { token: readFileSync(file, 'utf8').trim(), generated: false };
  const token = newToken();
  writeFileSync(file, `${token}\n`, { mode: 0o600 });
  chmodSync(file, 0o600);
  return { token, generated: true };
}

async function main(): Promise<void> {
  // Everything the plugin writes (the database and its WAL hold API keys and tokens) is its user's
  // alone, whatever the data directory's own mode.
  process.umask(0o077);
  const config = loadConfig();
  const logger = pino({ level: config.logLevel });
  const dataDir = resolve(config.dataDir);
  // The database holds TTS API keys and webhook tokens: keep the folder to the plugin's user.
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const { token, generated } = adminToken(dataDir, config.adminToken);
  const { store, where } = await openStore(config, dataDir);
  const formatters = new FormatterPool(formatterPoolOptions(config));
  formatters.start();
  const app = await createApp({
    store,
    formatters,
    adminToken: token,
    logger,
    ttsTimeoutMs: config.ttsTimeoutMs,
    ttsUrlPolicy: ttsUrlPolicyOptions(config),
    ...(config.publicUrl ? { publicUrl: config.publicUrl } : {}),
  });
  const server = createServer(app.handler).listen(config.port, config.host, () => {
    const address = server.address();
    const port = typeof address === 'object' && address ? address.port : config.port;
    logger.info({ port, data_dir: dataDir, store: where }, 'plugin listening');
    if (generated) {
      // Printed once, on the start that created it; afterwards it is only in the data dir.
      process.stdout.write(`\nAdmin token (also in ${join(dataDir, 'admin-token')}):\n  ${token}\n\n`);
    }
  });

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'stopping: no new connections, finishing in-flight work');
    const drained = new Promise<void>((done) => server.close(() => done()));
    await app.close();
    server.closeIdleConnections();
    setTimeout(() => server.closeAllConnections(), 10_000).unref();
    await drained;
    await formatters.close();
    await store.close();
    logger.info('stopped');
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
