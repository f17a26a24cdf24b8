import type { TestProject } from 'vitest/node';
import { Postgres } from '../bench/postgres.js';

/**
 * The mutation run's global setup: one PostgreSQL server for all of it (postgresForFile), stopped
 * at the end. Stryker reruns test files for every mutant in one vitest instance. (Not through
 * test/helpers/postgres.ts: a global setup may not import vitest.)
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const server = await Postgres.start();
  project.provide('sharedPostgres', { url: server.url, major: server.major });
  return () => server.stop();
}
