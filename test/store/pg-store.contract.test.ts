import { PgStore } from '../../plugin/store/pg-store.js';
import type { Store } from '../../plugin/store/store.js';
import { postgresForFile } from '../helpers/postgres.js';
import { describeStoreContract } from './store-contract.js';

describeStoreContract('PgStore', async () => {
  const server = await postgresForFile();
  // A sibling is another instance on the same database: each store's URL is kept to open one.
  const urls = new WeakMap<Store, string>();
  const openOn = async (url: string, o: { now: () => Date; eventCap?: number; eventCapBytes?: number; recentPerApp?: number }) => {
    const store = await PgStore.open({ url, eventCap: o.eventCap ?? 10_000, eventCapBytes: o.eventCapBytes, recentPerApp: o.recentPerApp, now: o.now });
    urls.set(store, url);
    return store;
  };
  return {
    open: async (o) => openOn(await server.createDatabase(), o),
    openSibling: async (of, o) => {
      const url = urls.get(of);
      if (!url) throw new Error('openSibling of a store this suite did not open');
      return openOn(url, o);
    },
    teardown: () => server.stop(),
  };
});
