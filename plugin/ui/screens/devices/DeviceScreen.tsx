import { useState } from 'preact/hooks';
import { asApiError, type ApiError } from '../../api/errors.js';
import type { Device } from '../../api/types.js';
import { Badge } from '../../components/Badge.js';
import { ErrorNote } from '../../components/ErrorNote.js';
import { JsonBlock } from '../../components/JsonBlock.js';
import { NetworkBadge } from '../../components/NetworkBadge.js';
import { useApp } from '../../lib/app-context.js';
import { ago, dateTime } from '../../lib/format.js';
import { networkName } from '../../lib/networks.js';
import { hrefOf, navigate } from '../../lib/router.js';
import { useEventStream } from '../../lib/use-event-stream.js';
import { useLoad } from '../../lib/use-load.js';
import { useNow } from '../../lib/use-now.js';
import { useThrottled } from '../../lib/use-throttled.js';
import { BucketCard } from './BucketCard.js';
import { DownlinkCard } from './DownlinkCard.js';
import { DownlinkHistory } from './DownlinkHistory.js';

/** Whether downlinks can go out: TTS sends a device's downlink credentials with its webhooks; other networks' come with the profile. */
function downlinkState(d: Device): string {
  if (d.network === 'tts') return d.downlink_ready ? 'ready (TTS credentials received)' : 'waiting for an uplink with TTS credentials';
  const name = networkName(d.network).short;
  return d.downlink_ready ? `ready (through the profile’s ${name} connection)` : `waiting for ${name} downlink credentials`;
}

/** One device: data plot and table, downlink, downlink history, identifiers and properties; live. */
export function DeviceScreen({ id }: { id: string }) {
  const { api } = useApp();
  const device = useLoad(() => api.device(id), [api, id]);
  const [dataVersion, setDataVersion] = useState(0);
  const [historyVersion, setHistoryVersion] = useState(0);
  const [deleting, setDeleting] = useState<'ask' | 'busy' | null>(null);
  const [deleteError, setDeleteError] = useState<ApiError | null>(null);
  const now = useNow();

  const onUplink = useThrottled(() => {
    device.reload();
    setDataVersion((v) => v + 1);
  }, 1000);
  const onDownlink = useThrottled(() => setHistoryVersion((v) => v + 1), 500);
  const live = useEventStream({ device_id: id }, (e) => {
    if (e.category === 'downlink') onDownlink();
    else onUplink();
  });

  const remove = async () => {
    setDeleting('busy');
    try {
      await api.deleteDevice(id);
      navigate({ screen: 'devices' });
    } catch (err) {
      setDeleteError(asApiError(err));
      setDeleting('ask');
    }
  };

  if (device.error && !device.data) {
    return (
      <div class="page">
        <ErrorNote error={device.error} prefix={device.error.status === 404 ? 'No such device' : 'The device could not be loaded'} />
        <a href={hrefOf({ screen: 'devices' })}>Back to the list</a>
      </div>
    );
  }
  const d = device.data;
  if (!d) return <p class="muted">Loading device…</p>;
  const properties = Object.entries(d.properties).filter(([name]) => name !== 'downlink');

  return (
    <div class="page">
      <header class="page-header">
        <div class="title-block">
          <a class="back" href={hrefOf({ screen: 'devices' })} aria-label="Back to the list">
            ‹
          </a>
          <div>
            <h1 class="mono">{d.id}</h1>
            <p class="lead">
              <Badge tone={d.connected ? 'ok' : 'muted'}>{d.connected ? 'Connected' : 'Offline'}</Badge> <NetworkBadge network={d.network} /> {d.app_id} · last seen{' '}
              <span title={dateTime(d.last_seen_at)}>{ago(d.last_seen_at, now)}</span>
            </p>
          </div>
        </div>
        <span class={`live-pill live-${live}`}>{live === 'open' ? 'Live' : 'Connecting…'}</span>
      </header>

      {d.bucket_id ? (
        <BucketCard bucketId={d.bucket_id} version={dataVersion} />
      ) : (
        <div class="card empty">
          <p>This device has no bucket: its profile had “Auto provision bucket” off when it was created.</p>
        </div>
      )}

      <div class="grid-2">
        <DownlinkCard device={d} onSent={() => setHistoryVersion((v) => v + 1)} />
        <DownlinkHistory deviceId={d.id} version={historyVersion} />
      </div>

      <div class="grid-2">
        <section class="card" aria-labelledby="ids-title">
          <header class="card-header">
            <h2 id="ids-title">Identifiers</h2>
          </header>
          <dl class="kv">
            <dt>Network</dt>
            <dd>{networkName(d.network).full}</dd>
            <dt>{d.network === 'tts' ? 'TTS device ID' : 'Network device ID'}</dt>
            <dd class="mono">{d.ids.network_device_id}</dd>
            <dt>Application</dt>
            <dd class="mono">{d.ids.app_id}</dd>
            <dt>DevEUI</dt>
            <dd class="mono">{d.ids.dev_eui ?? '—'}</dd>
            <dt>JoinEUI</dt>
            <dd class="mono">{d.ids.join_eui ?? '—'}</dd>
            <dt>DevAddr</dt>
            <dd class="mono">{d.ids.dev_addr ?? '—'}</dd>
            <dt>Asset type / group</dt>
            <dd>
              {d.asset_type ?? '—'} / {d.asset_group ?? '—'}
            </dd>
            <dt>Connection timeout</dt>
            <dd>{d.connection_timeout_min} min</dd>
            <dt>Downlinks</dt>
            <dd>{downlinkState(d)}</dd>
            <dt>Created</dt>
            <dd>{dateTime(d.created_at)}</dd>
          </dl>
        </section>
        <section class="card" aria-labelledby="props-title">
          <header class="card-header">
            <h2 id="props-title">Properties</h2>
          </header>
          {properties.length === 0 && <p class="muted">No properties.</p>}
          {properties.map(([name, value]) => (
            <details class="disclosure" key={name} open={name === 'device'}>
              <summary>{name}</summary>
              <JsonBlock value={value} />
            </details>
          ))}
        </section>
      </div>

      <section class="card danger-zone" aria-labelledby="delete-title">
        <header class="card-header">
          <h2 id="delete-title">Delete device</h2>
          <p class="hint">Removes the device record, its properties and downlink history; its bucket keeps the data. Its next uplink provisions it again.</p>
        </header>
        {deleting ? (
          <div class="button-row">
            <span>Delete {d.id}?</span>
            <button type="button" class="btn btn-danger" disabled={deleting === 'busy'} onClick={remove}>
              {deleting === 'busy' ? 'Deleting…' : 'Delete'}
            </button>
            <button type="button" class="btn" onClick={() => setDeleting(null)}>
              Cancel
            </button>
          </div>
        ) : (
          <button type="button" class="btn btn-danger-outline" onClick={() => setDeleting('ask')}>
            Delete device
          </button>
        )}
        <ErrorNote error={deleteError} prefix="Not deleted" />
      </section>
    </div>
  );
}
