/**
 * Two applications whose profiles derive the same device id (both prefix "" + DevEUI) send a
 * device's first uplinks at the same time, before either provisioned it: the device is one
 * application's, with its data and its downlink credentials only; the other's uplinks are
 * device_id_conflict dead letters (nothing lost). The same for a bucket id, when only the bucket
 * prefixes are the same. On SQLite through one instance, on PostgreSQL through two (one per
 * application), as behind a load balancer.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { PluginHarness } from '../helpers/plugin-harness.js';
import { Postgres } from '../helpers/postgres.js';
import { uplinkBody } from '../helpers/tts-bodies.js';
import { TtsPeer } from '../helpers/tts-peer.js';

const APPS = ['orchard-app', 'vineyard-app'] as const;
type App = (typeof APPS)[number];
/** Devices raced at once: enough that most of them are really provisioned by both at the same time. */
const DEVICES = 12;
const ROUNDS = 2;
/** A formatter in a formatter process: the uplink waits for it between its device lookup and its write. */
const FORMATTER = 'module.exports.uplink = function (payload, message) { return { from: message.end_device_ids.application_ids.application_id }; };';
const keyOf = (app: App) => `NNSXS.${app.toUpperCase()}.SECRET`;

describe.each([
  { store: 'SQLite', instances: 1 },
  { store: 'PostgreSQL', instances: 2 },
])('first uplinks of one device id from two applications at once ($store)', ({ store, instances }) => {
  let pg: Postgres | null = null;
  const plugins: PluginHarness[] = [];
  const peers = new Map<App, TtsPeer>();
  beforeAll(async () => {
    if (store === 'PostgreSQL') pg = await Postgres.start();
  }, 60_000);
  afterEach(async () => {
    for (const p of plugins.splice(0)) await p.destroy();
    for (const peer of peers.values()) await peer.stop();
    peers.clear();
  });
  afterAll(async () => {
    await pg?.stop();
  });

  /** The instances, both applications' profiles (with `uplink` settings of their own), and a sender of uplinks. */
  const setUp = async (uplink: (app: App) => Record<string, unknown> = () => ({})) => {
    const databaseUrl = pg ? await pg.createDatabase() : undefined;
    for (let i = 0; i < instances; i++) plugins.push(await new PluginHarness(databaseUrl ? { databaseUrl } : {}).start());
    const [plugin] = plugins;
    const via = (app: App) => plugins[APPS.indexOf(app) % plugins.length];
    for (const app of APPS) {
      const profile = { uplink: uplink(app), formatter: { type: 'javascript', script: FORMATTER } };
      expect((await plugin.request('PUT', `/api/profiles/${app}`, { body: profile })).status).toBe(201);
      peers.set(app, await new TtsPeer().start());
    }
    const tokens = new Map<App, string>();
    for (const app of APPS) tokens.set(app, await plugin.webhookToken(app));

    const euis = Array.from({ length: DEVICES }, (_, i) => `DDDDDDDDDDDD${String(i + 1).padStart(4, '0')}`);
    // Half the devices send the same payload through both applications (the same dedupe key: still
    // not a duplicate of the other's), half their own.
    const bytes = (app: App, eui: string, fCnt: number) => (euis.indexOf(eui) % 2 ? [fCnt] : [fCnt, APPS.indexOf(app)]);
    const send = async (app: App, eui: string, fCnt: number) => {
      const ttsDevice = `eui-${eui.toLowerCase()}`;
      const res = await via(app).webhook(uplinkBody({ appId: app, deviceId: ttsDevice, devEui: eui, fCnt, bytes: bytes(app, eui, fCnt) }), {
        token: tokens.get(app)!,
        headers: peers.get(app)!.downlinkHeaders(app, ttsDevice, keyOf(app)),
      });
      expect(res.status).toBe(200);
      return { app, eui, status: res.body.status as string, deviceId: res.body.device_id as string };
    };
    return { plugin, euis, send };
  };

  it('each device is one application\'s, with only its data and credentials; the other\'s uplinks are device_id_conflict dead letters', async () => {
    const { plugin, euis, send } = await setUp();

    const owners = new Map<string, App>();
    for (let round = 1; round <= ROUNDS; round++) {
      // Every device's uplink from both applications at once (the first round provisions them).
      const answers = await Promise.all(euis.flatMap((eui) => APPS.map((app) => send(app, eui, round))));
      for (const eui of euis) {
        const mine = answers.filter((a) => a.eui === eui);
        expect(mine.map((a) => a.deviceId)).toEqual([eui, eui]);
        expect(mine.map((a) => a.status).sort(), `${eui}, round ${round}`).toEqual(['dead_letter', 'stored']);
        const owner = mine.find((a) => a.status === 'stored')!.app;
        if (round === 1) owners.set(eui, owner);
        else expect(owner, `${eui} stays its owner's`).toBe(owners.get(eui));
      }
    }

    for (const eui of euis) {
      const owner = owners.get(eui)!;
      for (const p of plugins) expect((await p.request('GET', `/api/devices/${eui}`)).body).toMatchObject({ id: eui, app_id: owner });
      expect((await plugin.request('GET', `/api/buckets/${eui}`)).body).toMatchObject({ app_id: owner, rows: ROUNDS });
      const rows = (await plugin.request('GET', `/api/buckets/${eui}/data?order=asc`)).body.items;
      expect(rows.map((r: { data: unknown }) => r.data), `${eui}'s bucket`).toEqual(Array.from({ length: ROUNDS }, () => ({ from: owner })));
      expect(await plugin.store.getCredentials(eui), `${eui}'s downlink credentials`).toMatchObject({ apiKey: keyOf(owner) });
    }
    for (const app of APPS) {
      const lost = euis.filter((eui) => owners.get(eui) !== app);
      const other = APPS.find((a) => a !== app)!;
      // Every uplink of the devices it lost is a dead letter naming the owner, and its events say so.
      const letters = (await plugin.request('GET', `/api/dead-letters?app_id=${app}&limit=1000`)).body.items as { device_id: string; reason: string; error: { message: string } }[];
      expect(letters.map((l) => l.device_id).sort()).toEqual(lost.flatMap((eui) => Array.from({ length: ROUNDS }, () => eui)).sort());
      for (const l of letters) {
        expect(l.reason).toBe('device_id_conflict');
        expect(l.error.message).toContain(`device '${l.device_id}' belongs to application '${other}'`);
      }
      const events = (await plugin.request('GET', `/api/events?app_id=${app}&limit=1000`)).body.items as { device_id: string; category: string; title: string }[];
      const ofLost = events.filter((e) => lost.includes(e.device_id));
      expect(ofLost.map((e) => e.title)).toEqual(ofLost.map((e) => `Device id '${e.device_id}' already belongs to '${other}'`));
      expect(ofLost).toHaveLength(lost.length * ROUNDS);
      const devices = (await plugin.request('GET', `/api/devices?app_id=${app}&limit=100`)).body.items as { id: string }[];
      expect(devices.map((d) => d.id).sort()).toEqual(euis.filter((eui) => owners.get(eui) === app).sort());
    }
    const provisioned = (await plugin.request('GET', '/api/events?category=provisioning&limit=1000')).body.items as { title: string }[];
    expect(provisioned.filter((e) => e.title === 'Device provisioned')).toHaveLength(DEVICES);
  }, 60_000);

  it('each bucket is one application\'s, with only its data; the other\'s device is not provisioned, its uplink a bucket_id_conflict dead letter', async () => {
    // Device ids of their own ("orchard-app-…"), one bucket id (the DevEUI).
    const { plugin, euis, send } = await setUp((app) => ({ device_id_prefix: `${app}-` }));
    const answers = await Promise.all(euis.flatMap((eui) => APPS.map((app) => send(app, eui, 1))));
    for (const eui of euis) {
      const mine = answers.filter((a) => a.eui === eui);
      expect(mine.map((a) => a.status).sort(), eui).toEqual(['dead_letter', 'stored']);
      const owner = mine.find((a) => a.status === 'stored')!.app;
      const other = APPS.find((a) => a !== owner)!;
      expect((await plugin.request('GET', `/api/buckets/${eui}`)).body).toMatchObject({ app_id: owner, device_id: `${owner}-${eui}`, rows: 1 });
      expect((await plugin.request('GET', `/api/buckets/${eui}/data`)).body.items.map((r: { data: unknown }) => r.data)).toEqual([{ from: owner }]);
      expect((await plugin.request('GET', `/api/devices/${owner}-${eui}`)).body).toMatchObject({ app_id: owner, bucket_id: eui });
      expect((await plugin.request('GET', `/api/devices/${other}-${eui}`)).status).toBe(404);
      expect(await plugin.store.getCredentials(`${other}-${eui}`)).toBeNull();
      const letters = (await plugin.request('GET', `/api/dead-letters?app_id=${other}&limit=1000`)).body.items as { device_id: string; reason: string; error: { message: string } }[];
      expect(letters.filter((l) => l.device_id === `${other}-${eui}`)).toEqual([
        expect.objectContaining({ reason: 'bucket_id_conflict', error: expect.objectContaining({ message: expect.stringContaining(`bucket '${eui}' belongs to application '${owner}'`) }) }),
      ]);
    }
  }, 60_000);
});
