import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ADMIN_TOKEN, PluginHarness, TestClock } from '../helpers/plugin-harness.js';
import { SseClient } from '../helpers/sse.js';
import { ECHO_UPLINK, THROWING_UPLINK, expectError, uplinkBody } from '../helpers/tts-bodies.js';

const EUI = '70B3D57ED0051A2B';
const EVENT_KEYS = ['app_id', 'category', 'details', 'device_id', 'id', 'severity', 'title', 'ts'];

describe('event log', () => {
  let plugin: PluginHarness;
  beforeEach(async () => {
    plugin = await new PluginHarness({ clock: new TestClock() }).start();
    await plugin.request('PUT', '/api/profiles/greenhouse-app', { body: { formatter: { type: 'javascript', script: ECHO_UPLINK } } });
    await plugin.request('PUT', '/api/profiles/orchard-app', { body: { formatter: { type: 'javascript', script: THROWING_UPLINK } } });
  });
  afterEach(async () => {
    await plugin.destroy();
  });

  const events = async (query = '') => {
    const res = await plugin.request('GET', `/api/events${query}`);
    expect(res.status).toBe(200);
    return res.body.items as any[];
  };

  it('records uplink stored, device provisioned, formatter error (with line), auth failure and ignored message', async () => {
    await plugin.webhook(uplinkBody({ bytes: [9] }));
    await plugin.webhook(uplinkBody({ appId: 'orchard-app', devEui: '0000000000000009' }));
    await plugin.webhook(uplinkBody(), { token: null });
    await plugin.webhook({ end_device_ids: uplinkBody().end_device_ids, gateway_status: {} });

    const items = await events();
    for (const e of items) {
      expect(Object.keys(e).sort()).toEqual(EVENT_KEYS);
      expect(e.ts).toBe('2025-04-16T12:00:00.000Z');
    }
    const find = (category: string, appId: string) => items.find((e) => e.category === category && e.app_id === appId);
    expect(find('uplink', 'greenhouse-app')).toEqual({
      id: expect.any(Number),
      ts: '2025-04-16T12:00:00.000Z',
      app_id: 'greenhouse-app',
      device_id: EUI,
      category: 'uplink',
      severity: 'info',
      title: 'Uplink stored',
      details: {
        f_port: 2,
        f_cnt: 1423,
        received_at: expect.any(String),
        duration_ms: expect.any(Number),
        data: { bytes: [9], port: 2, f_cnt: 1423 },
        formatter_version: 1,
      },
    });
    expect(find('provisioning', 'greenhouse-app')).toMatchObject({ device_id: EUI, severity: 'info', title: 'Device provisioned' });
    expect(find('formatter', 'orchard-app')).toMatchObject({
      device_id: '0000000000000009',
      severity: 'error',
      title: expect.stringContaining('sensor offline'),
      details: { error: { kind: 'runtime', line: 2 } },
    });
    expect(find('auth', 'greenhouse-app')).toMatchObject({ device_id: null, severity: 'warning', title: 'Webhook without token refused' });
    expect(find('webhook', 'greenhouse-app')).toMatchObject({ severity: 'info', title: 'Unknown message type ignored' });
  });

  it('lists newest first and filters by app_id, device_id, category, severity, limit and after_id', async () => {
    await plugin.webhook(uplinkBody({ fCnt: 1 }));
    await plugin.webhook(uplinkBody({ fCnt: 2 }));
    await plugin.webhook(uplinkBody({ appId: 'orchard-app', devEui: '0000000000000009' }));
    await plugin.webhook(uplinkBody(), { token: null });

    const all = await events();
    const ids = all.map((e) => e.id);
    expect(ids).toEqual([...ids].sort((a, b) => b - a));

    const orchard = await events('?app_id=orchard-app');
    expect(orchard.length).toBeGreaterThan(0);
    expect(orchard.every((e) => e.app_id === 'orchard-app')).toBe(true);
    expect(orchard.map((e) => e.category).sort()).toEqual(['formatter', 'profile', 'provisioning']);

    const device = await events(`?device_id=${EUI}`);
    expect(device.map((e) => e.title)).toEqual(['Uplink stored', 'Uplink stored', 'Device provisioned']);
    expect((await events('?device_id=0000000000000009')).map((e) => e.category)).toEqual(['formatter', 'provisioning']);

    expect((await events('?category=uplink')).map((e) => e.details.f_cnt)).toEqual([2, 1]);
    expect((await events('?severity=error')).map((e) => e.category)).toEqual(['formatter']);
    expect((await events('?severity=warning')).map((e) => e.category)).toEqual(['auth']);
    expect((await events(`?app_id=greenhouse-app&category=uplink&limit=1`)).map((e) => e.details.f_cnt)).toEqual([2]);
    expect(await events('?limit=2')).toEqual(all.slice(0, 2));
    expect(await events(`?after_id=${all[2].id}`)).toEqual(all.slice(0, 2));
  });

  it.each(['category=nope', 'severity=fatal', 'limit=0', 'limit=1001', 'limit=x', 'after_id=-1'])('refuses ?%s with 400', async (q) => {
    expectError(await plugin.request('GET', `/api/events?${q}`), 400, 'invalid_query');
  });

  describe('live stream (Server-Sent Events)', () => {
    const clients: SseClient[] = [];
    const open = async (query = '', headers: Record<string, string> = {}) => {
      const client = new SseClient(`${plugin.url}/api/events/stream${query}`, { Authorization: `Bearer ${ADMIN_TOKEN}`, ...headers });
      clients.push(client);
      await client.open();
      expect(client.status).toBe(200);
      // the stream announces itself before any event, so the subscription is in place
      await client.next((f) => f.retry !== undefined);
      return client;
    };
    afterEach(() => {
      for (const c of clients.splice(0)) c.close();
    });

    it('needs the admin token', async () => {
      const res = await plugin.request('GET', '/api/events/stream', { token: null });
      expectError(res, 401, 'unauthorized');
    });

    it('delivers an event stored after connecting, as the same JSON the list shows', async () => {
      const client = await open();
      expect(client.headers.get('content-type')).toMatch(/^text\/event-stream/);
      await plugin.webhook(uplinkBody());
      const live = await client.nextEvent((e) => e.category === 'uplink');
      expect(live.data).toMatchObject({ app_id: 'greenhouse-app', device_id: EUI, title: 'Uplink stored' });
      const listed = (await events('?category=uplink'))[0];
      expect(live.data).toEqual(listed);
      expect(live.id).toBe(String(listed.id));
    });

    it('applies the filters to the stream', async () => {
      const auth = await open('?category=auth');
      const orchard = await open(`?app_id=orchard-app&severity=error`);
      await plugin.webhook(uplinkBody()); // greenhouse: provisioning + uplink
      await plugin.webhook(uplinkBody({ appId: 'orchard-app', devEui: '0000000000000009' })); // orchard: provisioning + formatter error
      await plugin.webhook(uplinkBody(), { token: 'wrong-token-0123456789' }); // auth

      const first = await auth.nextEvent();
      expect(first.data).toMatchObject({ category: 'auth', title: 'Webhook with wrong token refused' });
      const err = await orchard.nextEvent();
      expect(err.data).toMatchObject({ app_id: 'orchard-app', severity: 'error', category: 'formatter' });
      // nothing else came through either filter
      await plugin.request('PUT', '/api/profiles/greenhouse-app', { body: { formatter: { type: 'none' } } });
      // Another profile's refusal (greenhouse's own already has this minute's event).
      await plugin.webhook(uplinkBody({ appId: 'orchard-app' }), { token: null });
      await plugin.webhook(uplinkBody({ appId: 'orchard-app', devEui: '0000000000000009', fCnt: 2 }));
      expect((await auth.nextEvent()).data.title).toBe('Webhook without token refused');
      expect((await orchard.nextEvent()).data.details.f_cnt).toBe(2);
      const seen = (c: SseClient) => c.frames.filter((f) => f.event === 'event').map((f) => JSON.parse(f.data ?? '{}'));
      expect(seen(auth).every((e) => e.category === 'auth')).toBe(true);
      expect(seen(orchard).every((e) => e.app_id === 'orchard-app' && e.severity === 'error')).toBe(true);
    });

    it('lets go of a client that disconnects', async () => {
      const events = plugin.app.services.events;
      const before = events.subscriberCount;
      const client = await open();
      expect(events.subscriberCount).toBe(before + 1);
      client.close();
      await vi.waitFor(() => expect(events.subscriberCount).toBe(before), { timeout: 2000, interval: 10 });
    });

    it('resumes after Last-Event-ID from the stored log', async () => {
      await plugin.webhook(uplinkBody({ fCnt: 1 }));
      await plugin.webhook(uplinkBody({ fCnt: 2 }));
      await plugin.webhook(uplinkBody({ fCnt: 3 }));
      const uplinks = (await events('?category=uplink')).reverse(); // oldest first
      const client = await open('?category=uplink', { 'Last-Event-ID': String(uplinks[0].id) });
      const a = await client.nextEvent();
      const b = await client.nextEvent();
      expect([a.data.details.f_cnt, b.data.details.f_cnt]).toEqual([2, 3]);
      expect([a.id, b.id]).toEqual([String(uplinks[1].id), String(uplinks[2].id)]);
      // and continues live
      await plugin.webhook(uplinkBody({ fCnt: 4 }));
      expect((await client.nextEvent()).data.details.f_cnt).toBe(4);
    });
  });
});

describe('event cap', () => {
  let plugin: PluginHarness;
  afterEach(async () => {
    await plugin.destroy();
  });

  it('keeps the log bounded by trimming the oldest events', async () => {
    plugin = await new PluginHarness({ eventCap: 100 }).start();
    const counts: number[] = [];
    for (let batch = 0; batch < 5; batch++) {
      const events = plugin.app.services.events;
      await Promise.all(
        Array.from({ length: 100 }, (_, i) => events.record({ appId: 'greenhouse-app', deviceId: null, category: 'webhook', severity: 'info', title: `event ${batch}-${i}`, details: {} })),
      );
      counts.push((await plugin.request('GET', '/api/events?limit=1000')).body.items.length);
    }
    // 500 events were written; at most the cap plus one trimming batch are kept
    for (const n of counts) {
      expect(n).toBeGreaterThanOrEqual(100);
      expect(n).toBeLessThanOrEqual(200);
    }
    const items = (await plugin.request('GET', '/api/events?limit=1000')).body.items;
    const newest = items[0].id;
    // the newest 100 are all there, without gaps
    expect(items.slice(0, 100).map((e: { id: number }) => e.id)).toEqual(Array.from({ length: 100 }, (_, i) => newest - i));
    expect(Math.min(...items.map((e: { id: number }) => e.id))).toBeGreaterThan(newest - 200);
  });
});
