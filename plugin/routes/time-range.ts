import { HttpError } from '../http/http-error.js';

/** `from`/`to` of a list query (RFC 3339 or epoch ms) as milliseconds; 400 when `from` is after `to`. */
export function timeRange(q: { from?: string | number; to?: string | number }): { fromMs?: number; toMs?: number } {
  const toMs = (t: string | number | undefined): number | undefined => (t === undefined ? undefined : typeof t === 'number' ? t : Date.parse(t));
  const fromMs = toMs(q.from);
  const upTo = toMs(q.to);
  if (fromMs !== undefined && upTo !== undefined && fromMs > upTo) throw new HttpError(400, 'invalid_query', "'from' is after 'to'");
  return { ...(fromMs !== undefined ? { fromMs } : {}), ...(upTo !== undefined ? { toMs: upTo } : {}) };
}
