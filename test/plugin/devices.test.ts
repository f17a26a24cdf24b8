import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PluginHarness } from '../helpers/plugin-harness.js';
import { expectError, uplinkBody } from '../helpers/tts-bodies.js';

const EUIS = ['0000000000000005', '0000000000000003', '0000000000000001', '0000000000000004', '0000000000000002'];
const EUI = '70B3D57ED0051A2B';

describe('devices API', () => {
  let plugin: PluginHarness;
  beforeEach(async () => {
    plugin = await new PluginHarness().start();
    await plugin.request('PUT', '/api/profiles/greenhouse-app', { body: { formatter: { type: 'none' } } });
    await plugin.request('PUT', '/api/profiles/orchard-app', { body: { formatter: { type: 'none' } } });
  });
  afterEach(async () => {
    await plugin.destroy();
  });

  const addDevices = async () => {
    for (const [i, eui] of EUIS.entries()) {
      const res = await plugin.webhook(uplinkBody({ devEui: eui, deviceId: `node-${eui.slice(-1)}`, appId: i % 2 ? 'orchard-app' : 'greenhouse-app' }));
      expect(res.body.status).toBe('stored');
    }
  };

  it('pages through 5 devices 2 at a time: 3 pages, next_cursor null at the end', async () => {
    await addDevices();
    const ids: string[] = [];
    let cursor: string | null = null;
    const sizes: number[] = [];
    for (let page = 0; page < 10; page++) {
      const res: { status: number; body: { items: { id: string }[]; next_cursor: string | null } } = await plugin.request(
        'GET',
        `/api/devices?limit=2${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
      );
      expect(res.status).toBe(200);
      sizes.push(res.body.items.length);
      ids.push(...res.body.items.map((d) => d.id));
      cursor = res.body.next_cursor;
      if (cursor === null) break;
    }
    expect(sizes).toEqual([2, 2, 1]);
    expect(ids).toEqual([...EUIS].sort());
  });

  it('an exact last page has next_cursor null', async () => {
    await addDevices();
    const all = await plugin.request('GET', '/api/devices?limit=5');
    expect(all.body.items).toHaveLength(5);
    expect(all.body.next_cursor).toBeNull();
    const dflt = await plugin.request('GET', '/api/devices');
    expect(dflt.body.items).toHaveLength(5);
    expect(dflt.body.next_cursor).toBeNull();
  });

  it('filters by app_id (with paging) and by search', async () => {
    await addDevices();
    const greenhouse = await plugin.request('GET', '/api/devices?app_id=greenhouse-app');
    expect(greenhouse.body.items.map((d: { id: string }) => d.id)).toEqual(['0000000000000001', '0000000000000002', '0000000000000005']);
    const page1 = await plugin.request('GET', '/api/devices?app_id=orchard-app&limit=1');
    expect(page1.body.items.map((d: { id: string }) => d.id)).toEqual(['0000000000000003']);
    const page2 = await plugin.request('GET', `/api/devices?app_id=orchard-app&limit=1&cursor=${page1.body.next_cursor}`);
    expect(page2.body.items.map((d: { id: string }) => d.id)).toEqual(['0000000000000004']);
    expect(page2.body.next_cursor).toBeNull();

    const byId = await plugin.request('GET', '/api/devices?search=0004');
    expect(byId.body.items.map((d: { id: string }) => d.id)).toEqual(['0000000000000004']);
    const byTtsId = await plugin.request('GET', '/api/devices?search=node-2');
    expect(byTtsId.body.items.map((d: { id: string }) => d.id)).toEqual(['0000000000000002']);
    const literal = await plugin.request('GET', '/api/devices?search=%25');
    expect(literal.body.items).toEqual([]);
    expect((await plugin.request('GET', '/api/devices?app_id=nobody-app')).body).toEqual({ items: [], next_cursor: null });
  });

  it.each(['limit=0', 'limit=1001', 'limit=two', 'limit=1.5'])('refuses the query %s with 400', async (q) => {
    expectError(await plugin.request('GET', `/api/devices?${q}`), 400, 'invalid_query');
  });

  it('GET answers 404 for an unknown device', async () => {
    expectError(await plugin.request('GET', '/api/devices/nope'), 404, 'not_found');
  });

  it('DELETE removes the device (204) and records an event; a second DELETE is 404', async () => {
    await plugin.webhook(uplinkBody());
    const del = await plugin.request('DELETE', `/api/devices/${EUI}`);
    expect(del.status).toBe(204);
    expectError(await plugin.request('GET', `/api/devices/${EUI}`), 404, 'not_found');
    expect((await plugin.request('GET', '/api/devices')).body.items).toEqual([]);
    expectError(await plugin.request('DELETE', `/api/devices/${EUI}`), 404, 'not_found');
    const events = await plugin.request('GET', `/api/events?category=device&device_id=${EUI}`);
    expect(events.body.items.map((e: { title: string }) => e.title)).toEqual(['Device deleted']);
  });

  describe('properties', () => {
    beforeEach(async () => {
      await plugin.webhook(uplinkBody());
    });

    it('GET returns {name, value}; unknown property or device is 404', async () => {
      const downlink = await plugin.request('GET', `/api/devices/${EUI}/properties/downlink`);
      expect(downlink.body).toEqual({ name: 'downlink', value: {} });
      const device = await plugin.request('GET', `/api/devices/${EUI}/properties/device`);
      expect(device.body.value).toMatchObject({ f_cnt: 1423, f_port: 2 });
      expectError(await plugin.request('GET', `/api/devices/${EUI}/properties/colour`), 404, 'not_found');
      expectError(await plugin.request('GET', '/api/devices/nope/properties/device'), 404, 'not_found');
    });

    it.each([
      ['an object', { threshold: 21.5, enabled: true }],
      ['a number', 42],
      ['a string', 'north wall'],
      ['an array', [1, 'two', { three: 3 }]],
    ])('PUT stores any JSON value (%s) and GET reads it back', async (_n, value) => {
      const put = await plugin.request('PUT', `/api/devices/${EUI}/properties/note`, { body: value });
      expect(put.status).toBe(200);
      expect(put.body).toEqual({ name: 'note', value });
      expect((await plugin.request('GET', `/api/devices/${EUI}/properties/note`)).body).toEqual({ name: 'note', value });
      expect((await plugin.request('GET', `/api/devices/${EUI}`)).body.properties.note).toEqual(value);
    });

    it('PUT overwrites a property', async () => {
      await plugin.request('PUT', `/api/devices/${EUI}/properties/note`, { body: { a: 1 } });
      await plugin.request('PUT', `/api/devices/${EUI}/properties/note`, { body: { b: 2 } });
      expect((await plugin.request('GET', `/api/devices/${EUI}/properties/note`)).body.value).toEqual({ b: 2 });
    });

    it('refuses to overwrite the device property (400)', async () => {
      expectError(await plugin.request('PUT', `/api/devices/${EUI}/properties/device`, { body: { f_cnt: 0 } }), 400, 'read_only_property');
      expect((await plugin.request('GET', `/api/devices/${EUI}/properties/device`)).body.value.f_cnt).toBe(1423);
    });

    it('refuses a bad property name (400), an unknown device (404), bad JSON (400) and over 64 KiB (413)', async () => {
      expectError(await plugin.request('PUT', `/api/devices/${EUI}/properties/bad.name`, { body: 1 }), 400, 'invalid_property');
      expectError(await plugin.request('PUT', `/api/devices/${EUI}/properties/${'n'.repeat(65)}`, { body: 1 }), 400, 'invalid_property');
      expectError(await plugin.request('PUT', '/api/devices/nope/properties/note', { body: 1 }), 404, 'not_found');
      expectError(await plugin.request('PUT', `/api/devices/${EUI}/properties/note`, { raw: '{"a":' }), 400, 'invalid_json');
      expectError(await plugin.request('PUT', `/api/devices/${EUI}/properties/note`, { body: { blob: 'x'.repeat(64 * 1024) } }), 413, 'payload_too_large');
      expectError(await plugin.request('GET', `/api/devices/${EUI}/properties/note`), 404, 'not_found');
      expectError(await plugin.request('GET', '/api/devices/nope'), 404, 'not_found');
    });

    it('PUT of downlink stores it and creates a downlink message (waiting for the push URL)', async () => {
      const put = await plugin.request('PUT', `/api/devices/${EUI}/properties/downlink`, { body: { interval: 30 } });
      expect(put.status).toBe(200);
      expect(put.body).toMatchObject({ name: 'downlink', value: { interval: 30 }, message: { status: 'PENDING', detail: 'waiting_for_uplink', f_port: 2 } });
      expect((await plugin.request('GET', `/api/devices/${EUI}/properties/downlink`)).body.value).toEqual({ interval: 30 });
    });
  });
});
