/** A line diff of two texts (Myers' O((N+M)·D) algorithm), and its unchanged stretches folded for display. */

export type DiffOp = 'same' | 'removed' | 'added';

export interface DiffLine {
  op: DiffOp;
  text: string;
  /** 1-based line in the old text; null for an added line. */
  oldLine: number | null;
  /** 1-based line in the new text; null for a removed line. */
  newLine: number | null;
}

/**
 * Edits beyond which the middle is shown as all removed, then all added: the trace Myers keeps
 * grows with the square of the edits (here at most about 4 MB), and two scripts this different
 * are read side by side, not line by line.
 */
export const MAX_EDITS = 1000;

const splitLines = (text: string): string[] => text.split(/\r\n|\r|\n/);

/** Old against new, line by line: a shortest edit script (unless more than MAX_EDITS edits). */
export function lineDiff(oldText: string, newText: string): DiffLine[] {
  const a = splitLines(oldText);
  const b = splitLines(newText);
  // Common ends first: most edits touch a few lines in the middle, and Myers is then tiny.
  let start = 0;
  while (start < a.length && start < b.length && a[start] === b[start]) start++;
  let endA = a.length;
  let endB = b.length;
  while (endA > start && endB > start && a[endA - 1] === b[endB - 1]) {
    endA--;
    endB--;
  }
  const middleA = a.slice(start, endA);
  const middleB = b.slice(start, endB);
  const ops: DiffOp[] = [
    ...Array<DiffOp>(start).fill('same'),
    ...(shortestEdit(middleA, middleB) ?? [...Array<DiffOp>(middleA.length).fill('removed'), ...Array<DiffOp>(middleB.length).fill('added')]),
    ...Array<DiffOp>(a.length - endA).fill('same'),
  ];
  const out: DiffLine[] = [];
  let i = 0;
  let j = 0;
  for (const op of ops) {
    if (op === 'same') out.push({ op, text: a[i], oldLine: ++i, newLine: ++j });
    else if (op === 'removed') out.push({ op, text: a[i], oldLine: ++i, newLine: null });
    else out.push({ op, text: b[j], oldLine: null, newLine: ++j });
  }
  return out;
}

/**
 * Myers' greedy forward search. `trace[d]` keeps the furthest x on each diagonal k in -d..d after
 * d edits (at index k + d), which is all the backtrack needs. null: more than MAX_EDITS edits.
 */
function shortestEdit(a: string[], b: string[]): DiffOp[] | null {
  const n = a.length;
  const m = b.length;
  if (n === 0 || m === 0) return [...Array<DiffOp>(n).fill('removed'), ...Array<DiffOp>(m).fill('added')];
  const offset = n + m + 1;
  const v = new Int32Array(2 * offset + 1);
  const trace: Int32Array[] = [];
  for (let d = 0; d <= Math.min(n + m, MAX_EDITS); d++) {
    for (let k = -d; k <= d; k += 2) {
      // Down (an added line) from diagonal k+1, or right (a removed line) from k-1, whichever got further.
      let x = k === -d || (k !== d && v[offset + k - 1] < v[offset + k + 1]) ? v[offset + k + 1] : v[offset + k - 1] + 1;
      let y = x - k;
      while (x < n && y < m && a[x] === b[y]) {
        x++;
        y++;
      }
      v[offset + k] = x;
      if (x >= n && y >= m) {
        trace.push(v.slice(offset - d, offset + d + 1));
        return backtrack(trace, n, m);
      }
    }
    trace.push(v.slice(offset - d, offset + d + 1));
  }
  return null;
}

function backtrack(trace: Int32Array[], n: number, m: number): DiffOp[] {
  const ops: DiffOp[] = [];
  let x = n;
  let y = m;
  for (let d = trace.length - 1; d > 0; d--) {
    const previous = trace[d - 1];
    const at = (k: number) => previous[k + d - 1];
    const k = x - y;
    const down = k === -d || (k !== d && at(k - 1) < at(k + 1));
    const prevK = down ? k + 1 : k - 1;
    const prevX = at(prevK);
    const prevY = prevX - prevK;
    // The snake after the edit, then the edit itself.
    while (x > (down ? prevX : prevX + 1) && y > (down ? prevY + 1 : prevY)) {
      ops.push('same');
      x--;
      y--;
    }
    ops.push(down ? 'added' : 'removed');
    x = prevX;
    y = prevY;
  }
  for (; x > 0; x--) ops.push('same');
  return ops.reverse();
}

export type DiffChunk = { kind: 'lines'; lines: DiffLine[] } | { kind: 'skipped'; count: number };

/**
 * The diff with unchanged stretches folded, keeping `context` unchanged lines next to each change.
 * A fold of a single line would take the same room as the line, so it is shown instead.
 */
export function foldUnchanged(lines: DiffLine[], context = 3): DiffChunk[] {
  const keep = lines.map((l) => l.op !== 'same');
  const changed = keep.slice();
  for (let i = 0; i < lines.length; i++) {
    if (!changed[i]) continue;
    for (let j = Math.max(0, i - context); j <= Math.min(lines.length - 1, i + context); j++) keep[j] = true;
  }
  const chunks: DiffChunk[] = [];
  let i = 0;
  while (i < lines.length) {
    let j = i;
    while (j < lines.length && keep[j] === keep[i]) j++;
    if (keep[i] || j - i === 1) {
      const last = chunks[chunks.length - 1];
      if (last?.kind === 'lines') last.lines.push(...lines.slice(i, j));
      else chunks.push({ kind: 'lines', lines: lines.slice(i, j) });
    } else chunks.push({ kind: 'skipped', count: j - i });
    i = j;
  }
  return chunks;
}
