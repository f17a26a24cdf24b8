import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, PluginHarness } from '../helpers/plugin-harness.js';
import { expectError } from '../helpers/tts-bodies.js';

/** Every admin route (and one that does not exist): all need the admin token. */
const ADMIN_ROUTES: [string, string][] = [
  ['GET', '/api/profiles'],
  ['GET', '/api/profiles/default'],
  ['PUT', '/api/profiles/some-app'],
  ['DELETE', '/api/profiles/some-app'],
  ['GET', '/api/profiles/default/webhook'],
  ['POST', '/api/profiles/default/webhook'],
  ['GET', '/api/devices'],
  ['GET', '/api/devices/dev-1'],
  ['DELETE', '/api/devices/dev-1'],
  ['GET', '/api/devices/dev-1/properties/device'],
  ['PUT', '/api/devices/dev-1/properties/note'],
  ['POST', '/downlink/dev-1'],
  ['POST', '/downlink/dev-1/clear'],
  ['POST', '/api/devices/dev-1/messages'],
  ['GET', '/api/devices/dev-1/messages'],
  ['GET', '/api/buckets'],
  ['GET', '/api/buckets/b-1/data'],
  ['GET', '/api/dead-letters'],
  ['POST', '/api/dead-letters/1/replay'],
  ['GET', '/api/events'],
  ['GET', '/api/events/stream'],
  ['POST', '/api/formatters/test'],
  ['POST', '/api/formatters/test-recent'],
  ['POST', '/api/formatters/examples'],
  ['GET', '/api/formatters/templates'],
  ['GET', '/api/measurements?quantity=air.temperature'],
  ['GET', '/api/measurements/quantities'],
  ['GET', '/api/profiles/default/connection'],
  ['GET', '/api/profiles/default/formatter-versions'],
  ['GET', '/api/profiles/default/formatter-versions/1'],
  ['PATCH', '/api/profiles/default/formatter-versions/1'],
  ['POST', '/api/profiles/default/formatter-versions/1/restore'],
  ['POST', '/api/dead-letters/replay-all?app_id=default'],
  ['GET', '/api/no-such-route'],
];

describe('admin API authentication', () => {
  let plugin: PluginHarness;
  beforeEach(async () => {
    plugin = await new PluginHarness().start();
  });
  afterEach(async () => {
    await plugin.destroy();
  });

  it('answers 401 in the error shape, with WWW-Authenticate, on every admin route without a token', async () => {
    for (const [method, path] of ADMIN_ROUTES) {
      const res = await plugin.request(method, path, {
        token: null,
        ...(method === 'GET' || method === 'DELETE' ? {} : { body: { message: 'x' } }),
      });
      expect(res.status, `${method} ${path}`).toBe(401);
      expectError(res, 401, 'unauthorized');
      expect(res.headers.get('www-authenticate'), `${method} ${path}`).toBe('Bearer');
    }
  });

  it('cannot be bypassed by changing the case of the path prefix', async () => {
    const variants = (path: string) => [path.replace(/^\/api\//, '/API/'), path.replace(/^\/api\//, '/Api/'), path.replace(/^\/downlink\//, '/DOWNLINK/'), path.replace(/^\/downlink\//, '/Downlink/')];
    for (const [method, path] of ADMIN_ROUTES) {
      for (const variant of new Set(variants(path).filter((v) => v !== path))) {
        const res = await plugin.request(method, variant, {
          token: null,
          ...(method === 'GET' || method === 'DELETE' ? {} : { body: { message: 'x' } }),
        });
        // refused (or not found), never served
        expect([401, 404], `${method} ${variant} answered ${res.status}: ${res.text.slice(0, 100)}`).toContain(res.status);
      }
    }
    // nothing was changed through such a path
    expect((await plugin.request('GET', '/api/profiles')).body.items.map((p: { app_id: string }) => p.app_id)).toEqual(['default']);
  });

  it('does not show a webhook token without the admin token, whatever the case of the path', async () => {
    const token = await plugin.webhookToken('default');
    for (const path of ['/API/profiles/default/webhook', '/Api/Profiles/default/webhook', '/api/profiles/default/webhook']) {
      const res = await plugin.request('GET', path, { token: null });
      expect(res.text, path).not.toContain(token);
    }
  });

  it('refuses a wrong token, a webhook token, a Basic header and the token without "Bearer"', async () => {
    const webhookToken = await plugin.webhookToken();
    const variants: Record<string, string>[] = [
      { Authorization: 'Bearer wrong-token-0123456789' },
      { Authorization: `Bearer ${webhookToken}` },
      { Authorization: `Bearer ${ADMIN_TOKEN}x` },
      { Authorization: `Basic ${Buffer.from(`admin:${ADMIN_TOKEN}`).toString('base64')}` },
      { Authorization: ADMIN_TOKEN },
      { 'X-Auth-Token': ADMIN_TOKEN },
    ];
    for (const headers of variants) {
      for (const [method, path] of [['GET', '/api/profiles'], ['GET', '/api/events'], ['POST', '/downlink/dev-1']] as const) {
        const res = await plugin.request(method, path, { token: null, headers, ...(method === 'POST' ? { body: {} } : {}) });
        expect(res.status, `${method} ${path} with ${JSON.stringify(headers)}`).toBe(401);
        expectError(res, 401, 'unauthorized');
      }
    }
  });

  it('accepts the admin token', async () => {
    const res = await plugin.request('GET', '/api/profiles');
    expect(res.status).toBe(200);
    expect(res.body.items.map((p: { app_id: string }) => p.app_id)).toEqual(['default']);
  });

  it('changes nothing when a write is refused', async () => {
    const put = await plugin.request('PUT', '/api/profiles/some-app', { body: {}, token: 'wrong-token-0123456789' });
    expect(put.status).toBe(401);
    const del = await plugin.request('DELETE', '/api/profiles/default', { token: null });
    expect(del.status).toBe(401);
    const rotate = await plugin.request('POST', '/api/profiles/default/webhook', { token: null });
    expect(rotate.status).toBe(401);
    const before = await plugin.webhookToken();

    expect((await plugin.request('GET', '/api/profiles/some-app')).status).toBe(404);
    expect((await plugin.request('GET', '/api/profiles/default')).status).toBe(200);
    expect(await plugin.webhookToken()).toBe(before);
  });

  it('leaves /healthz, /manifest.json and the webhook paths to their own rules', async () => {
    expect((await plugin.request('GET', '/healthz', { token: null })).status).toBe(200);
    expect((await plugin.request('GET', '/manifest.json', { token: null })).status).toBe(200);
    // webhooks take the profile's webhook token, not the admin token
    const res = await plugin.request('POST', '/tts/webhook', {
      body: { end_device_ids: { device_id: 'dev-1', application_ids: { application_id: 'some-app' } } },
    });
    expectError(res, 401, 'unauthorized');
  });
});
