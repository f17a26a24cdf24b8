import { useEffect, useState } from 'preact/hooks';
import { asApiError, type ApiError } from '../../api/errors.js';
import type { Device } from '../../api/types.js';
import { Badge } from '../../components/Badge.js';
import { ErrorNote } from '../../components/ErrorNote.js';
import { NetworkBadge } from '../../components/NetworkBadge.js';
import { useApp } from '../../lib/app-context.js';
import { ago, dateTime } from '../../lib/format.js';
import { hrefOf } from '../../lib/router.js';
import { useEventStream } from '../../lib/use-event-stream.js';
import { useLoad } from '../../lib/use-load.js';
import { useNow } from '../../lib/use-now.js';
import { useThrottled } from '../../lib/use-throttled.js';

const PAGE = 100;
/** Events after which the list may have changed (new device, last seen, deleted). */
const LIVE_CATEGORIES = new Set(['provisioning', 'uplink', 'device']);

/** The device's own ids on its network, those its id does not already show (TTS device id, DevEUI, DevAddr). */
export function otherIds(d: Device): string[] {
  const { network_device_id, dev_eui, dev_addr } = d.ids;
  const out: string[] = [];
  if (network_device_id !== d.id) out.push(network_device_id);
  if (dev_eui && dev_eui !== network_device_id && !d.id.toUpperCase().endsWith(dev_eui)) out.push(`DevEUI ${dev_eui}`);
  if (dev_addr) out.push(`DevAddr ${dev_addr}`);
  return out;
}

export function DevicesScreen() {
  const { api } = useApp();
  const [search, setSearch] = useState('');
  const [query, setQuery] = useState('');
  const [more, setMore] = useState<{ items: Device[]; cursor: string | null; error: ApiError | null; busy: boolean }>({ items: [], cursor: null, error: null, busy: false });
  const now = useNow();

  // Search as you type, without a request per key.
  useEffect(() => {
    const t = setTimeout(() => setQuery(search.trim()), 250);
    return () => clearTimeout(t);
  }, [search]);

  // Live refreshes reload the first page only; pages loaded with "Load more" stay until the search changes.
  const first = useLoad(() => api.devices({ limit: PAGE, ...(query ? { search: query } : {}) }), [api, query]);
  useEffect(() => setMore({ items: [], cursor: null, error: null, busy: false }), [api, query]);

  const refresh = useThrottled(first.reload, 2000);
  const live = useEventStream({}, (e) => {
    if (LIVE_CATEGORIES.has(e.category)) refresh();
  });

  const loadMore = async () => {
    const cursor = more.cursor ?? first.data?.next_cursor;
    if (!cursor) return;
    setMore((m) => ({ ...m, busy: true }));
    try {
      const page = await api.devices({ limit: PAGE, cursor, ...(query ? { search: query } : {}) });
      setMore((m) => ({ items: [...m.items, ...page.items], cursor: page.next_cursor, error: null, busy: false }));
    } catch (err) {
      setMore((m) => ({ ...m, error: asApiError(err), busy: false }));
    }
  };

  const firstItems = first.data?.items ?? [];
  const onFirstPage = new Set(firstItems.map((d) => d.id));
  const devices = [...firstItems, ...more.items.filter((d) => !onFirstPage.has(d.id))];
  const nextCursor = more.items.length ? more.cursor : (first.data?.next_cursor ?? null);

  return (
    <div class="page">
      <header class="page-header">
        <div>
          <h1>Devices</h1>
          <p class="lead">Created on their first uplink by auto-provisioning. The list follows new uplinks live.</p>
        </div>
        <span class={`live-pill live-${live}`}>{live === 'open' ? 'Live' : 'Connecting…'}</span>
      </header>
      <div class="toolbar">
        <input
          type="search"
          class="search"
          aria-label="Search devices"
          placeholder="Search by device id, DevEUI or application"
          value={search}
          onInput={(e) => setSearch(e.currentTarget.value)}
        />
        <span class="muted">{first.data ? `${devices.length}${nextCursor ? '+' : ''} ${devices.length === 1 ? 'device' : 'devices'}` : ''}</span>
      </div>
      <ErrorNote error={first.error} prefix="Devices could not be loaded" />
      {first.data && devices.length === 0 && (
        <div class="card empty">
          <p>{query ? `No device matches “${query}”.` : 'No devices yet. A device appears here when its first uplink reaches the plugin.'}</p>
        </div>
      )}
      {devices.length > 0 && (
        <div class="card flush">
          <table class="table devices-table">
            <thead>
              <tr>
                <th scope="col">Device</th>
                <th scope="col">Application</th>
                <th scope="col">Last seen</th>
                <th scope="col">Status</th>
              </tr>
            </thead>
            <tbody>
              {devices.map((d) => (
                <tr key={d.id}>
                  <td data-label="Device">
                    <a class="mono strong" href={hrefOf({ screen: 'device', id: d.id })}>
                      {d.id}
                    </a>
                    {otherIds(d).length > 0 && <div class="sub mono">{otherIds(d).join(' · ')}</div>}
                  </td>
                  <td data-label="Application">
                    <span class="app-cell">
                      <NetworkBadge network={d.network} /> {d.app_id}
                    </span>
                  </td>
                  <td data-label="Last seen" title={dateTime(d.last_seen_at)}>
                    {ago(d.last_seen_at, now)}
                  </td>
                  <td data-label="Status">
                    <Badge tone={d.connected ? 'ok' : 'muted'}>{d.connected ? 'Connected' : 'Offline'}</Badge>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <ErrorNote error={more.error} prefix="More devices could not be loaded" />
      {nextCursor && (
        <button type="button" class="btn" onClick={loadMore} disabled={more.busy}>
          {more.busy ? 'Loading…' : 'Load more'}
        </button>
      )}
    </div>
  );
}
