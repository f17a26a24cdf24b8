import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteStore } from '../../plugin/store/sqlite-store.js';
import { describeStoreContract, SIBLING_CASES } from './store-contract.js';

describeStoreContract('SqliteStore', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'store-contract-sqlite-'));
  let files = 0;
  return {
    open: async ({ now, eventCap, eventCapBytes, recentPerApp }) =>
      new SqliteStore({ file: join(dir, `store-${++files}.db`), eventCap: eventCap ?? 10_000, eventCapBytes, recentPerApp, now }),
    skips: Object.fromEntries(SIBLING_CASES.map((title) => [title, 'a SQLite file belongs to one plugin process'])),
    teardown: () => rm(dir, { recursive: true, force: true }),
  };
});
