/**
 * A real PostgreSQL server on loopback for tests: a fresh cluster in a temp dir, trust auth, tuned
 * for speed over durability (the launcher's default settings, 'fast'). One per test file; each test
 * takes its own database. The launcher is the bench's (bench/postgres.ts), which runs it durable.
 */
export { Postgres, type PostgresOptions } from '../../bench/postgres.js';
