import { prettyJson } from '../lib/format.js';

/** Pretty JSON; a tab stop so that a block wider or taller than its box can be scrolled by keyboard. */
export function JsonBlock({ value, label }: { value: unknown; label?: string }) {
  return (
    <pre class="json" tabIndex={0} {...(label ? { role: 'region', 'aria-label': label } : {})}>
      {prettyJson(value)}
    </pre>
  );
}
