/**
 * The Things Stack's MQTT server as a transport, against a real broker (Debian's mosquitto) with
 * TTS's authorisation: user `{app}@{tenant}` reads and writes only `v3/{app}@{tenant}/#`. A client
 * as `tts-server` plays TTS: it publishes uplinks and down/* events and reads the downlinks pushed.
 */
import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { eventually } from '../helpers/eventually.js';
import { FakeBroker } from '../helpers/fake-broker.js';
import { Mosquitto, TTS_SERVER_USER } from '../helpers/mosquitto.js';
import { PluginHarness } from '../helpers/plugin-harness.js';
import { fixture } from '../helpers/fixtures.js';
import { expectError, uplinkBody } from '../helpers/tts-bodies.js';

const SERVER_PASSWORD = 'tts-server-secret';
const A = { app: 'vendor-a-app', user: 'vendor-a-app@ttn', key: 'NNSXS.AAAAAAAAAAAAAAAA.KEY' };
const B = { app: 'vendor-b-app', user: 'vendor-b-app@ttn', key: 'NNSXS.BBBBBBBBBBBBBBBB.KEY' };
const ECHO = `module.exports.uplink = function (payload) { return { bytes: Array.from(Buffer.from(payload, 'base64')) }; };
module.exports.downlink = function (payload) { return Buffer.from([payload.level]).toString('base64'); };`;

describe('TTS over MQTT', () => {
  let broker: Mosquitto;
  let plugin: PluginHarness;
  let tts: MqttClient;
  /** What the plugin published, topic and parsed payload, in order. */
  let published: { topic: string; body: any }[];

  beforeAll(async () => {
    broker = await Mosquitto.start({
      users: [
        { username: A.user, password: A.key },
        { username: B.user, password: B.key },
        { username: TTS_SERVER_USER, password: SERVER_PASSWORD },
      ],
    });
  });
  afterAll(async () => {
    await broker.stop();
  });

  beforeEach(async () => {
    plugin = await new PluginHarness().start();
    tts = await mqtt.connectAsync(broker.url, { username: TTS_SERVER_USER, password: SERVER_PASSWORD, protocolVersion: 4, reconnectPeriod: 200 });
    published = [];
    tts.on('message', (topic, payload) => {
      if (/\/down\/(push|replace)$/.test(topic)) published.push({ topic, body: JSON.parse(payload.toString()) });
    });
    await tts.subscribeAsync('v3/+/devices/+/down/+');
  });
  afterEach(async () => {
    await tts.endAsync(true);
    await plugin.destroy();
  });

  const profile = (who: typeof A, extra: Record<string, unknown> = {}) =>
    plugin.request('PUT', `/api/profiles/${who.app}`, {
      body: { formatter: { type: 'javascript', script: ECHO }, tts_mqtt: { url: broker.url, username: who.user, password: who.key, ...extra } },
    });
  const connection = async (app: string) => (await plugin.request('GET', `/api/profiles/${app}/connection`)).body;
  const connected = (app: string) => eventually(async () => (await connection(app)).state === 'connected', `${app} connected`);
  const up = (who: typeof A, device: string, fCnt: number, bytes: number[]) =>
    tts.publishAsync(`v3/${who.user}/devices/${device}/up`, JSON.stringify(uplinkBody({ appId: who.app, deviceId: device, devEui: null, fCnt, bytes })));
  const rows = async (bucket: string) => {
    const res = await plugin.request('GET', `/api/buckets/${bucket}/data?order=asc`);
    return res.status === 200 ? (res.body.items as { data: { bytes: number[] } }[]) : [];
  };
  const events = async (app: string) => (await plugin.request('GET', `/api/events?app_id=${app}&category=connection&limit=100`)).body.items as { title: string; severity: string; details: any }[];

  it('an uplink published by TTS is stored through the same pipeline as a webhook', async () => {
    expect((await profile(A)).status).toBe(201);
    await connected(A.app);
    await up(A, 'dev-one', 1, [1, 2, 3]);
    const stored = await eventually(async () => (await rows('dev-one')).length === 1 && rows('dev-one'), 'the uplink stored');
    expect(stored[0].data).toEqual({ bytes: [1, 2, 3] });
    const device = await plugin.request('GET', '/api/devices/dev-one');
    // No webhook brought push URLs, and none are needed: the profile's connection carries downlinks.
    expect(device.body).toMatchObject({ app_id: A.app, network: 'tts', ids: { network_device_id: 'dev-one' }, downlink_ready: true });
    // A resend (QoS 0 may come twice; webhooks and MQTT may both be on) is a duplicate.
    await up(A, 'dev-one', 1, [1, 2, 3]);
    await up(A, 'dev-one', 2, [4]);
    await eventually(async () => (await rows('dev-one')).length === 2, 'the second uplink');
    expect((await rows('dev-one')).map((r) => r.data.bytes)).toEqual([[1, 2, 3], [4]]);
    expect((await events(A.app))[0]).toMatchObject({ title: 'TTS MQTT connected', severity: 'info' });
  });

  it('a downlink is published to down/push with its correlation id, and ends DELIVERED by down/sent and down/ack', async () => {
    await profile(A, {});
    await plugin.request('PUT', `/api/profiles/${A.app}`, {
      body: { formatter: { type: 'javascript', script: ECHO }, downlink: { confirmed: true }, tts_mqtt: { url: broker.url, username: A.user } },
    });
    await connected(A.app);
    await up(A, 'dev-one', 1, [9]);
    await eventually(async () => (await rows('dev-one')).length === 1, 'the device provisioned');
    const created = await plugin.request('POST', '/api/devices/dev-one/messages', { body: { message_id: 'm1', message: { level: 7 }, f_port: 3 } });
    expect(created.status).toBe(201);
    expect(created.body.result).toMatchObject({ status: 'PENDING', detail: 'submitted' });
    const push = await eventually(async () => published[0], 'the downlink publish');
    expect(push.topic).toBe(`v3/${A.user}/devices/dev-one/down/push`);
    const message = (await plugin.request('GET', '/api/devices/dev-one/messages/m1')).body;
    expect(push.body).toEqual({ downlinks: [{ f_port: 3, frm_payload: 'Bw==', priority: 'LOWEST', confirmed: true, correlation_ids: [message.correlation_id] }] });

    const downEvent = (type: 'downlink_queued' | 'downlink_sent' | 'downlink_ack') => {
      const body = fixture<Record<string, any>>(`tts/${type}.json`);
      body.end_device_ids.device_id = 'dev-one';
      body.end_device_ids.application_ids.application_id = A.app;
      delete body.end_device_ids.dev_eui;
      body[type].correlation_ids = [message.correlation_id, 'as:downlink:01JRZ7F4Q7B3D5T6C8M2N9K1XY'];
      return JSON.stringify(body);
    };
    const show = async () => (await plugin.request('GET', '/api/devices/dev-one/messages/m1')).body;
    await tts.publishAsync(`v3/${A.user}/devices/dev-one/down/queued`, downEvent('downlink_queued'));
    await eventually(async () => (await show()).detail === 'queued', 'queued');
    await tts.publishAsync(`v3/${A.user}/devices/dev-one/down/sent`, downEvent('downlink_sent'));
    await eventually(async () => (await show()).detail === 'sent', 'sent');
    expect((await show()).status).toBe('PENDING');
    await tts.publishAsync(`v3/${A.user}/devices/dev-one/down/ack`, downEvent('downlink_ack'));
    const done = await eventually(async () => ((await show()).status === 'DELIVERED' ? show() : null), 'DELIVERED');
    expect(done).toMatchObject({ status: 'DELIVERED', detail: 'acknowledged' });
  });

  it('a wrong password: state error with the broker\'s reason, one event, and no reconnect storm', async () => {
    await profile(A, { password: 'NNSXS.WRONG' });
    const status = await eventually(async () => {
      const c = await connection(A.app);
      return c.state === 'error' && c;
    }, 'the error state');
    expect(status.last_error).toMatch(/not authori[sz]ed|bad user ?name or password/i);
    expect(Date.parse(status.since)).toBeGreaterThan(0);
    // With refused credentials the next attempt waits authBaseMs (3 s here, 30 s in production).
    await new Promise((r) => setTimeout(r, 2000));
    expect((await connection(A.app)).failed_attempts).toBe(1);
    const refusals = (await events(A.app)).filter((e) => e.title.startsWith('TTS MQTT connection refused'));
    expect(refusals).toHaveLength(1);
    expect(refusals[0]).toMatchObject({ severity: 'error', details: { state: 'error', broker: broker.url } });
    expect(JSON.stringify(await events(A.app))).not.toContain('NNSXS.WRONG');
    const health = await plugin.request('GET', '/healthz');
    expect(health.body.details.mqtt).toEqual({ connected: 0, connecting: 0, error: 1, disabled: 0 });
    // The right password, saved: connected without waiting out the backoff.
    await profile(A);
    await connected(A.app);
  });

  it('the broker stopped and started again mid-stream: the plugin reconnects by itself and stores what comes after', async () => {
    await profile(A);
    await connected(A.app);
    await up(A, 'dev-one', 1, [1]);
    await eventually(async () => (await rows('dev-one')).length === 1, 'the first uplink');
    await broker.restart();
    await eventually(async () => (await events(A.app)).some((e) => e.title.startsWith('TTS MQTT reconnecting')), 'the reconnecting event');
    await connected(A.app);
    await eventually(async () => tts.connected, 'the TTS stand-in back');
    await tts.subscribeAsync('v3/+/devices/+/down/+');
    await up(A, 'dev-one', 2, [2]);
    await eventually(async () => (await rows('dev-one')).length === 2, 'the uplink after the restart');
    const titles = (await events(A.app)).map((e) => e.title);
    expect(titles.filter((t) => t === 'TTS MQTT connected')).toHaveLength(2);
  });

  it('a broker that is down: reconnecting with its error, attempts spaced out (1, 2, 4… tenths of a second here)', async () => {
    await plugin.request('PUT', `/api/profiles/${A.app}`, { body: { tts_mqtt: { url: 'mqtt://127.0.0.1:9', username: A.user, password: A.key } } });
    const status = await eventually(async () => {
      const c = await connection(A.app);
      return c.failed_attempts >= 1 && c;
    }, 'a failed attempt');
    expect(status).toMatchObject({ state: 'connecting', last_error: expect.stringMatching(/ECONNREFUSED/) });
    await new Promise((r) => setTimeout(r, 1500));
    // 0.1 + 0.2 + 0.4 + 0.8 s: at most 5 attempts in 1.5 s, not one per event-loop turn.
    const later = await connection(A.app);
    expect(later.failed_attempts).toBeGreaterThanOrEqual(3);
    expect(later.failed_attempts).toBeLessThanOrEqual(5);
    expect((await events(A.app)).filter((e) => e.title.startsWith('TTS MQTT reconnecting'))).toHaveLength(1);
  });

  it('a packet larger than 1 MiB from the broker closes the connection before it is buffered; it comes back', async () => {
    await profile(A);
    await connected(A.app);
    await tts.publishAsync(`v3/${A.user}/devices/dev-one/up`, Buffer.alloc(3 * 1024 * 1024, 0x20));
    const dropped = await eventually(async () => (await events(A.app)).find((e) => e.title.startsWith('TTS MQTT reconnecting')), 'the drop');
    expect(dropped.title).toMatch(/MQTT packet of \d+ bytes; the limit is 1049600/);
    await connected(A.app);
    await up(A, 'dev-one', 1, [5]);
    await eventually(async () => (await rows('dev-one')).length === 1, 'an uplink after');
  });

  it('opened at start: after a restart of the plugin the profile connects again by itself', async () => {
    await profile(A);
    await connected(A.app);
    await plugin.stop();
    plugin = await new PluginHarness({ dataDir: plugin.dataDir }).start();
    await connected(A.app);
    await up(A, 'dev-one', 1, [7]);
    await eventually(async () => (await rows('dev-one')).length === 1, 'an uplink after the restart');
  });

  it('a malformed message is an event with its reason, never a crash or a disconnect', async () => {
    await profile(A);
    await connected(A.app);
    await tts.publishAsync(`v3/${A.user}/devices/dev-one/up`, '{"end_device_ids": ');
    const refused = await eventually(async () => (await events(A.app)).find((e) => e.title.startsWith('TTS MQTT message refused')), 'the refusal event');
    expect(refused).toMatchObject({ severity: 'warning', details: { code: 'invalid_json', topic: `v3/${A.user}/devices/dev-one/up` } });
    expect((await connection(A.app)).state).toBe('connected');
    await up(A, 'dev-one', 1, [5]);
    await eventually(async () => (await rows('dev-one')).length === 1, 'the next good uplink');
  });

  it('a message of another application on this connection is refused; nothing is stored for either', async () => {
    await profile(A);
    await profile(B);
    await connected(A.app);
    await connected(B.app);
    // TTS never does this; a broker that is not TTS could.
    await tts.publishAsync(`v3/${A.user}/devices/intruder/up`, JSON.stringify(uplinkBody({ appId: B.app, deviceId: 'intruder', devEui: null, fCnt: 1, bytes: [1] })));
    const refused = await eventually(async () => (await events(A.app)).find((e) => e.title.startsWith('TTS MQTT message refused')), 'the refusal');
    expect(refused.details.code).toBe('wrong_application');
    expect((await plugin.request('GET', '/api/devices')).body.items).toEqual([]);
  });

  it('two profiles on two connections do not see each other\'s topics', async () => {
    await profile(A);
    await profile(B);
    await connected(A.app);
    await connected(B.app);
    await up(A, 'dev-a', 1, [1]);
    await up(B, 'dev-b', 1, [2]);
    await eventually(async () => (await rows('dev-a')).length === 1 && (await rows('dev-b')).length === 1, 'both uplinks');
    // Each arrived once, on its own connection: had B's connection seen A's topic, A's uplink would be refused there.
    expect((await plugin.request('GET', `/api/devices?app_id=${A.app}`)).body.items.map((d: { id: string }) => d.id)).toEqual(['dev-a']);
    expect((await plugin.request('GET', `/api/devices?app_id=${B.app}`)).body.items.map((d: { id: string }) => d.id)).toEqual(['dev-b']);
    expect((await events(B.app)).filter((e) => e.title.startsWith('TTS MQTT message refused'))).toEqual([]);
    // A's user subscribing to B's topics is refused by the broker (TTS's rule): nothing of B reaches it.
    const spy = await mqtt.connectAsync(broker.url, { username: A.user, password: A.key, protocolVersion: 4, reconnectPeriod: 0 });
    const seen: string[] = [];
    spy.on('message', (topic) => seen.push(topic));
    await spy.subscribeAsync(`v3/${B.user}/#`).catch(() => undefined);
    await up(B, 'dev-b', 2, [3]);
    await eventually(async () => (await rows('dev-b')).length === 2, 'B\'s second uplink');
    expect(seen).toEqual([]);
    await spy.endAsync(true);
  });

  describe('what a hostile admin, broker or publisher would try', () => {
    it('the stored key is kept by a save without one only for the same broker and user: never sent to a new broker', async () => {
      const theirs = await new FakeBroker().start();
      try {
        await profile(A);
        await connected(A.app);
        const moved = await plugin.request('PUT', `/api/profiles/${A.app}`, { body: { tts_mqtt: { url: theirs.url, username: A.user } } });
        expectError(moved, 400, 'invalid_profile');
        expect(moved.body.error.details.errors[0].path).toBe('/tts_mqtt/password');
        await new Promise((r) => setTimeout(r, 300));
        expect(theirs.connects).toEqual([]);
        expect((await connection(A.app)).state).toBe('connected');
      } finally {
        await theirs.stop();
      }
    });

    it('the MQTT user must be the profile\'s own application (another\'s would reach its devices)', async () => {
      const res = await plugin.request('PUT', `/api/profiles/${B.app}`, { body: { tts_mqtt: { url: broker.url, username: A.user, password: A.key } } });
      expectError(res, 400, 'invalid_profile');
      expect(res.body.error.details.errors[0].path).toBe('/tts_mqtt/username');
    });

    it('a broker port no socket can open is refused on save, not left connecting', async () => {
      const res = await plugin.request('PUT', `/api/profiles/${A.app}`, { body: { tts_mqtt: { url: 'mqtt://127.0.0.1:99999', username: A.user, password: A.key } } });
      expectError(res, 400, 'invalid_profile');
    });

    it('a broker that takes and drops every connection at once gets a growing backoff, not a reconnect a second', async () => {
      const flappy = await new FakeBroker({ dropAfterSuback: true }).start();
      try {
        await plugin.request('PUT', `/api/profiles/${A.app}`, { body: { tts_mqtt: { url: flappy.url, username: A.user, password: A.key } } });
        await new Promise((r) => setTimeout(r, 3000));
        // 0.1 + 0.2 + 0.4 + 0.8 + 1 s…: about 6 in 3 s; at the base delay it was about 28.
        expect(flappy.connects.length).toBeLessThanOrEqual(8);
      } finally {
        await flappy.stop();
      }
    });

    it('a save still running when the plugin closes opens no connection after it', async () => {
      const saving = plugin.app.services.profiles.put(A.app, { tts_mqtt: { url: broker.url, username: A.user, password: A.key } });
      await plugin.app.close();
      await saving;
      await new Promise((r) => setTimeout(r, 300));
      expect(plugin.app.services.connections.counts()).toEqual({ connected: 0, connecting: 0, error: 0, disabled: 0 });
    });
  });

  describe('settings', () => {
    it('the password is write-only; saving without it keeps it; disabling or deleting closes the connection', async () => {
      await profile(A);
      await connected(A.app);
      const view = await plugin.request('GET', `/api/profiles/${A.app}`);
      expect(view.body.tts_mqtt).toEqual({ enabled: true, url: broker.url, username: A.user, ca: null, password_set: true });
      expect(JSON.stringify(view.body)).not.toContain(A.key);
      await plugin.request('PUT', `/api/profiles/${A.app}`, { body: { tts_mqtt: { url: broker.url, username: A.user, enabled: false } } });
      await eventually(async () => (await connection(A.app)).state === 'disabled', 'disabled');
      await plugin.request('PUT', `/api/profiles/${A.app}`, { body: { tts_mqtt: { url: broker.url, username: A.user } } });
      await connected(A.app);
      expect((await plugin.request('DELETE', `/api/profiles/${A.app}`)).status).toBe(204);
      await eventually(async () => (await plugin.request('GET', '/healthz')).body.details.mqtt.connected === 0, 'the connection closed');
    });

    it.each([
      ['no password the first time', { url: 'mqtt://127.0.0.1:1883', username: A.user }],
      ['credentials in the URL', { url: 'mqtt://user:pw@127.0.0.1:1883', username: A.user, password: 'x' }],
      ['another scheme', { url: 'http://127.0.0.1:1883', username: A.user, password: 'x' }],
      ['a user name that is no application id', { url: 'mqtt://127.0.0.1:1883', username: 'A App', password: 'x' }],
      ['a CA that is no PEM', { url: 'mqtts://127.0.0.1:8883', username: A.user, password: 'x', ca: 'trust me' }],
    ])('refused: %s (400, nothing stored)', async (_name, tts_mqtt) => {
      expectError(await plugin.request('PUT', `/api/profiles/${A.app}`, { body: { tts_mqtt } }), 400, 'invalid_profile');
      expect((await plugin.request('GET', `/api/profiles/${A.app}`)).status).toBe(404);
    });

    it('the Default profile cannot connect (it serves every application without a profile)', async () => {
      expectError(await plugin.request('PUT', '/api/profiles/default', { body: { tts_mqtt: { url: broker.url, username: A.user, password: A.key } } }), 400, 'invalid_profile');
    });

    it('the connection of a profile without MQTT is disabled; of no profile, 404', async () => {
      await plugin.request('PUT', `/api/profiles/${A.app}`, { body: {} });
      expect(await connection(A.app)).toEqual({ state: 'disabled', last_error: null, since: null, failed_attempts: 0 });
      expectError(await plugin.request('GET', '/api/profiles/nobody-app/connection'), 404);
    });
  });
});
