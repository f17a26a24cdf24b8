import { useEffect, useState } from 'preact/hooks';
import { JsonBlock } from '../../components/JsonBlock.js';
import { ErrorNote } from '../../components/ErrorNote.js';
import { MessageStatus } from '../../components/MessageStatus.js';
import { NetworkBadge } from '../../components/NetworkBadge.js';
import { useApp } from '../../lib/app-context.js';
import { dateTime } from '../../lib/format.js';
import { networkName } from '../../lib/networks.js';
import { useLoad } from '../../lib/use-load.js';

const PAGE = 10;

/** Downlinks of the device, newest first, with status; `version` bumps reload it (live updates). */
export function DownlinkHistory({ deviceId, version }: { deviceId: string; version: number }) {
  const { api } = useApp();
  const [limit, setLimit] = useState(PAGE);
  const [open, setOpen] = useState<string | null>(null);
  const page = useLoad(() => api.messages(deviceId, { limit }), [api, deviceId, limit]);
  useEffect(() => {
    if (version) page.reload();
  }, [version]);

  const messages = page.data?.messages ?? [];
  return (
    <section class="card" aria-labelledby="history-title">
      <header class="card-header">
        <h2 id="history-title">Downlink history</h2>
        <p class="hint">{page.data ? `${page.data.total} ${page.data.total === 1 ? 'message' : 'messages'}` : 'Loading…'}</p>
      </header>
      <ErrorNote error={page.error} prefix="History could not be loaded" />
      {page.data && messages.length === 0 && <p class="muted">No downlinks sent to this device yet.</p>}
      {messages.length > 0 && (
        <ul class="history" aria-label="Downlinks">
          {messages.map((m) => (
            <li key={m.message_id} class="history-item">
              <button type="button" class="history-row" aria-expanded={open === m.message_id} onClick={() => setOpen(open === m.message_id ? null : m.message_id)}>
                <MessageStatus status={m.status} detail={m.detail} />
                <span class="history-detail">{m.detail.replace(/_/g, ' ')}</span>
                <span class="mono sub">{m.message_id}</span>
                <span class="sub history-time">{dateTime(m.created_time)}</span>
              </button>
              {open === m.message_id && (
                <div class="history-body">
                  <dl class="kv small">
                    <dt>Network</dt>
                    <dd>
                      <NetworkBadge network={m.network} />
                    </dd>
                    <dt>FPort</dt>
                    <dd>{m.f_port ?? 'from last uplink'}</dd>
                    <dt>Confirmed</dt>
                    <dd>{m.confirmed ? 'yes' : 'no'}</dd>
                    <dt>Priority</dt>
                    <dd>{m.priority}</dd>
                    <dt>Attempts</dt>
                    <dd>{m.attempts}</dd>
                    <dt>Finished</dt>
                    <dd>{dateTime(m.finished_time)}</dd>
                    {m.error && (
                      <>
                        <dt>Error</dt>
                        <dd class="text-error">
                          {m.error.message} <code>{m.error.code}</code>
                        </dd>
                      </>
                    )}
                  </dl>
                  <h3>Message</h3>
                  <JsonBlock value={m.message} />
                  {m.request && (
                    <>
                      <h3>{m.status === 'PENDING' && m.attempts === 0 ? 'To send to' : 'Sent to'} {networkName(m.network).short}</h3>
                      <JsonBlock value={m.request} />
                    </>
                  )}
                </div>
              )}
            </li>
          ))}
        </ul>
      )}
      {page.data && page.data.total > messages.length && (
        <button type="button" class="btn btn-small" onClick={() => setLimit(limit + PAGE)}>
          Show more
        </button>
      )}
    </section>
  );
}
