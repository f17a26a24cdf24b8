import { useEffect } from 'preact/hooks';
import type { ConnectionStatus } from '../api/types.js';
import { useApp } from './app-context.js';
import { useEventStream } from './use-event-stream.js';
import { useLoad } from './use-load.js';

/** How often a connection that is down is read again: its retries raise no event while the state stays the same. */
const RETRY_READ_MS = 5000;

/** What a profile that holds no connection (MQTT off, profile disabled) shows, without asking. */
const OFF: ConnectionStatus = { state: 'disabled', last_error: null, since: null, failed_attempts: 0 };

/**
 * A profile's MQTT connection, live: read when `active` (the saved profile connects over MQTT),
 * again on each of its `connection` events, after each save (`savedAt`), and every few seconds
 * while it is down, so the failed attempts count on. Null until the first answer.
 */
export function useConnection(appId: string, active: boolean, savedAt: string): ConnectionStatus | null {
  const { api } = useApp();
  const status = useLoad(() => (active ? api.connection(appId) : Promise.resolve(OFF)), [api, appId, active]);
  const stream = useEventStream({ app_id: appId, category: 'connection' }, status.reload, { enabled: active });
  const { reload } = status;

  // A save may have replaced the connection (another key or broker), and changes while the stream was
  // (re)connecting came as no event: read again then.
  useEffect(() => {
    if (active && stream === 'open') reload();
  }, [active, stream, savedAt, reload]);

  const down = status.data?.state === 'connecting' || status.data?.state === 'error';
  useEffect(() => {
    if (!active || !down) return;
    const timer = setInterval(reload, RETRY_READ_MS);
    return () => clearInterval(timer);
  }, [active, down, reload]);

  return status.data;
}
