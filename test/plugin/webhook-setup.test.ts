import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PluginHarness } from '../helpers/plugin-harness.js';
import { uplinkBody } from '../helpers/tts-bodies.js';

const PATHS = {
  uplink_message: '/uplink-message',
  uplink_normalized: '/uplink-normalized',
  join_accept: '/join-accept',
  downlink_ack: '/downlink-ack',
  downlink_nack: '/downlink-nack',
  downlink_sent: '/downlink-sent',
  downlink_failed: '/downlink-failed',
  downlink_queued: '/downlink-queued',
  downlink_queue_invalidated: '/downlink-queue-invalidated',
  location_solved: '/location-solved',
  service_data: '/service-data',
};

describe('webhook settings per profile', () => {
  let plugin: PluginHarness;
  beforeEach(async () => {
    plugin = await new PluginHarness().start();
    await plugin.request('PUT', '/api/profiles/greenhouse-app', { body: { formatter: { type: 'none' } } });
  });
  afterEach(async () => {
    await plugin.destroy();
  });

  it('GET /api/profiles/{app}/webhook shows base URL, paths, the Authorization header and a template', async () => {
    const res = await plugin.request('GET', '/api/profiles/greenhouse-app/webhook');
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(Object.keys(res.body).sort()).toEqual(['base_url', 'headers', 'network', 'paths', 'template']);
    expect(res.body.network).toBe('tts');
    expect(res.body.base_url).toBe('https://bridge.example.com/tts/webhook');
    expect(res.body.paths).toEqual(PATHS);
    expect(res.body.headers).toEqual({ Authorization: expect.stringMatching(/^Bearer [A-Za-z0-9_-]{20,}$/) });

    const template: string = res.body.template;
    expect(template).toContain('format: json');
    expect(template).toContain('base-url: "https://bridge.example.com/tts/webhook"');
    expect(template).toContain(`Authorization: "${res.body.headers.Authorization}"`);
    expect(template).toContain('greenhouse-app');
    for (const [type, path] of Object.entries(PATHS)) expect(template).toContain(`${type.replace(/_/g, '-')}: "${path}"`);
  });

  it('gives each profile its own token, generated at creation and kept across updates', async () => {
    const own = await plugin.webhookToken('greenhouse-app');
    const dflt = await plugin.webhookToken('default');
    expect(own).not.toBe(dflt);
    await plugin.request('PUT', '/api/profiles/greenhouse-app', { body: { enabled: true, formatter: { type: 'none' } } });
    expect(await plugin.webhookToken('greenhouse-app')).toBe(own);
    // a new profile gets yet another one
    await plugin.request('PUT', '/api/profiles/orchard-app', { body: {} });
    const third = await plugin.webhookToken('orchard-app');
    expect(new Set([own, dflt, third]).size).toBe(3);
  });

  it('every advertised path takes the webhook (dispatch is on the body, not the path)', async () => {
    const setup = await plugin.request('GET', '/api/profiles/greenhouse-app/webhook');
    const paths = ['/uplink', '/tts/webhook', ...Object.values(setup.body.paths as Record<string, string>).map((p) => `/tts/webhook${p}`)];
    let fCnt = 1;
    for (const path of paths) {
      const res = await plugin.webhook(uplinkBody({ fCnt: fCnt++ }), { path });
      expect(res.status, path).toBe(200);
      expect(res.body.status, path).toBe('stored');
    }
    const data = await plugin.request('GET', '/api/buckets/70B3D57ED0051A2B/data');
    expect(data.body.items).toHaveLength(paths.length);
  });

  it('POST rotates the token: the old one gets 401 on webhooks, the new one works', async () => {
    const old = await plugin.webhookToken('greenhouse-app');
    expect((await plugin.webhook(uplinkBody({ fCnt: 1 }), { token: old })).status).toBe(200);

    const rotated = await plugin.request('POST', '/api/profiles/greenhouse-app/webhook');
    expect(rotated.status).toBe(200);
    expect(rotated.headers.get('cache-control')).toBe('no-store');
    const fresh = String(rotated.body.headers.Authorization).replace(/^Bearer /, '');
    expect(fresh).not.toBe(old);
    expect(rotated.body.base_url).toBe('https://bridge.example.com/tts/webhook');
    expect(rotated.body.template).toContain(`Bearer ${fresh}`);
    expect(await plugin.webhookToken('greenhouse-app')).toBe(fresh);

    const refused = await plugin.webhook(uplinkBody({ fCnt: 2 }), { token: old });
    expect(refused.status).toBe(401);
    const accepted = await plugin.webhook(uplinkBody({ fCnt: 2 }), { token: fresh });
    expect(accepted.status).toBe(200);
    expect(accepted.body.status).toBe('stored');

    // the other profiles' tokens are untouched
    const dflt = await plugin.webhookToken('default');
    expect((await plugin.webhook(uplinkBody({ appId: 'orchard-app', devEui: '0000000000000009', fCnt: 1 }), { token: dflt })).status).toBe(200);

    const events = await plugin.request('GET', '/api/events?category=profile&app_id=greenhouse-app');
    expect(events.body.items[0].title).toBe('Webhook token rotated');
    expect(JSON.stringify(events.body)).not.toContain(fresh);
    expect(JSON.stringify(events.body)).not.toContain(old);
  });

  it('rotates the Default token', async () => {
    const old = await plugin.webhookToken('default');
    const rotated = await plugin.request('POST', '/api/profiles/default/webhook');
    expect(rotated.status).toBe(200);
    const fresh = String(rotated.body.headers.Authorization).replace(/^Bearer /, '');
    expect((await plugin.webhook(uplinkBody({ appId: 'orchard-app' }), { token: old })).status).toBe(401);
    expect((await plugin.webhook(uplinkBody({ appId: 'orchard-app' }), { token: fresh })).status).toBe(200);
  });

  it('without PLUGIN_PUBLIC_URL, the base URL is the one the request came in on', async () => {
    const local = await new PluginHarness({ publicUrl: null }).start();
    try {
      const res = await local.request('GET', '/api/profiles/default/webhook');
      expect(res.status).toBe(200);
      expect(res.body.base_url).toBe(`${local.url}/tts/webhook`);
      expect(res.body.template).toContain(`base-url: "${local.url}/tts/webhook"`);
      const rotated = await local.request('POST', '/api/profiles/default/webhook');
      expect(rotated.status).toBe(200);
      expect(rotated.body.base_url).toBe(`${local.url}/tts/webhook`);
    } finally {
      await local.destroy();
    }
  });
});
