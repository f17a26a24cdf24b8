/**
 * Two plugin instances in one process (two createApp on one PostgreSQL database): what one instance
 * remembers must not outlive a change made through the other, and a load balancer must be told when
 * an instance cannot reach its database.
 */
import pgLib from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '../helpers/eventually.js';
import { PluginHarness } from '../helpers/plugin-harness.js';
import { Postgres } from '../helpers/postgres.js';
import { ECHO_UPLINK, uplinkBody } from '../helpers/tts-bodies.js';

const APP = 'greenhouse-app';
const DEVICE = '70B3D57ED0051A2B';

describe('two instances on one PostgreSQL', () => {
  let pg: Postgres;
  const running: PluginHarness[] = [];
  beforeAll(async () => {
    pg = await Postgres.start();
  });
  afterEach(async () => {
    for (const p of running.splice(0)) await p.destroy().catch(() => undefined);
  });
  afterAll(async () => {
    await pg?.stop();
  });

  const pair = async () => {
    const databaseUrl = await pg.createDatabase();
    const a = await new PluginHarness({ databaseUrl }).start();
    running.push(a);
    const b = await new PluginHarness({ databaseUrl }).start();
    running.push(b);
    expect((await a.request('PUT', `/api/profiles/${APP}`, { body: { formatter: { type: 'javascript', script: ECHO_UPLINK } } })).status).toBe(201);
    return { a, b, databaseUrl };
  };

  it('a device deleted through one instance is provisioned again by its next uplink at the other, which had it cached', async () => {
    const { a, b } = await pair();
    const first = await b.webhook(uplinkBody({ fCnt: 1 }));
    expect(first.body).toMatchObject({ status: 'stored', device_id: DEVICE });
    // b knows the device now (its uplinks skip the lookup); a deletes it
    expect((await b.webhook(uplinkBody({ fCnt: 2 }))).body.status).toBe('stored');
    expect((await a.request('DELETE', `/api/devices/${DEVICE}`)).status).toBe(204);
    expect((await b.request('GET', `/api/devices/${DEVICE}`)).status).toBe(404);
    // the notice reaches b in milliseconds; its next uplink of the device provisions it again
    await eventually(async () => {
      const res = await b.webhook(uplinkBody({ fCnt: 100 + Math.floor(Math.random() * 1e6) }));
      expect(res.body.status).toBe('stored');
      return (await b.request('GET', `/api/devices/${DEVICE}`)).status === 200;
    }, 'the device provisioned again through b', 3000);
    const provisioned = await a.request('GET', `/api/events?app_id=${APP}&category=provisioning&limit=10`);
    expect(provisioned.body.items.filter((e: { device_id: string }) => e.device_id === DEVICE).length).toBeGreaterThanOrEqual(2);
  });

  it('notices missed while an instance\'s link to the others was down do not leave it trusting its caches', async () => {
    const { a, b, databaseUrl } = await pair();
    expect((await b.webhook(uplinkBody({ fCnt: 1 }))).body.status).toBe('stored');
    // cut every LISTEN connection, then delete the device at once: b cannot hear of it
    const admin = new pgLib.Client({ connectionString: databaseUrl });
    await admin.connect();
    try {
      const cut = await admin.query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND query LIKE 'LISTEN%'");
      expect(cut.rowCount).toBe(2);
    } finally {
      await admin.end();
    }
    expect((await a.request('DELETE', `/api/devices/${DEVICE}`)).status).toBe(204);
    // once b listens again it drops what it cached: the device's next uplink there provisions it again
    await eventually(async () => {
      const r = await b.webhook(uplinkBody({ fCnt: 100 + Math.floor(Math.random() * 1e6) }));
      console.log('DBG', r.status, JSON.stringify(r.body), (await b.request('GET', `/api/devices/${DEVICE}`)).status);
      expect(r.body.status).toBe('stored');
      return (await b.request('GET', `/api/devices/${DEVICE}`)).status === 200;
    }, 'the device provisioned again through b after its link came back', 5000);
  });

  it('a webhook token rotated through one instance is refused by the other at once', async () => {
    const { a, b } = await pair();
    const old = await b.webhookToken(APP);
    expect((await b.webhook(uplinkBody({ fCnt: 1 }), { token: old })).status).toBe(200);
    const rotated = await a.request('POST', `/api/profiles/${APP}/webhook`);
    expect(rotated.status).toBe(200);
    const fresh = String(rotated.body.headers.Authorization).replace(/^Bearer /, '');
    // b cached the profile with the old token a moment ago; the rotation's notice drops it
    await eventually(async () => (await b.webhook(uplinkBody({ fCnt: 2 }), { token: old })).status === 401, 'the old token refused at b', 1000);
    expect((await b.webhook(uplinkBody({ fCnt: 3 }), { token: fresh })).status).toBe(200);
  });

  it('GET /healthz answers 503 unavailable once the database cannot be reached, and an uplink is then a 5xx (TTS retries it), never stored', async () => {
    // a server of its own: this case stops it
    const own = await Postgres.start();
    try {
      const plugin = await new PluginHarness({ databaseUrl: await own.createDatabase() }).start();
      running.push(plugin);
      const health = async () => {
        const res = await plugin.request('GET', '/healthz', { token: null });
        return { status: res.status, body: res.body as { status: string; details?: Record<string, unknown> } };
      };
      expect(await health()).toMatchObject({ status: 200, body: { status: 'ok' } });
      const token = await plugin.webhookToken();
      await own.stop();
      await eventually(async () => (await health()).status === 503, '503 once PostgreSQL is gone', 8000);
      expect((await health()).body).toMatchObject({ status: 'unavailable', details: { store: 'unreachable' } });
      const up = await plugin.webhook(uplinkBody({ fCnt: 1 }), { token });
      expect(up.status).toBeGreaterThanOrEqual(500);
    } finally {
      await own.stop().catch(() => undefined);
    }
  });
});
