import { useMemo } from 'preact/hooks';
import { MarkedJson } from './MarkedJson.js';

interface Side {
  /** Heading over the block, e.g. "Stored (version 2)". */
  title: string;
  /** How the difference list names the side, e.g. "stored". */
  name: string;
  value: unknown;
}

/** A JSON Pointer and the value on each side there; a side left out is missing there. */
interface Difference {
  path: string;
  expected?: unknown;
  actual?: unknown;
}

/** What a value in the difference list reads as; long ones are cut, the blocks show them whole. */
function shown(value: unknown): string {
  if (value === undefined) return 'missing';
  const text = JSON.stringify(value);
  return text.length > 60 ? `${text.slice(0, 59)}…` : text;
}

/**
 * Two JSON values side by side (stacked on narrow screens) with the differing values marked in
 * both, and the differences listed by path. `differences[].expected` is the left side's value.
 */
export function JsonComparison({ left, right, differences, label }: { left: Side; right: Side; differences: Difference[]; label: string }) {
  const marked = useMemo(() => new Set(differences.map((d) => d.path)), [differences]);
  return (
    <div class="comparison">
      <div class="comparison-sides">
        {[left, right].map((side) => (
          <div class="comparison-side" key={side.name}>
            <p class="comparison-title">{side.title}</p>
            {side.value === null || side.value === undefined ? (
              <p class="muted comparison-none">None</p>
            ) : (
              <MarkedJson value={side.value} marked={marked} label={`${label}: ${side.title}`} />
            )}
          </div>
        ))}
      </div>
      {differences.length > 0 && (
        <ul class="differences" aria-label={`${label}: differences`}>
          {differences.map((d) => (
            <li key={d.path}>
              <code>{d.path}</code>{' '}
              <span class="difference-values">
                {left.name} <code>{shown(d.expected)}</code>, {right.name} <code>{shown(d.actual)}</code>
              </span>
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}
