import { prettyJson } from '../lib/format.js';

export function JsonBlock({ value, label }: { value: unknown; label?: string }) {
  return (
    <pre class="json" {...(label ? { 'aria-label': label } : {})}>
      {prettyJson(value)}
    </pre>
  );
}
