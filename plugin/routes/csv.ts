import type { BucketRow } from '../store/records.js';

/** Flattens nested objects to dotted column names (gps_1.latitude). */
function flatten(value: unknown, prefix: string, out: Record<string, unknown>): void {
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
    for (const [k, v] of Object.entries(value)) flatten(v, prefix ? `${prefix}.${k}` : k, out);
  } else {
    out[prefix] = value;
  }
}

function cell(value: unknown): string {
  if (value === undefined || value === null) return '';
  const text = typeof value === 'object' ? JSON.stringify(value) : String(value);
  // Quote per RFC 4180. Text starting with = + - @ TAB or CR is prefixed with ' so spreadsheets do
  // not run it as a formula (OWASP); numbers are numbers, whatever their sign.
  const safe = typeof value === 'string' && /^[=+\-@\t\r]/.test(text) ? `'${text}` : text;
  return /[",\n\r]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}

/** Bucket rows as CSV: `ts` then one column per field seen in any row. */
export function toCsv(rows: BucketRow[]): string {
  const flat = rows.map((r) => {
    const out: Record<string, unknown> = {};
    flatten(r.data, '', out);
    return { ts: r.ts, out };
  });
  const columns: string[] = [];
  const seen = new Set<string>();
  for (const { out } of flat) for (const k of Object.keys(out)) if (!seen.has(k)) (seen.add(k), columns.push(k));
  const lines = [['ts', ...columns].map(cell).join(',')];
  for (const { ts, out } of flat) lines.push([ts, ...columns.map((c) => out[c])].map(cell).join(','));
  return lines.join('\r\n') + '\r\n';
}
