import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PluginHarness, TestClock } from '../helpers/plugin-harness.js';
import { expectError, uplinkBody } from '../helpers/tts-bodies.js';

const DEFAULTS = {
  enabled: true,
  network: 'tts',
  uplink: {
    auto_provision: true,
    auto_provision_bucket: true,
    device_id_source: 'dev_eui',
    device_id_prefix: '',
    bucket_id_prefix: '',
    connection_timeout_min: 10,
    asset_type: null,
    asset_group: null,
    update_location: false,
    save_metadata: false,
    initial_downlink: {},
  },
  downlink: { confirmed: false, push: true, priority: 'LOWEST', f_port: null, status_notification_url: null, tts_hosts: '' },
  formatter: { type: 'javascript', script: '', timeout_ms: 100 },
};

const TYPE_STYLE = `function decodeUplink(input) {
  return { data: { first: input.bytes[0] } };
}`;

describe('application profiles', () => {
  let plugin: PluginHarness;
  let clock: TestClock;
  beforeEach(async () => {
    clock = new TestClock();
    plugin = await new PluginHarness({ clock }).start();
  });
  afterEach(async () => {
    await plugin.destroy();
  });

  it('starts with the Default profile, with every default of the README', async () => {
    const list = await plugin.request('GET', '/api/profiles');
    expect(list.status).toBe(200);
    expect(list.body.items).toHaveLength(1);
    expect(list.body.items[0]).toMatchObject({ app_id: 'default', ...DEFAULTS });
    const one = await plugin.request('GET', '/api/profiles/default');
    expect(one.status).toBe(200);
    expect(one.body).toEqual({ app_id: 'default', ...DEFAULTS, formatter_suspensions: [], formatter_version: 1, created_at: expect.any(String), updated_at: expect.any(String) });
  });

  it('PUT with an empty body creates a profile with all defaults (201), a second PUT updates it (200)', async () => {
    const created = await plugin.request('PUT', '/api/profiles/greenhouse-app', { body: {} });
    expect(created.status).toBe(201);
    expect(created.body).toEqual({ app_id: 'greenhouse-app', ...DEFAULTS, formatter_suspensions: [], formatter_version: 1, created_at: '2025-04-16T12:00:00.000Z', updated_at: '2025-04-16T12:00:00.000Z' });

    clock.advance(60_000);
    const updated = await plugin.request('PUT', '/api/profiles/greenhouse-app', {
      body: { enabled: false, uplink: { device_id_prefix: 'gh-', connection_timeout_min: 30 }, formatter: { type: 'javascript', script: TYPE_STYLE } },
    });
    expect(updated.status).toBe(200);
    expect(updated.body).toEqual({
      app_id: 'greenhouse-app',
      ...DEFAULTS,
      formatter_suspensions: [],
      // A new formatter: its second version.
      formatter_version: 2,
      enabled: false,
      uplink: { ...DEFAULTS.uplink, device_id_prefix: 'gh-', connection_timeout_min: 30 },
      formatter: { type: 'javascript', script: TYPE_STYLE, timeout_ms: 100 },
      created_at: '2025-04-16T12:00:00.000Z',
      updated_at: '2025-04-16T12:01:00.000Z',
    });
    const read = await plugin.request('GET', '/api/profiles/greenhouse-app');
    expect(read.body).toEqual(updated.body);

    const list = await plugin.request('GET', '/api/profiles');
    expect(list.body.items.map((p: { app_id: string }) => p.app_id)).toEqual(['default', 'greenhouse-app']);
  });

  it('PUT replaces the settings: a field left out returns to its default', async () => {
    await plugin.request('PUT', '/api/profiles/greenhouse-app', { body: { uplink: { device_id_prefix: 'gh-', save_metadata: true } } });
    const again = await plugin.request('PUT', '/api/profiles/greenhouse-app', { body: { uplink: { save_metadata: true } } });
    expect(again.status).toBe(200);
    expect(again.body.uplink).toEqual({ ...DEFAULTS.uplink, save_metadata: true });
  });

  it('takes every documented field', async () => {
    const body = {
      enabled: true,
      uplink: {
        auto_provision: false,
        auto_provision_bucket: false,
        device_id_source: 'device_id',
        device_id_prefix: 'gh_1-',
        bucket_id_prefix: 'data-',
        connection_timeout_min: 43200,
        asset_type: 'sensor',
        asset_group: 'greenhouse',
        update_location: true,
        save_metadata: true,
        initial_downlink: { interval: 60 },
      },
      downlink: { confirmed: true, push: false, priority: 'HIGHEST', f_port: 223, status_notification_url: 'https://example.com/hook' },
      formatter: { type: 'cayennelpp', script: '', timeout_ms: 5000 },
    };
    const res = await plugin.request('PUT', '/api/profiles/greenhouse-app', { body });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject(body);
  });

  it('updates the Default profile too', async () => {
    const res = await plugin.request('PUT', '/api/profiles/default', { body: { uplink: { asset_type: 'sensor' } } });
    expect(res.status).toBe(200);
    expect(res.body.uplink.asset_type).toBe('sensor');
  });

  it('refuses a script that does not compile, with line and column, and stores nothing', async () => {
    const script = 'module.exports.uplink = function (payload) {\n  return { a: 1, };\n  const = 5;\n};';
    const res = await plugin.request('PUT', '/api/profiles/greenhouse-app', { body: { formatter: { type: 'javascript', script } } });
    expectError(res, 400, 'formatter_invalid');
    expect(res.body.error.details).toMatchObject({ kind: 'syntax', line: 3, column: expect.any(Number) });
    expect((await plugin.request('GET', '/api/profiles/greenhouse-app')).status).toBe(404);

    // an existing profile keeps its working script
    await plugin.request('PUT', '/api/profiles/greenhouse-app', { body: { formatter: { type: 'javascript', script: TYPE_STYLE } } });
    const bad = await plugin.request('PUT', '/api/profiles/greenhouse-app', { body: { formatter: { type: 'javascript', script } } });
    expect(bad.status).toBe(400);
    expect((await plugin.request('GET', '/api/profiles/greenhouse-app')).body.formatter.script).toBe(TYPE_STYLE);
  });

  it.each([
    ['unknown top-level field', { colour: 'red' }, '/'],
    ['unknown nested field', { uplink: { auto_provison: true } }, '/uplink'],
    ['enabled as a string', { enabled: 'yes' }, '/enabled'],
    ['connection_timeout_min 0', { uplink: { connection_timeout_min: 0 } }, '/uplink/connection_timeout_min'],
    ['connection_timeout_min 1.5', { uplink: { connection_timeout_min: 1.5 } }, '/uplink/connection_timeout_min'],
    ['connection_timeout_min as a string', { uplink: { connection_timeout_min: '10' } }, '/uplink/connection_timeout_min'],
    ['timeout_ms 6000', { formatter: { timeout_ms: 6000 } }, '/formatter/timeout_ms'],
    ['timeout_ms 0', { formatter: { timeout_ms: 0 } }, '/formatter/timeout_ms'],
    ['downlink f_port 224', { downlink: { f_port: 224 } }, '/downlink/f_port'],
    ['downlink f_port 0', { downlink: { f_port: 0 } }, '/downlink/f_port'],
    ['unknown formatter type', { formatter: { type: 'python' } }, '/formatter/type'],
    ['unknown priority', { downlink: { priority: 'URGENT' } }, '/downlink/priority'],
    ['unknown device_id_source', { uplink: { device_id_source: 'dev_addr' } }, '/uplink/device_id_source'],
    ['prefix with a slash', { uplink: { device_id_prefix: 'a/b' } }, '/uplink/device_id_prefix'],
    ['notification URL not http(s)', { downlink: { status_notification_url: 'ftp://example.com/x' } }, '/downlink/status_notification_url'],
    ['initial_downlink an array', { uplink: { initial_downlink: [1, 2] } }, '/uplink/initial_downlink'],
    ['uplink settings null', { uplink: null }, '/uplink'],
    ['a JSON array body', [1, 2], '/'],
  ])('refuses %s with 400 naming the field, and stores nothing', async (_name, body, path) => {
    const res = await plugin.request('PUT', '/api/profiles/greenhouse-app', { body });
    expectError(res, 400, 'invalid_profile');
    expect(res.body.error.details.errors).toEqual(expect.arrayContaining([expect.objectContaining({ path })]));
    expect((await plugin.request('GET', '/api/profiles/greenhouse-app')).status).toBe(404);
  });

  it('refuses a body that is not JSON with 400', async () => {
    const res = await plugin.request('PUT', '/api/profiles/greenhouse-app', { raw: '{"enabled": tru' });
    expectError(res, 400, 'invalid_json');
    expect((await plugin.request('GET', '/api/profiles/greenhouse-app')).status).toBe(404);
  });

  it.each(['Greenhouse', 'ab', 'gh--app', '-gh', 'gh_app', 'a'.repeat(37)])('refuses the application id %j with 400', async (appId) => {
    for (const [method, path] of [
      ['GET', `/api/profiles/${appId}`],
      ['PUT', `/api/profiles/${appId}`],
      ['DELETE', `/api/profiles/${appId}`],
      ['GET', `/api/profiles/${appId}/webhook`],
      ['POST', `/api/profiles/${appId}/webhook`],
    ] as const) {
      const res = await plugin.request(method, path, method === 'PUT' ? { body: {} } : {});
      expectError(res, 400, 'invalid_app_id');
    }
    const list = await plugin.request('GET', '/api/profiles');
    expect(list.body.items).toHaveLength(1);
  });

  it('answers 404 for an unknown profile on GET, DELETE and the webhook routes', async () => {
    expectError(await plugin.request('GET', '/api/profiles/unknown-app'), 404, 'not_found');
    expectError(await plugin.request('DELETE', '/api/profiles/unknown-app'), 404, 'not_found');
    expectError(await plugin.request('GET', '/api/profiles/unknown-app/webhook'), 404, 'not_found');
    expectError(await plugin.request('POST', '/api/profiles/unknown-app/webhook'), 404, 'not_found');
  });

  it('deletes a profile (204); the application then falls back to Default', async () => {
    await plugin.request('PUT', '/api/profiles/greenhouse-app', { body: { uplink: { device_id_prefix: 'gh-' }, formatter: { type: 'none' } } });
    const del = await plugin.request('DELETE', '/api/profiles/greenhouse-app');
    expect(del.status).toBe(204);
    expect(del.text).toBe('');
    expect((await plugin.request('GET', '/api/profiles/greenhouse-app')).status).toBe(404);
    expect((await plugin.request('DELETE', '/api/profiles/greenhouse-app')).status).toBe(404);

    await plugin.request('PUT', '/api/profiles/default', { body: { formatter: { type: 'none' } } });
    const up = await plugin.webhook(uplinkBody({ appId: 'greenhouse-app' }), { token: await plugin.webhookToken('default') });
    expect(up.status).toBe(200);
    expect(up.body).toMatchObject({ status: 'stored', device_id: '70B3D57ED0051A2B' });
  });

  it('refuses to delete the Default profile (409)', async () => {
    const res = await plugin.request('DELETE', '/api/profiles/default');
    expectError(res, 409, 'default_profile');
    expect((await plugin.request('GET', '/api/profiles/default')).status).toBe(200);
  });

  it('records profile changes as events', async () => {
    await plugin.request('PUT', '/api/profiles/greenhouse-app', { body: {} });
    await plugin.request('PUT', '/api/profiles/greenhouse-app', { body: { enabled: false } });
    await plugin.request('DELETE', '/api/profiles/greenhouse-app');
    const events = await plugin.request('GET', '/api/events?category=profile&app_id=greenhouse-app');
    expect(events.body.items.map((e: { title: string }) => e.title)).toEqual(['Profile deleted', 'Profile updated', 'Profile created']);
  });

  it('never shows the webhook token outside the webhook routes', async () => {
    await plugin.request('PUT', '/api/profiles/greenhouse-app', { body: {} });
    const tokens = [await plugin.webhookToken('default'), await plugin.webhookToken('greenhouse-app')];
    const texts = [
      (await plugin.request('GET', '/api/profiles')).text,
      (await plugin.request('GET', '/api/profiles/default')).text,
      (await plugin.request('GET', '/api/profiles/greenhouse-app')).text,
      (await plugin.request('PUT', '/api/profiles/greenhouse-app', { body: {} })).text,
      (await plugin.request('GET', '/api/events?limit=1000')).text,
    ];
    for (const text of texts) for (const token of tokens) expect(text).not.toContain(token);
  });
});
