import type { BucketRow } from '../../api/types.js';

/** Nested objects become dot paths (`air.temperature`); arrays and scalars are leaves. */
function flatten(value: unknown, prefix = '', out: Record<string, unknown> = {}): Record<string, unknown> {
  if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
    for (const [k, v] of Object.entries(value)) flatten(v, prefix ? `${prefix}.${k}` : k, out);
  } else if (prefix) {
    out[prefix] = value;
  }
  return out;
}

export interface Series {
  key: string;
  /** Unix seconds of every row, ascending; `ys` has null where a row lacks the field. */
  xs: number[];
  ys: (number | null)[];
  last: number | null;
  min: number;
  max: number;
}

export interface BucketTable {
  columns: string[];
  rows: { ts: string; cells: Record<string, unknown> }[];
  series: Series[];
}

/** Columns in order of first appearance, and one series per field that holds numbers. */
export function tabulate(rowsAscending: BucketRow[]): BucketTable {
  const rows = rowsAscending.map((r) => ({ ts: r.ts, cells: flatten(r.data) }));
  const columns: string[] = [];
  const seen = new Set<string>();
  for (const r of rows) {
    for (const k of Object.keys(r.cells)) {
      if (!seen.has(k)) {
        seen.add(k);
        columns.push(k);
      }
    }
  }
  const xs = rows.map((r) => Date.parse(r.ts) / 1000);
  const series: Series[] = [];
  for (const key of columns) {
    const ys = rows.map((r) => {
      const v = r.cells[key];
      return typeof v === 'number' && Number.isFinite(v) ? v : null;
    });
    const numbers = ys.filter((v): v is number => v !== null);
    if (!numbers.length) continue;
    series.push({ key, xs, ys, last: [...ys].reverse().find((v) => v !== null) ?? null, min: Math.min(...numbers), max: Math.max(...numbers) });
  }
  return { columns, rows, series };
}
