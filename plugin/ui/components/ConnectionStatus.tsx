import type { ConnectionState, ConnectionStatus } from '../api/types.js';
import { ago, clockTime, dateTime } from '../lib/format.js';
import { useNow } from '../lib/use-now.js';
import { Badge, type Tone } from './Badge.js';

const SHOWN: Record<ConnectionState, { label: string; tone: Tone }> = {
  connected: { label: 'Connected', tone: 'ok' },
  connecting: { label: 'Connecting…', tone: 'warn' },
  error: { label: 'Error', tone: 'error' },
  disabled: { label: 'Off', tone: 'muted' },
};

const attempts = (n: number) => (n === 1 ? '1 failed attempt' : `${n} failed attempts`);

/** A small "MQTT connected" badge for the profile bar; the last error on hover. */
export function ConnectionBadge({ status }: { status: ConnectionStatus | null }) {
  if (!status) return null;
  const { label, tone } = SHOWN[status.state];
  return (
    <Badge tone={tone} {...(status.last_error ? { title: `Last error: ${status.last_error}` } : {})}>
      MQTT {label.toLowerCase()}
    </Badge>
  );
}

/**
 * The connection's state in words: since when, the failed attempts and the last error. A live
 * region, so a change is read out; the relative time is not (it changes every few seconds).
 */
export function ConnectionLine({ status }: { status: ConnectionStatus | null }) {
  // Renders again every few seconds for the relative time; the clock is read at each render, since a
  // new state comes between those ticks (a stale one would put its start in the future).
  useNow(5000);
  const now = Date.now();
  return (
    <div class="connection-status" role="status">
      {!status ? (
        <p class="muted">Reading the connection state…</p>
      ) : (
        <>
          <p>
            <span class="connection-label">Connection</span> <Badge tone={SHOWN[status.state].tone}>{SHOWN[status.state].label}</Badge>
            {status.since && (
              <>
                {' since '}
                <time dateTime={status.since} title={dateTime(status.since)}>
                  {clockTime(status.since)}
                </time>
                <span aria-hidden="true">{` (${ago(status.since, now)})`}</span>
              </>
            )}
            {status.failed_attempts > 0 && ` · ${attempts(status.failed_attempts)}`}
          </p>
          {status.last_error && <p class="connection-error">Last error: {status.last_error}</p>}
          {status.state === 'error' && (
            <p class="hint">The broker refused these credentials (or this user’s topics): correct them and save. Until then the plugin tries again only every few minutes.</p>
          )}
          {status.state === 'disabled' && <p class="hint">Not connected: MQTT is turned off here, or the profile is disabled.</p>}
        </>
      )}
    </div>
  );
}
