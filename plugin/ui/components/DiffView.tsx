import { useMemo } from 'preact/hooks';
import { foldUnchanged, lineDiff, type DiffLine } from '../lib/line-diff.js';

const SIGN = { same: ' ', removed: '−', added: '+' } as const;

function Line({ line }: { line: DiffLine }) {
  const body = (
    <>
      <span class="diff-num" aria-hidden="true">
        {line.oldLine ?? ''}
      </span>
      <span class="diff-num" aria-hidden="true">
        {line.newLine ?? ''}
      </span>
      <span class="diff-sign">{SIGN[line.op]}</span>
      {line.text}
      {'\n'}
    </>
  );
  // <del>/<ins> say removed/added to assistive technology, not only the colour and sign.
  if (line.op === 'removed') return <del class="diff-line diff-removed">{body}</del>;
  if (line.op === 'added') return <ins class="diff-line diff-added">{body}</ins>;
  return <span class="diff-line">{body}</span>;
}

/** A unified line diff of two texts, unchanged stretches folded; `label` names what is compared. */
export function DiffView({ oldText, newText, label }: { oldText: string; newText: string; label: string }) {
  const lines = useMemo(() => lineDiff(oldText, newText), [oldText, newText]);
  const removed = lines.filter((l) => l.op === 'removed').length;
  const added = lines.filter((l) => l.op === 'added').length;
  if (removed === 0 && added === 0) return <p class="muted">No differences: the texts are the same.</p>;
  return (
    <>
      <p class="diff-summary">
        <span class="diff-count-removed">
          {removed} line{removed === 1 ? '' : 's'} removed
        </span>
        ,{' '}
        <span class="diff-count-added">
          {added} line{added === 1 ? '' : 's'} added
        </span>
      </p>
      <pre class="diff" tabIndex={0} role="region" aria-label={label}>
        {foldUnchanged(lines).map((chunk, i) =>
          chunk.kind === 'skipped' ? (
            <span key={i} class="diff-line diff-skipped">
              ⋯ {chunk.count} unchanged lines{'\n'}
            </span>
          ) : (
            chunk.lines.map((line) => <Line key={`${line.oldLine}-${line.newLine}`} line={line} />)
          ),
        )}
      </pre>
    </>
  );
}
