import type { Logger } from 'pino';
import type { PoolEvent } from '../../sandbox/formatter-pool.js';
import type { EventInput } from '../store/records.js';
import type { EventLog } from './event-log.js';

/** What the formatter pool reports (suspensions, kills, crashes), as events in the log. */
export function formatterEvent(event: PoolEvent): EventInput {
  const base = { deviceId: null, category: 'formatter' } as const;
  switch (event.type) {
    case 'suspended': {
      const { appId, until, failures, kills, lastError } = event.suspension;
      const untilIso = new Date(until).toISOString();
      const why = kills > 0 ? `its calls stopped ${kills} formatter processes` : `${failures} timeouts or memory errors in a row`;
      return {
        ...base,
        appId,
        severity: 'error',
        title: `Formatter suspended until ${untilIso} after ${why}; its uplinks are kept as dead letters`,
        details: { suspended_until: untilIso, failures, kills, last_error: { ...lastError } },
      };
    }
    case 'resumed':
      return { ...base, appId: event.appId, severity: 'info', title: 'Formatter resumed: its script was saved', details: {} };
    case 'isolated':
      return {
        ...base,
        appId: event.appId,
        severity: 'warning',
        title: `Formatter moved to an isolate of its own: ${event.why}`,
        details: { why: event.why },
      };
    case 'killed':
      return {
        ...base,
        appId: event.appId,
        severity: 'error',
        title: `Formatter did not stop at its ${event.timeoutMs} ms time limit: its process was killed and replaced`,
        details: { pid: event.pid ?? null },
      };
    case 'crashed':
      return {
        ...base,
        appId: null,
        severity: 'error',
        title: 'A formatter process died; its calls went to a fresh one',
        details: { pid: event.pid ?? null, signal: event.signal, exit_code: event.code },
      };
  }
}

/** Records every pool event; returns the way to stop. */
export function recordFormatterEvents(listen: (listener: (event: PoolEvent) => void) => () => void, events: EventLog, logger: Logger): () => void {
  return listen((event) => {
    events.record(formatterEvent(event)).catch((err: unknown) => logger.error({ err }, 'could not record a formatter event'));
  });
}
