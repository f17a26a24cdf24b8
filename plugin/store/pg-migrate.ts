import type pg from 'pg';
import { PG_MIGRATIONS } from './pg-schema.js';

/** Held while migrating: instances starting together apply each version once, one after another. */
const MIGRATION_LOCK = 7_146_238_951_402_117n;

/**
 * Applies the versions of `migrations` (1-based) that `schema_migrations` lacks, each in its own
 * transaction. Returns the versions this call applied.
 */
export async function migrate(pool: pg.Pool, now: () => Date, migrations: readonly string[] = PG_MIGRATIONS): Promise<number[]> {
  const client = await pool.connect();
  try {
    // Waiting for another instance's migration, and a migration itself, may take longer than the
    // pool's limits allow a statement (this connection is closed afterwards, never reused).
    await client.query('SET statement_timeout = 0; SET lock_timeout = 0');
    // A session lock: it goes with the connection if this process dies mid-way.
    await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK.toString()]);
    try {
      await client.query('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)');
      const done = new Set((await client.query<{ version: number }>('SELECT version FROM schema_migrations')).rows.map((r) => r.version));
      const applied: number[] = [];
      for (let i = 0; i < migrations.length; i++) {
        const version = i + 1;
        if (done.has(version)) continue;
        await client.query('BEGIN');
        try {
          await client.query(migrations[i]);
          await client.query('INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)', [version, now().toISOString()]);
          await client.query('COMMIT');
        } catch (err) {
          await client.query('ROLLBACK').catch(() => undefined);
          throw err;
        }
        applied.push(version);
      }
      return applied;
    } finally {
      await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK.toString()]).catch(() => undefined);
    }
  } finally {
    // Closed, not returned to the pool: it has no limits, and one that failed may still hold the lock.
    client.release(true);
  }
}
