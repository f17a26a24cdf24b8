import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { foldUnchanged, lineDiff, MAX_EDITS, type DiffLine } from '../../plugin/ui/lib/line-diff.js';

const oldSide = (d: DiffLine[]) => d.filter((l) => l.op !== 'added').map((l) => l.text).join('\n');
const newSide = (d: DiffLine[]) => d.filter((l) => l.op !== 'removed').map((l) => l.text).join('\n');
const edits = (d: DiffLine[]) => d.filter((l) => l.op !== 'same').length;
const compact = (d: DiffLine[]) => d.map((l) => `${{ same: ' ', removed: '-', added: '+' }[l.op]}${l.text}`);

/** The length of a longest common subsequence, by the textbook table: what a shortest edit keeps. */
function lcsLength(a: string[], b: string[]): number {
  const row = new Array<number>(b.length + 1).fill(0);
  for (const x of a) {
    let diagonal = 0;
    for (let j = 1; j <= b.length; j++) {
      const above = row[j];
      row[j] = x === b[j - 1] ? diagonal + 1 : Math.max(row[j], row[j - 1]);
      diagonal = above;
    }
  }
  return row[b.length];
}

/** Texts of a few lines over a small alphabet, so that lines repeat and matches are ambiguous. */
const text = fc.array(fc.constantFrom('a', 'b', 'c', '', '  x;'), { maxLength: 14 }).map((lines) => lines.join('\n'));

describe('line diff', () => {
  it('marks a changed line as removed then added, with the line numbers of each side', () => {
    const diff = lineDiff('one\ntemperature / 100\nthree', 'one\ntemperature / 10\nthree\nfour');
    expect(compact(diff)).toEqual([' one', '-temperature / 100', '+temperature / 10', ' three', '+four']);
    expect(diff.map((l) => [l.oldLine, l.newLine])).toEqual([
      [1, 1],
      [2, null],
      [null, 2],
      [3, 3],
      [null, 4],
    ]);
  });

  it('keeps the common lines of a reordering (a shortest edit, not a rewrite)', () => {
    expect(compact(lineDiff('a\nb\nc\na\nb\nb\na', 'c\nb\na\nb\na\nc'))).toEqual(['-a', '-b', ' c', '+b', ' a', ' b', '-b', ' a', '+c']);
  });

  it('identical texts, an empty side, line endings', () => {
    expect(lineDiff('x\ny', 'x\ny').every((l) => l.op === 'same')).toBe(true);
    expect(compact(lineDiff('', 'a\nb'))).toEqual(['-', '+a', '+b']);
    expect(compact(lineDiff('a\r\nb', 'a\nb'))).toEqual([' a', ' b']);
  });

  it('property: each side is rebuilt from the diff, and the edits are as few as possible', () => {
    fc.assert(
      fc.property(text, text, (a, b) => {
        const diff = lineDiff(a, b);
        expect(oldSide(diff)).toBe(a);
        expect(newSide(diff)).toBe(b);
        const la = a.split('\n');
        const lb = b.split('\n');
        expect(edits(diff)).toBe(la.length + lb.length - 2 * lcsLength(la, lb));
        // Line numbers count each side's lines in order.
        expect(diff.filter((l) => l.oldLine !== null).map((l) => l.oldLine)).toEqual(la.map((_, i) => i + 1));
        expect(diff.filter((l) => l.newLine !== null).map((l) => l.newLine)).toEqual(lb.map((_, i) => i + 1));
      }),
      { numRuns: 500 },
    );
  });

  it('texts differing in more than MAX_EDITS lines still give a correct (not minimal) diff, quickly', () => {
    const a = Array.from({ length: 3000 }, (_, i) => `a${i}`).join('\n');
    const b = Array.from({ length: 3000 }, (_, i) => (i % 2 ? `a${i}` : `b${i}`)).join('\n');
    const started = performance.now();
    const diff = lineDiff(a, b);
    expect(performance.now() - started).toBeLessThan(2000);
    expect(edits(diff)).toBeGreaterThan(MAX_EDITS);
    expect(oldSide(diff)).toBe(a);
    expect(newSide(diff)).toBe(b);
  });
});

describe('folding unchanged lines', () => {
  const lines = (n: number) => Array.from({ length: n }, (_, i) => `line ${i + 1}`);

  it('keeps three lines around each change and folds the rest', () => {
    const a = lines(20);
    const b = a.map((l, i) => (i === 9 ? 'changed' : l));
    const chunks = foldUnchanged(lineDiff(a.join('\n'), b.join('\n')));
    expect(chunks.map((c) => (c.kind === 'skipped' ? c.count : compact(c.lines)))).toEqual([
      6,
      [' line 7', ' line 8', ' line 9', '-line 10', '+changed', ' line 11', ' line 12', ' line 13'],
      7,
    ]);
  });

  it('shows a single unchanged line between two contexts instead of folding it', () => {
    const a = lines(9);
    const b = a.map((l, i) => (i === 0 || i === 8 ? `${l}!` : l));
    const chunks = foldUnchanged(lineDiff(a.join('\n'), b.join('\n')));
    expect(chunks).toHaveLength(1);
    expect(chunks[0].kind === 'lines' && chunks[0].lines).toHaveLength(11);
  });

  it('property: nothing is lost, and every change is shown', () => {
    fc.assert(
      fc.property(text, text, fc.integer({ min: 0, max: 3 }), (a, b, context) => {
        const diff = lineDiff(a, b);
        const chunks = foldUnchanged(diff, context);
        const shown = chunks.flatMap((c) => (c.kind === 'lines' ? c.lines : []));
        const skipped = chunks.reduce((n, c) => n + (c.kind === 'skipped' ? c.count : 0), 0);
        expect(shown.length + skipped).toBe(diff.length);
        expect(edits(shown)).toBe(edits(diff));
        // Folds never sit side by side, and never fold one line.
        chunks.forEach((c, i) => {
          if (c.kind === 'skipped') {
            expect(c.count).toBeGreaterThan(1);
            expect(chunks[i + 1]?.kind).not.toBe('skipped');
          }
        });
      }),
      { numRuns: 300 },
    );
  });
});
