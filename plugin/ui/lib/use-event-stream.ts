import { useEffect, useRef, useState } from 'preact/hooks';
import type { EventFilters, PluginEvent } from '../api/types.js';
import { useApp } from './app-context.js';

export type StreamState = 'connecting' | 'open' | 'retrying' | 'off';

/**
 * Live plugin events with server-side filters. `resumeAfter` asks the server to replay newer events
 * first (so nothing falls between an initial list load and the stream). Reconnects on filter change.
 */
export function useEventStream(
  filters: EventFilters,
  onEvent: (e: PluginEvent) => void,
  opts: { enabled?: boolean; resumeAfter?: number | null } = {},
): StreamState {
  const { api } = useApp();
  const [state, setState] = useState<StreamState>('off');
  const handler = useRef(onEvent);
  handler.current = onEvent;
  const enabled = opts.enabled ?? true;
  const key = JSON.stringify(filters);

  useEffect(() => {
    if (!enabled) {
      setState('off');
      return;
    }
    const abort = new AbortController();
    void api.streamEvents(
      { ...filters, ...(opts.resumeAfter != null ? { after_id: opts.resumeAfter } : {}) },
      { signal: abort.signal, onEvent: (e) => handler.current(e), onState: setState },
    );
    return () => abort.abort();
  }, [api, key, enabled, opts.resumeAfter]);

  return state;
}
