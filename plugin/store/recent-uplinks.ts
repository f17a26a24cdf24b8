/**
 * The dedupe window of one device: the f_cnts of its last uplinks, per session key id, kept as JSON
 * in the device's row. The uplink write updates that row anyway, so recognising a resent uplink
 * costs no extra page per commit (a key table grew forever and cost one random page per uplink).
 * Only a resend older than the last RECENT_PER_SESSION uplinks of its session would be stored again.
 */

/** [session key id, f_cnts oldest first] per session, the most recent session last. */
export type RecentUplinks = [string, number[]][];

export const RECENT_PER_SESSION = 32;
/** Sessions kept: the current one and the one before a rejoin, for late uplinks of the old one. */
const SESSIONS = 2;

export interface UplinkKey {
  sessionKeyId: string;
  fCnt: number;
}

export function parseRecentUplinks(text: string | null): RecentUplinks {
  if (!text) return [];
  const parsed: unknown = JSON.parse(text);
  return Array.isArray(parsed) ? (parsed as RecentUplinks) : [];
}

export function hasRecentUplink(recent: RecentUplinks, key: UplinkKey): boolean {
  return recent.some(([session, counts]) => session === key.sessionKeyId && counts.includes(key.fCnt));
}

/** The window with `key` added: its session becomes the most recent one, the oldest entries drop out. */
export function withRecentUplink(recent: RecentUplinks, key: UplinkKey): RecentUplinks {
  const counts = recent.find(([session]) => session === key.sessionKeyId)?.[1] ?? [];
  const others = recent.filter(([session]) => session !== key.sessionKeyId).slice(-(SESSIONS - 1));
  return [...others, [key.sessionKeyId, [...counts, key.fCnt].slice(-RECENT_PER_SESSION)]];
}
