import type { RecentRun, RecentStatus } from '../../api/types.js';
import { Badge, type Tone } from '../../components/Badge.js';
import { ConsoleLog } from '../../components/ConsoleLog.js';
import { JsonBlock } from '../../components/JsonBlock.js';
import { JsonComparison } from '../../components/JsonComparison.js';
import { dateTime } from '../../lib/format.js';
import { hrefOf } from '../../lib/router.js';
import { LineLink } from './LineLink.js';

export const STATUS_TONE: Record<RecentStatus, Tone> = { same: 'ok', changed: 'warn', failed: 'error' };

/** One recent uplink run again: what was stored then beside what the script gives now. */
export function RecentRunItem({ run, onReveal }: { run: RecentRun; onReveal(line: number, column?: number): void }) {
  const storedBy = run.formatter_version !== null ? `version ${run.formatter_version}` : 'an earlier formatter';
  const label = `Uplink of ${run.device_id} at ${dateTime(run.received_at)}`;
  return (
    <li class="run">
      <div class="run-head">
        <Badge tone={STATUS_TONE[run.status]}>{run.status}</Badge>
        <time dateTime={run.received_at}>{dateTime(run.received_at)}</time>
        <a class="mono" href={hrefOf({ screen: 'device', id: run.device_id })}>
          {run.device_id}
        </a>
        <span class="sub">
          fPort {run.f_port} · stored by {storedBy}
        </span>
      </div>
      {run.error && (
        <div class="error-note">
          <strong>{run.error.kind} error: </strong>
          {run.error.message}
          <LineLink line={run.error.line} column={run.error.column} onReveal={onReveal} />
        </div>
      )}
      {!run.stored && run.stored_error && (
        <p class="sub">
          Then it became a dead letter: {String(run.stored_error.kind ?? 'error')}: {String(run.stored_error.message ?? '')}
        </p>
      )}
      {run.status === 'same' ? (
        <details class="disclosure">
          <summary>Output (as stored)</summary>
          <JsonBlock value={run.output} label={`${label}: output`} />
        </details>
      ) : (
        <JsonComparison
          left={{ title: `Stored (${storedBy})`, name: 'stored', value: run.stored }}
          right={{ title: 'New output', name: 'new', value: run.output }}
          differences={run.differences}
          label={label}
        />
      )}
      {run.warnings.length > 0 && (
        <ul class="warnings" aria-label={`${label}: warnings`}>
          {run.warnings.map((w, i) => (
            <li key={i}>{w}</li>
          ))}
        </ul>
      )}
      {run.logs.length > 0 && (
        <details class="disclosure">
          <summary>Console ({run.logs.length})</summary>
          <ConsoleLog logs={run.logs} label={`${label}: console logs`} />
        </details>
      )}
    </li>
  );
}
