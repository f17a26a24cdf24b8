import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PluginHarness, TestClock } from '../helpers/plugin-harness.js';
import { expectError, uplinkBody } from '../helpers/tts-bodies.js';

const EUI = '70B3D57ED0051A2B';
const T1 = '2025-04-16T10:00:00.000Z';
const T2 = '2025-04-16T11:00:00.000Z';
const T3 = '2025-04-16T12:00:00.000Z';

const SCRIPT = `module.exports.uplink = function (payload, message) {
  const n = message.uplink_message.f_cnt;
  const out = { count: n, note: n === 2 ? 'a,"b"' : n === 3 ? '=SUM(A1)' : 'plain', delta: n - 3, gps: { lat: 52.1 } };
  if (n === 1) out.first = true;
  return out;
};`;

const row = (ts: string, n: number) => ({
  ts,
  data: { count: n, note: n === 2 ? 'a,"b"' : n === 3 ? '=SUM(A1)' : 'plain', delta: n - 3, gps: { lat: 52.1 }, ...(n === 1 ? { first: true } : {}) },
});
const R1 = row(T1, 1);
const R2 = row(T2, 2);
const R3 = row(T3, 3);

describe('buckets API', () => {
  let plugin: PluginHarness;
  beforeEach(async () => {
    plugin = await new PluginHarness({ clock: new TestClock() }).start();
    await plugin.request('PUT', '/api/profiles/greenhouse-app', { body: { formatter: { type: 'javascript', script: SCRIPT } } });
    // out of order on purpose: reads are by time, not by arrival
    for (const [fCnt, receivedAt] of [[2, T2], [1, T1], [3, T3]] as const) {
      const res = await plugin.webhook(uplinkBody({ fCnt, receivedAt }));
      expect(res.body.status).toBe('stored');
    }
  });
  afterEach(async () => {
    await plugin.destroy();
  });

  const data = (query = '') => plugin.request('GET', `/api/buckets/${EUI}/data${query}`);

  it('lists buckets with row count and last time, filtered by app_id and device_id', async () => {
    await plugin.request('PUT', '/api/profiles/orchard-app', { body: { formatter: { type: 'none' } } });
    await plugin.webhook(uplinkBody({ appId: 'orchard-app', devEui: '0000000000000009', decoded: { x: 1 } }));
    const all = await plugin.request('GET', '/api/buckets');
    expect(all.status).toBe(200);
    expect(all.body.items).toEqual([
      { id: '0000000000000009', device_id: '0000000000000009', app_id: 'orchard-app', created_at: '2025-04-16T12:00:00.000Z', rows: 1, last_ts: '2025-04-16T11:54:13.787Z' },
      { id: EUI, device_id: EUI, app_id: 'greenhouse-app', created_at: '2025-04-16T12:00:00.000Z', rows: 3, last_ts: T3 },
    ]);
    expect((await plugin.request('GET', '/api/buckets?app_id=greenhouse-app')).body.items.map((b: { id: string }) => b.id)).toEqual([EUI]);
    expect((await plugin.request('GET', '/api/buckets?device_id=0000000000000009')).body.items.map((b: { id: string }) => b.id)).toEqual(['0000000000000009']);
    expect((await plugin.request('GET', '/api/buckets?app_id=nobody-app')).body.items).toEqual([]);
    const one = await plugin.request('GET', `/api/buckets/${EUI}`);
    expect(one.body).toEqual(all.body.items[1]);
  });

  it('reads newest first by default, as {bucket_id, items}', async () => {
    const res = await data();
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ bucket_id: EUI, items: [R3, R2, R1] });
  });

  it('reads oldest first with order=asc, and limit takes from that end', async () => {
    expect((await data('?order=asc')).body.items).toEqual([R1, R2, R3]);
    expect((await data('?limit=2')).body.items).toEqual([R3, R2]);
    expect((await data('?order=asc&limit=1')).body.items).toEqual([R1]);
  });

  it('filters by from and to, both inclusive, as RFC 3339 or epoch milliseconds', async () => {
    expect((await data(`?from=${T2}`)).body.items).toEqual([R3, R2]);
    expect((await data(`?to=${T2}`)).body.items).toEqual([R2, R1]);
    expect((await data(`?from=${T2}&to=${T2}`)).body.items).toEqual([R2]);
    expect((await data(`?from=2025-04-16T10:00:00.001Z&to=2025-04-16T11:59:59.999Z&order=asc`)).body.items).toEqual([R2]);
    expect((await data(`?from=${encodeURIComponent('2025-04-16T12:30:00+01:00')}`)).body.items).toEqual([R3]);
    expect((await data(`?from=${Date.parse(T2)}&to=${Date.parse(T3)}&order=asc`)).body.items).toEqual([R2, R3]);
    expect((await data(`?from=2030-01-01T00:00:00Z`)).body.items).toEqual([]);
  });

  it('exports CSV: ts then one column per field (nested fields dotted), quoted per RFC 4180', async () => {
    const res = await data('?format=csv&order=asc');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/csv; charset=utf-8');
    expect(res.headers.get('content-disposition')).toBe(`attachment; filename="${EUI}.csv"`);
    expect(res.text).toBe(
      'ts,count,note,delta,gps.lat,first\r\n' +
        `${T1},1,plain,-2,52.1,true\r\n` +
        `${T2},2,"a,""b""",-1,52.1,\r\n` +
        `${T3},3,'=SUM(A1),0,52.1,\r\n`,
    );
  });

  it('CSV follows the same filters, and an empty range is the header line alone', async () => {
    const res = await data(`?format=csv&to=${T1}`);
    expect(res.text).toBe('ts,count,note,delta,gps.lat,first\r\n' + `${T1},1,plain,-2,52.1,true\r\n`);
    const none = await data('?format=csv&from=2030-01-01T00:00:00Z');
    expect(none.status).toBe(200);
    expect(none.text).toBe('ts\r\n');
  });

  it.each([
    'limit=0',
    'limit=100001',
    'limit=abc',
    'order=up',
    'format=xml',
    'from=yesterday',
    'to=2025-13-01T00:00:00Z',
    'from=-5',
    `from=${T3}&to=${T1}`,
  ])('refuses ?%s with 400', async (q) => {
    const res = await data(`?${q}`);
    expectError(res, 400, 'invalid_query');
  });

  it('answers 404 for an unknown bucket', async () => {
    expectError(await plugin.request('GET', '/api/buckets/nope'), 404, 'not_found');
    expectError(await plugin.request('GET', '/api/buckets/nope/data'), 404, 'not_found');
    expectError(await plugin.request('GET', '/api/buckets/nope/data?format=csv'), 404, 'not_found');
  });
});
