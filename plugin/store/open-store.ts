import { join } from 'node:path';
import type { Config } from '../config.js';
import { PgStore } from './pg-store.js';
import { SqliteStore } from './sqlite-store.js';
import type { Store } from './store.js';

/** PostgreSQL when PLUGIN_DATABASE_URL is set, else the SQLite file in the data dir (the zero-configuration default). */
export async function openStore(config: Config, dataDir: string): Promise<{ store: Store; where: string }> {
  const common = { eventCap: config.eventCap, eventCapBytes: config.eventCapMb * 1024 * 1024, recentPerApp: config.recentUplinks, now: () => new Date() };
  if (config.databaseUrl) {
    const store = await PgStore.open({ url: config.databaseUrl, poolSize: config.databasePool, ...common });
    return { store, where: redactedUrl(config.databaseUrl) };
  }
  const file = join(dataDir, 'plugin.db');
  return { store: new SqliteStore({ file, ...common }), where: file };
}

/** Query parameters node-postgres reads secrets from. */
const SECRET_PARAMS = ['password', 'sslpassword', 'sslkey', 'sslcert'];

/** The URL without its secrets, for the log. */
export function redactedUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    for (const name of SECRET_PARAMS) if (u.searchParams.has(name)) u.searchParams.set(name, '***');
    return u.toString();
  } catch {
    return 'postgres://(unparsable URL)';
  }
}
