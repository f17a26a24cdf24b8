import type { LogEntry } from '../api/types.js';

/** A formatter's console output, as a terminal shows it. */
export function ConsoleLog({ logs, label }: { logs: LogEntry[]; label: string }) {
  return (
    <ol class="console" aria-label={label}>
      {logs.map((l, i) => (
        <li key={i} class={`log log-${l.level}`}>
          <span class="log-level">{l.level}</span>
          <span class="log-message">{l.message}</span>
        </li>
      ))}
    </ol>
  );
}
