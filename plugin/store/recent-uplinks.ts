/**
 * The dedupe window of one device: the keys of its last uplinks (f_cnt and a fingerprint of f_port
 * and payload), per session key id, kept as JSON in the device's row. The uplink write updates that
 * row anyway, so recognising a resent uplink costs no extra page per commit (a key table grew
 * forever and cost one random page per uplink). A resend is the same uplink again: the same f_cnt
 * with another payload (a frame counter reset without a new session) is new data. Only a resend
 * older than the last RECENT_PER_SESSION uplinks of its session would be stored again.
 *
 * Windows written before payloads were part of the key hold bare f_cnts; they match nothing, so
 * the first resend after the upgrade may be stored twice, and no new uplink is ever dropped.
 */
import { createHash } from 'node:crypto';

/** [session key id, keys oldest first] per session, the most recent session last. */
export type RecentUplinks = [string, (string | number)[]][];

export const RECENT_PER_SESSION = 32;
/** Sessions kept: the current one and the one before a rejoin, for late uplinks of the old one. */
const SESSIONS = 2;

export interface UplinkKey {
  sessionKeyId: string;
  fCnt: number;
  /** Fingerprint of f_port and payload (see uplinkFingerprint). */
  payload: string;
}

function keyOf(key: UplinkKey): string {
  return `${key.fCnt}:${key.payload}`;
}

export function parseRecentUplinks(text: string | null): RecentUplinks {
  if (!text) return [];
  const parsed: unknown = JSON.parse(text);
  return Array.isArray(parsed) ? (parsed as RecentUplinks) : [];
}

export function hasRecentUplink(recent: RecentUplinks, key: UplinkKey): boolean {
  const wanted = keyOf(key);
  return recent.some(([session, keys]) => session === key.sessionKeyId && keys.includes(wanted));
}

/** The window with `key` added: its session becomes the most recent one, the oldest entries drop out. */
export function withRecentUplink(recent: RecentUplinks, key: UplinkKey): RecentUplinks {
  const keys = recent.find(([session]) => session === key.sessionKeyId)?.[1] ?? [];
  const others = recent.filter(([session]) => session !== key.sessionKeyId).slice(-(SESSIONS - 1));
  return [...others, [key.sessionKeyId, [...keys, keyOf(key)].slice(-RECENT_PER_SESSION)]];
}

/** 12 characters of SHA-256 over f_port and the base64 payload: collisions within one f_cnt of one session are out of reach. */
export function uplinkFingerprint(fPort: number, frmPayload: string): string {
  return createHash('sha256').update(`${fPort}:${frmPayload}`).digest('base64url').slice(0, 12);
}
