/** Display formatting of times and values; all API times are UTC, shown in the browser's zone. */

/** The IoTDA form of message times: 20250416T115413Z. */
export function parseTime(t: string | null): Date | null {
  if (!t) return null;
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(t);
  const d = m ? new Date(Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6])) : new Date(t);
  return Number.isNaN(d.getTime()) ? null : d;
}

const dateTimeFormat = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'medium' });
const timeFormat = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false });

export function dateTime(t: string | null): string {
  const d = parseTime(t);
  return d ? dateTimeFormat.format(d) : '—';
}

export function clockTime(t: string): string {
  const d = parseTime(t);
  return d ? timeFormat.format(d) : t;
}

const relative = new Intl.RelativeTimeFormat(undefined, { numeric: 'auto' });
const STEPS: [Intl.RelativeTimeFormatUnit, number][] = [
  ['second', 60],
  ['minute', 60],
  ['hour', 24],
  ['day', 30],
  ['month', 12],
  ['year', Infinity],
];

export function ago(t: string | null, now = Date.now()): string {
  const d = parseTime(t);
  if (!d) return 'never';
  let value = (d.getTime() - now) / 1000;
  for (const [unit, size] of STEPS) {
    if (Math.abs(value) < size) return relative.format(Math.round(value), unit);
    value /= size;
  }
  return dateTime(t);
}

export const prettyJson = (v: unknown): string => JSON.stringify(v, null, 2) ?? 'undefined';

/** A size in bytes as people read it: 812 B, 3.4 kB, 41 kB. */
export function byteSize(n: number): string {
  if (n < 1000) return `${n} B`;
  return `${(n / 1000).toFixed(n < 10_000 ? 1 : 0)} kB`;
}
