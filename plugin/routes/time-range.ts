import { HttpError } from '../http/http-error.js';

/** `from`/`to` of a list query (RFC 3339 or epoch ms) as milliseconds; 400 when `from` is after `to`. */
export function timeRange(q: { from?: string | number; to?: string | number }): { fromMs?: number; toMs?: number } {
  const toMs = (t: string | number | undefined): number | undefined => (t === undefined ? undefined : typeof t === 'number' ? t : Date.parse(t));
  const fromMs = toMs(q.from);
  const upTo = toMs(q.to);
  // RFC 3339 allows what Date cannot hold (a leap second :60): say so rather than match nothing.
  if (Number.isNaN(fromMs) || Number.isNaN(upTo)) throw new HttpError(400, 'invalid_query', "'from' or 'to' is a time this API cannot use (a leap second?)");
  if (fromMs !== undefined && upTo !== undefined && fromMs > upTo) throw new HttpError(400, 'invalid_query', "'from' is after 'to'");
  return { ...(fromMs !== undefined ? { fromMs } : {}), ...(upTo !== undefined ? { toMs: upTo } : {}) };
}
