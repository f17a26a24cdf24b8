import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, PluginHarness } from '../helpers/plugin-harness.js';
import { TtsPeer } from '../helpers/tts-peer.js';
import { expectError, messageBody, uplinkBody } from '../helpers/tts-bodies.js';

describe('webhook authentication', () => {
  let plugin: PluginHarness;
  let tts: TtsPeer;
  beforeEach(async () => {
    plugin = await new PluginHarness().start();
    tts = await new TtsPeer().start();
    await plugin.request('PUT', '/api/profiles/greenhouse-app', { body: { formatter: { type: 'none' } } });
    await plugin.request('PUT', '/api/profiles/default', { body: { formatter: { type: 'none' } } });
  });
  afterEach(async () => {
    await plugin.destroy();
    await tts.stop();
  });

  async function expectNothingStored(): Promise<void> {
    expect((await plugin.request('GET', '/api/devices')).body.items).toEqual([]);
    expect((await plugin.request('GET', '/api/buckets')).body.items).toEqual([]);
    expect((await plugin.request('GET', '/api/dead-letters')).body.items).toEqual([]);
    const notAuth = await plugin.request('GET', '/api/events?category=uplink');
    expect(notAuth.body.items).toEqual([]);
  }

  async function authEvents(): Promise<any[]> {
    return (await plugin.request('GET', '/api/events?category=auth')).body.items;
  }

  it('refuses an uplink without a token: 401, nothing stored, an auth event without secrets', async () => {
    const res = await plugin.webhook(uplinkBody(), { token: null, headers: tts.downlinkHeaders('greenhouse-app', 'eui-70b3d57ed0051a2b', 'NNSXS.NOAUTH.KEY') });
    expectError(res, 401, 'unauthorized');
    expect(res.headers.get('www-authenticate')).toBe('Bearer');
    await expectNothingStored();
    const events = await authEvents();
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({
      app_id: 'greenhouse-app',
      category: 'auth',
      severity: 'warning',
      title: 'Webhook without token refused',
      details: { profile: 'greenhouse-app' },
    });
    expect(JSON.stringify(events)).not.toContain(await plugin.webhookToken('greenhouse-app'));
    expect(JSON.stringify(events)).not.toContain('NNSXS.NOAUTH.KEY');
  });

  it('refuses a wrong token: 401, nothing stored, the event does not repeat the token sent', async () => {
    const wrong = 'wrong-token-ABCDEFGHIJKLMNOP';
    const res = await plugin.webhook(uplinkBody(), { token: wrong });
    expectError(res, 401, 'unauthorized');
    await expectNothingStored();
    const events = await authEvents();
    expect(events).toHaveLength(1);
    expect(events[0].title).toBe('Webhook with wrong token refused');
    const text = JSON.stringify(events);
    expect(text).not.toContain(wrong);
    expect(text).not.toContain(await plugin.webhookToken('greenhouse-app'));
    expect(text).not.toContain(await plugin.webhookToken('default'));
  });

  it('an application with its own profile takes only its own token', async () => {
    const dflt = await plugin.webhookToken('default');
    expect((await plugin.webhook(uplinkBody(), { token: dflt })).status).toBe(401);
    expect((await plugin.webhook(uplinkBody(), { token: ADMIN_TOKEN })).status).toBe(401);
    await expectNothingStored();
    const ok = await plugin.webhook(uplinkBody(), { token: await plugin.webhookToken('greenhouse-app') });
    expect(ok.status).toBe(200);
    expect(ok.body.status).toBe('stored');
  });

  it('an application without a profile takes the Default token, and no other profile\'s', async () => {
    const other = await plugin.webhookToken('greenhouse-app');
    expect((await plugin.webhook(uplinkBody({ appId: 'orchard-app' }), { token: other })).status).toBe(401);
    await expectNothingStored();
    const ok = await plugin.webhook(uplinkBody({ appId: 'orchard-app' }), { token: await plugin.webhookToken('default') });
    expect(ok.status).toBe(200);
    const events = await authEvents();
    expect(events[0]).toMatchObject({ app_id: 'orchard-app', details: { profile: 'default' } });
  });

  it.each([
    ['Basic scheme', (t: string) => `Basic ${t}`],
    ['token without scheme', (t: string) => t],
    ['token with a suffix', (t: string) => `Bearer ${t}x`],
    ['truncated token', (t: string) => `Bearer ${t.slice(0, -1)}`],
    ['empty bearer', () => 'Bearer '],
  ])('refuses a malformed Authorization header (%s)', async (_name, header) => {
    const token = await plugin.webhookToken('greenhouse-app');
    const res = await plugin.request('POST', '/tts/webhook', { body: uplinkBody(), token: null, headers: { Authorization: header(token) } });
    expectError(res, 401, 'unauthorized');
    await expectNothingStored();
  });

  it('requires the token for every message type and on every webhook path', async () => {
    for (const name of ['join_accept.json', 'downlink_ack.json', 'location_solved.json', 'service_data.json', 'uplink_normalized.json']) {
      for (const path of ['/tts/webhook', '/uplink', '/tts/webhook/join-accept']) {
        const res = await plugin.webhook(messageBody(name), { token: null, path });
        expect(res.status, `${name} on ${path}`).toBe(401);
      }
    }
    const events = await plugin.request('GET', '/api/events?limit=1000');
    expect(events.body.items.filter((e: { category: string }) => e.category !== 'auth' && e.category !== 'profile')).toEqual([]);
  });

  it('checks the token before the schema: an invalid body without a token is 401, not 400', async () => {
    const res = await plugin.request('POST', '/tts/webhook', { body: { uplink_message: { f_port: 300 } }, token: null });
    expectError(res, 401, 'unauthorized');
  });
});
