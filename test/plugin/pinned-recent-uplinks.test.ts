import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { hasRecentUplink, uplinkFingerprint, withRecentUplink, type RecentUplinks } from '../../plugin/store/recent-uplinks.js';
import { PluginHarness } from '../helpers/plugin-harness.js';
import { ECHO_UPLINK, uplinkBody } from '../helpers/tts-bodies.js';

const P = uplinkFingerprint(1, 'AQ==');
const add = (recent: RecentUplinks, sessionKeyId: string, ...fCnts: number[]) =>
  fCnts.reduce((r, fCnt) => withRecentUplink(r, { sessionKeyId, fCnt, payload: P }), recent);
const has = (recent: RecentUplinks, sessionKeyId: string, fCnt: number) => hasRecentUplink(recent, { sessionKeyId, fCnt, payload: P });

describe('dedupe window after a rejoin (unit)', () => {
  it('starts the new session with its own empty f_cnt list, not the old session\'s', () => {
    const beforeRejoin = add([], 'OLD', 0, 1, 2, 3);
    const afterRejoin = add(beforeRejoin, 'NEW', 0);
    // f_cnt restarts at 0 in the new session: 1, 2, 3 are new uplinks there
    for (const fCnt of [1, 2, 3]) expect(has(afterRejoin, 'NEW', fCnt)).toBe(false);
    expect(afterRejoin).toEqual([
      ['OLD', ['0:' + P, '1:' + P, '2:' + P, '3:' + P]],
      ['NEW', ['0:' + P]],
    ]);
  });

  it('still recognises resends within each session after a rejoin', () => {
    const recent = add(add([], 'OLD', 0, 1, 2), 'NEW', 0, 1);
    expect(has(recent, 'NEW', 0)).toBe(true);
    expect(has(recent, 'NEW', 1)).toBe(true);
    expect(has(recent, 'NEW', 2)).toBe(false);
    expect(has(recent, 'OLD', 2)).toBe(true); // a late resend of the old session
  });

  it('adds a late uplink of the old session to the old session\'s list, not the new one\'s', () => {
    const recent = add(add(add([], 'OLD', 0, 1), 'NEW', 0), 'OLD', 2);
    expect(recent).toEqual([
      ['NEW', ['0:' + P]],
      ['OLD', ['0:' + P, '1:' + P, '2:' + P]],
    ]);
  });
});

describe('dedupe window after a rejoin (through the webhook)', () => {
  const EUI = '70B3D57ED0051A2B';
  const OLD = 'AAAAAAAAAAAAAAAAAAAAAA==';
  const NEW = 'BBBBBBBBBBBBBBBBBBBBBB==';
  let plugin: PluginHarness;
  beforeEach(async () => {
    plugin = await new PluginHarness().start();
    await plugin.request('PUT', '/api/profiles/greenhouse-app', { body: { formatter: { type: 'javascript', script: ECHO_UPLINK } } });
  });
  afterEach(async () => {
    await plugin.destroy();
  });

  it('stores the new session\'s restarted f_cnts and still drops resends of either session', async () => {
    const send = async (sessionKeyId: string, fCnt: number) => (await plugin.webhook(uplinkBody({ fCnt, sessionKeyId }))).body.status;
    for (const fCnt of [0, 1, 2]) expect(await send(OLD, fCnt)).toBe('stored');
    // rejoin: same payload, f_cnt from 0 again
    for (const fCnt of [0, 1, 2]) expect(await send(NEW, fCnt), `new session f_cnt ${fCnt}`).toBe('stored');
    expect(await send(NEW, 1)).toBe('duplicate');
    expect(await send(OLD, 2)).toBe('duplicate');
    expect((await plugin.request('GET', `/api/buckets/${EUI}/data`)).body.items).toHaveLength(6);
  });
});
