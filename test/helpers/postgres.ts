import { inject } from 'vitest';
import { createDatabaseOn, Postgres, type PostgresServerRef } from '../../bench/postgres.js';

/**
 * A real PostgreSQL server on loopback for tests: a fresh cluster in a temp dir, trust auth, tuned
 * for speed over durability (the launcher's default settings, 'fast'). One per test file; each test
 * takes its own database. The launcher is the bench's (bench/postgres.ts), which runs it durable.
 */
export { Postgres, type PostgresOptions } from '../../bench/postgres.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Set by the mutation run's global setup (test/mutation-setup.ts): one server for every run. */
    sharedPostgres?: PostgresServerRef;
  }
}

/** What a test file needs of its server: databases, and to let it go at the end. */
export interface FilePostgres {
  createDatabase(prefix?: string): Promise<string>;
  stop(): Promise<void>;
}

/**
 * The server for a test file whose tests only need databases: its own, or in a mutation run the
 * shared one, since Stryker reruns the file for each mutant and a server start would be most of it.
 */
export async function postgresForFile(): Promise<FilePostgres> {
  const shared = inject('sharedPostgres');
  if (!shared) return Postgres.start();
  return { createDatabase: (prefix) => createDatabaseOn(shared, prefix), stop: async () => {} };
}
