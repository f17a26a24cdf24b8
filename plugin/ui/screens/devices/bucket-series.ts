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
  /** A data field's dot path, or a normalized measurement's quantity. */
  key: string;
  /** Unix seconds, ascending; `ys` has null where a row lacks the field. */
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
    const one = seriesOf(key, xs, rows.map((r) => r.cells[key]));
    if (one) series.push(one);
  }
  return { columns, rows, series };
}

/**
 * One series per numeric quantity of the rows' normalized measurements (`air.temperature`), each
 * value at its measurement's own `time` when it has one (a buffered sensor sends several), else at its row's.
 */
export function normalizedSeries(rowsAscending: BucketRow[]): Series[] {
  const points = new Map<string, { x: number; y: unknown }[]>();
  for (const row of rowsAscending) {
    for (const measurement of row.normalized ?? []) {
      const { time, ...values } = measurement;
      const own = typeof time === 'string' ? Date.parse(time) : NaN;
      const x = (Number.isNaN(own) ? Date.parse(row.ts) : own) / 1000;
      for (const [quantity, y] of Object.entries(flatten(values))) {
        const list = points.get(quantity) ?? [];
        list.push({ x, y });
        points.set(quantity, list);
      }
    }
  }
  const series: Series[] = [];
  for (const [quantity, list] of points) {
    list.sort((a, b) => a.x - b.x);
    const one = seriesOf(quantity, list.map((p) => p.x), list.map((p) => p.y));
    if (one) series.push(one);
  }
  return series;
}

/** The numbers among `values` as a series, or null when there are none (text, booleans). */
function seriesOf(key: string, xs: number[], values: unknown[]): Series | null {
  const ys = values.map((v) => (typeof v === 'number' && Number.isFinite(v) ? v : null));
  const numbers = ys.filter((v): v is number => v !== null);
  if (!numbers.length) return null;
  return { key, xs, ys, last: [...ys].reverse().find((v) => v !== null) ?? null, min: Math.min(...numbers), max: Math.max(...numbers) };
}
