import { describe, expect, it } from 'vitest';
import {
  hasRecentUplink,
  parseRecentUplinks,
  RECENT_PER_SESSION,
  uplinkFingerprint,
  withRecentUplink,
  type RecentUplinks,
} from '../../plugin/store/recent-uplinks.js';

const P = uplinkFingerprint(1, 'AQ==');
const add = (recent: RecentUplinks, sessionKeyId: string, ...fCnts: number[]) =>
  fCnts.reduce((r, fCnt) => withRecentUplink(r, { sessionKeyId, fCnt, payload: P }), recent);

describe('dedupe window of a device', () => {
  it('knows the keys it was given, per session', () => {
    const recent = add([], 'S1', 1, 2, 3);
    expect(hasRecentUplink(recent, { sessionKeyId: 'S1', fCnt: 2, payload: P })).toBe(true);
    expect(hasRecentUplink(recent, { sessionKeyId: 'S1', fCnt: 4, payload: P })).toBe(false);
    expect(hasRecentUplink(recent, { sessionKeyId: 'S2', fCnt: 2, payload: P })).toBe(false);
  });

  it('keeps the last RECENT_PER_SESSION f_cnts of a session', () => {
    const recent = add([], 'S1', ...Array.from({ length: RECENT_PER_SESSION + 5 }, (_, i) => i));
    expect(hasRecentUplink(recent, { sessionKeyId: 'S1', fCnt: 4, payload: P })).toBe(false);
    expect(hasRecentUplink(recent, { sessionKeyId: 'S1', fCnt: 5, payload: P })).toBe(true);
    expect(hasRecentUplink(recent, { sessionKeyId: 'S1', fCnt: RECENT_PER_SESSION + 4, payload: P })).toBe(true);
  });

  it('keeps the session before a rejoin, and forgets the one before that', () => {
    const recent = add(add(add([], 'S1', 1), 'S2', 1), 'S3', 1);
    expect(recent.map(([session]) => session)).toEqual(['S2', 'S3']);
    // a late uplink of the old session makes it the most recent again instead of dropping it
    expect(add(recent, 'S2', 2).map(([session]) => session)).toEqual(['S3', 'S2']);
  });

  it('takes the same f_cnt with another payload or port for new data', () => {
    const recent = add([], 'S1', 1, 2);
    expect(hasRecentUplink(recent, { sessionKeyId: 'S1', fCnt: 2, payload: uplinkFingerprint(1, 'Ag==') })).toBe(false);
    expect(hasRecentUplink(recent, { sessionKeyId: 'S1', fCnt: 2, payload: uplinkFingerprint(2, 'AQ==') })).toBe(false);
    expect(hasRecentUplink(recent, { sessionKeyId: 'S1', fCnt: 2, payload: uplinkFingerprint(1, 'AQ==') })).toBe(true);
  });

  it('matches nothing in a window written before payloads were part of the key', () => {
    const old = parseRecentUplinks(JSON.stringify([['S1', [1, 2, 3]]]));
    expect(hasRecentUplink(old, { sessionKeyId: 'S1', fCnt: 2, payload: P })).toBe(false);
    expect(hasRecentUplink(withRecentUplink(old, { sessionKeyId: 'S1', fCnt: 2, payload: P }), { sessionKeyId: 'S1', fCnt: 2, payload: P })).toBe(true);
  });

  it('reads what it writes, and an empty column as an empty window', () => {
    const recent = add([], 'AZYXq2zOLm1t4Yh3N8Cj6w==', 7, 8);
    expect(parseRecentUplinks(JSON.stringify(recent))).toEqual(recent);
    expect(parseRecentUplinks(null)).toEqual([]);
  });
});
