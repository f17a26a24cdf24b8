import type { PluginEvent } from '../../api/types.js';
import { CopyButton } from '../../components/CopyButton.js';
import { JsonBlock } from '../../components/JsonBlock.js';
import { dateTime, prettyJson } from '../../lib/format.js';
import { hrefOf } from '../../lib/router.js';
import { SeverityBadge } from './SeverityBadge.js';

export function EventDetail({ event, onClose }: { event: PluginEvent; onClose(): void }) {
  return (
    <aside class="card event-detail" aria-label="Event detail">
      <header class="card-header row">
        <h2>{event.title}</h2>
        <button type="button" class="btn btn-small" onClick={onClose}>
          Close
        </button>
      </header>
      <dl class="kv small">
        <dt>Time</dt>
        <dd>{dateTime(event.ts)}</dd>
        <dt>Severity</dt>
        <dd>
          <SeverityBadge severity={event.severity} />
        </dd>
        <dt>Category</dt>
        <dd>{event.category}</dd>
        <dt>Application</dt>
        <dd class="mono">{event.app_id ?? '—'}</dd>
        <dt>Device</dt>
        <dd class="mono">{event.device_id ? <a href={hrefOf({ screen: 'device', id: event.device_id })}>{event.device_id}</a> : '—'}</dd>
        <dt>Event id</dt>
        <dd class="mono">{event.id}</dd>
      </dl>
      <div class="row">
        <h3>Details</h3>
        <CopyButton text={prettyJson(event)} label="Copy event JSON" />
      </div>
      <JsonBlock value={event.details} label="Event details" />
    </aside>
  );
}
