import { isUnder, jsonLines } from '../lib/json-lines.js';

/**
 * Pretty JSON with the values at or under `marked` (JSON Pointers) highlighted. The mark is a
 * <mark>, which screen readers can announce; callers list the differences in words as well.
 */
export function MarkedJson({ value, marked, label }: { value: unknown; marked: ReadonlySet<string>; label: string }) {
  return (
    <pre class="json json-marked" tabIndex={0} role="region" aria-label={label}>
      {jsonLines(value).map((line, i) => {
        const text = line.text.trimStart();
        // The indent and a separating comma stay outside the mark (a value never ends in a bare comma).
        const body = text.endsWith(',') ? text.slice(0, -1) : text;
        return (
          <span key={i} class="json-line">
            {line.text.slice(0, line.text.length - text.length)}
            {isUnder(line.path, marked) ? <mark>{body}</mark> : body}
            {text.slice(body.length)}
            {'\n'}
          </span>
        );
      })}
    </pre>
  );
}
