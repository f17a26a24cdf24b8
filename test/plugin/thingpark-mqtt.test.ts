/**
 * ThingPark over MQTT (reference A.4), against a real broker (Debian's mosquitto, every user every
 * topic): ThingPark's MQTT connector is a client of the operator's broker, and so is the plugin. A
 * client as `thingpark` plays the connector: it publishes reports on the uplink topics and reads
 * the DevEUI_downlink documents the plugin publishes on the downlink topics.
 */
import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { eventually } from '../helpers/eventually.js';
import { Mosquitto } from '../helpers/mosquitto.js';
import { PluginHarness } from '../helpers/plugin-harness.js';
import { VECTOR, downlinkSentReport, postReport, tpFixture, uplinkReport, type Report } from '../helpers/thingpark-peer.js';
import { expectError, uplinkBody } from '../helpers/tts-bodies.js';

const APP = 'tp-app';
const PLUGIN_USER = { username: 'lorawan-plugin', password: 'plugin-broker-secret' };
const CONNECTOR_USER = { username: 'thingpark', password: 'connector-broker-secret' };
const TTS = { app: 'vendor-a-app', user: 'vendor-a-app@ttn', key: 'NNSXS.AAAAAAAAAAAAAAAA.KEY' };
const EUI = 'A0000000000000D1';
const OTHER_EUI = 'A0000000000000D2';
const AS_KEY = '5ca1ab1e5ca1ab1e5ca1ab1e5ca1ab1e';
const ECHO = `module.exports.uplink = function (payload) { return { bytes: Array.from(Buffer.from(payload, 'base64')) }; };
module.exports.downlink = function (payload) { return Buffer.from([payload.level]).toString('base64'); };`;
const uplinkTopic = (eui: string) => `mqtt/things/${eui}/uplink`;
const downlinkTopic = (eui: string) => `mqtt/things/${eui}/downlink`;

describe('ThingPark over MQTT', () => {
  /** What the plugin published on downlink topics, topic and parsed payload, in order (emptied before each test). */
  const published: { topic: string; body: any }[] = [];
  let broker: Mosquitto;
  let plugin: PluginHarness;
  let connector: MqttClient;

  beforeAll(async () => {
    broker = await Mosquitto.start({ users: [PLUGIN_USER, CONNECTOR_USER, { username: TTS.user, password: TTS.key }], acl: 'open' });
  });
  afterAll(async () => {
    await broker.stop();
  });

  beforeEach(async () => {
    plugin = await new PluginHarness().start();
    connector = await mqtt.connectAsync(broker.url, { ...CONNECTOR_USER, protocolVersion: 4, reconnectPeriod: 200 });
    published.length = 0;
    connector.on('message', (topic, payload) => published.push({ topic, body: JSON.parse(payload.toString()) }));
    await connector.subscribeAsync(['mqtt/things/+/downlink', 'v3/+/devices/+/down/+']);
  });
  afterEach(async () => {
    await connector.endAsync(true);
    await plugin.destroy();
  });

  const mqttSettings = (extra: Record<string, unknown> = {}) => ({ url: broker.url, username: PLUGIN_USER.username, password: PLUGIN_USER.password, ...extra });
  const put = (thingpark: Record<string, unknown>, settings: Record<string, unknown> = {}, app = APP) =>
    plugin.request('PUT', `/api/profiles/${app}`, { body: { formatter: { type: 'javascript', script: ECHO }, ...settings, network: 'thingpark', thingpark } });
  const profile = async (settings: Record<string, unknown> = {}, mqttExtra: Record<string, unknown> = {}) => {
    const res = await put({ as_id: VECTOR.asId, transport: 'mqtt', mqtt: mqttSettings(mqttExtra) }, settings);
    expect(res.status, res.text).toBeLessThan(300);
    return res;
  };
  const connection = async (app = APP) => (await plugin.request('GET', `/api/profiles/${app}/connection`)).body;
  const connected = (app = APP) => eventually(async () => (await connection(app)).state === 'connected', `${app} connected`);
  const publish = (topic: string, document: unknown) => connector.publishAsync(topic, typeof document === 'string' ? document : JSON.stringify(document));
  const up = (eui: string, fCntUp: number, bytes: number[]) => publish(uplinkTopic(eui), uplinkReport({ devEui: eui, fCntUp, bytes }));
  const rows = async (bucket: string) => {
    const res = await plugin.request('GET', `/api/buckets/${bucket}/data?order=asc`);
    return res.status === 200 ? (res.body.items as { data: { bytes: number[] } }[]) : [];
  };
  const events = async (category: string, app = APP) =>
    (await plugin.request('GET', `/api/events?app_id=${app}&category=${category}&limit=100`)).body.items as { title: string; severity: string; details: any }[];
  const refusal = (app = APP) => eventually(async () => (await events('connection', app)).find((e) => e.title.startsWith('ThingPark MQTT message refused')), 'the refusal event');
  const show = async (id: string) => (await plugin.request('GET', `/api/devices/${EUI}/messages/${id}`)).body;
  /** A connected profile with the device provisioned by its first uplink. */
  const withDevice = async (settings: Record<string, unknown> = {}) => {
    await profile(settings);
    await connected();
    await up(EUI, 1, [9]);
    await eventually(async () => (await rows(EUI)).length === 1, 'the device provisioned');
  };

  it('an uplink report with its root key is stored as over HTTP, without Token, AS_ID or Time', async () => {
    await profile();
    await connected();
    expect((await events('connection'))[0]).toMatchObject({ title: 'ThingPark MQTT connected', severity: 'info' });
    await up(EUI, 1, [1, 2, 3]);
    const stored = await eventually(async () => (await rows(EUI)).length === 1 && rows(EUI), 'the uplink stored');
    expect(stored[0].data).toEqual({ bytes: [1, 2, 3] });
    const device = (await plugin.request('GET', `/api/devices/${EUI}`)).body;
    // Downlinks go out on the profile's connection: nothing else is needed.
    expect(device).toMatchObject({ app_id: APP, network: 'thingpark', ids: { network_device_id: EUI, dev_eui: EUI }, downlink_ready: true });
    // QoS 0 may bring one twice: a duplicate.
    await up(EUI, 1, [1, 2, 3]);
    await up(EUI, 2, [4]);
    await eventually(async () => (await rows(EUI)).length === 2, 'the second uplink');
    expect((await rows(EUI)).map((r) => r.data.bytes)).toEqual([[1, 2, 3], [4]]);
  });

  it('a sendMetadata document (the uplink fields without the DevEUI_uplink root) is stored too', async () => {
    await profile();
    await connected();
    await publish(uplinkTopic(EUI), uplinkReport({ devEui: EUI, fCntUp: 7, bytes: [5, 6] }).DevEUI_uplink);
    const stored = await eventually(async () => (await rows(EUI)).length === 1 && rows(EUI), 'the uplink stored');
    expect(stored[0].data).toEqual({ bytes: [5, 6] });
    const uplinks = (await plugin.request('GET', `/api/events?device_id=${EUI}&category=uplink`)).body.items;
    expect(uplinks[0].details).toMatchObject({ f_cnt: 7 });
  });

  it('a notification is an event, not marked unsigned: the broker authenticated its sender', async () => {
    await profile();
    await connected();
    const notification = tpFixture('DevEUI_notification');
    await publish(uplinkTopic(notification.DevEUI_notification!.DevEUI), notification);
    const note = await eventually(async () => (await events('webhook')).find((e) => e.title.startsWith('ThingPark: device notification')), 'the notification event');
    expect(note.title).toBe('ThingPark: device notification: reset');
  });

  describe('downlinks', () => {
    it('published on the downlink topic as DevEUI_downlink with its CorrelationID; DevEUI_downlink_Sent makes it DELIVERED', async () => {
      await withDevice();
      const created = await plugin.request('POST', `/api/devices/${EUI}/messages`, { body: { message_id: 'm1', message: { level: 7 }, f_port: 3 } });
      expect(created.status, created.text).toBe(201);
      expect(created.body.result).toMatchObject({ status: 'PENDING', detail: 'submitted' });
      const sent = await eventually(async () => published[0], 'the downlink publish');
      const message = await show('m1');
      expect(message.correlation_id).toMatch(/^[0-9A-F]{16}$/);
      expect(sent).toEqual({ topic: downlinkTopic(EUI), body: { DevEUI_downlink: { DevEUI: EUI, FPort: 3, payload_hex: '07', CorrelationID: message.correlation_id } } });

      // Reports of another message, or of this one's device on another topic, move nothing.
      await publish(uplinkTopic(EUI), downlinkSentReport({ devEui: EUI, correlationId: '00000000000000AA', fPort: 3, deliveryStatus: 1 }));
      await publish(uplinkTopic(EUI), downlinkSentReport({ devEui: EUI, correlationId: message.correlation_id, fPort: 3, deliveryStatus: 1 }));
      const done = await eventually(async () => ((await show('m1')).status === 'DELIVERED' ? show('m1') : null), 'DELIVERED');
      expect(done).toMatchObject({ status: 'DELIVERED', network: 'thingpark' });
      expect(published).toHaveLength(1);
    });

    it('confirmed and replacing: Confirmed "1" and FlushDownlinkQueue "1"', async () => {
      await withDevice({ downlink: { confirmed: true, push: false } });
      await plugin.request('POST', `/api/devices/${EUI}/messages`, { body: { message_id: 'c1', message: { level: 1 }, f_port: 15 } });
      const sent = await eventually(async () => published[0], 'the downlink publish');
      expect(sent.body).toEqual({
        DevEUI_downlink: { DevEUI: EUI, FPort: 15, payload_hex: '01', Confirmed: '1', FlushDownlinkQueue: '1', CorrelationID: (await show('c1')).correlation_id },
      });
    });

    it('clearing the queue publishes FlushDownlinkQueue without a payload', async () => {
      await withDevice();
      const res = await plugin.request('POST', `/downlink/${EUI}/clear`);
      expect(res.status, res.text).toBe(200);
      expect(res.body).toEqual({ status: 'cleared' });
      const sent = await eventually(async () => published[0], 'the flush publish');
      expect(sent).toEqual({ topic: downlinkTopic(EUI), body: { DevEUI_downlink: { DevEUI: EUI, FlushDownlinkQueue: '1' } } });
    });

    it('a broker that cannot be reached: the message waits to be retried (thingpark_mqtt_unavailable); a clear is a 502', async () => {
      await withDevice();
      // Same profile, a broker that is down (its password given again: a new broker gets no stored one).
      await profile({}, { url: 'mqtt://127.0.0.1:9' });
      await eventually(async () => (await connection()).state === 'connecting', 'reconnecting');
      const created = await plugin.request('POST', `/api/devices/${EUI}/messages`, { body: { message_id: 'w1', message: { level: 2 }, f_port: 3 } });
      expect(created.body.result).toMatchObject({ status: 'PENDING', detail: 'retrying', error: { code: 'thingpark_mqtt_unavailable' } });
      const clear = await plugin.request('POST', `/downlink/${EUI}/clear`);
      expect(clear.status).toBe(502);
      expect(clear.body.error).toMatchObject({ code: 'thingpark_mqtt_unavailable', message: expect.stringMatching(/not connected|no MQTT connection/) });
      expect(published).toEqual([]);
    });
  });

  describe('refused messages: an event with the reason, nothing stored, still connected', () => {
    it.each<[string, string, (topic: string) => string | Report | Record<string, unknown>, string]>([
      ['malformed JSON', uplinkTopic(EUI), () => '{"DevEUI_uplink": ', 'invalid_json'],
      ['an unknown root key', uplinkTopic(EUI), () => ({ DevEUI_something: { DevEUI: EUI } }), 'invalid_report'],
      ['a TTS message', uplinkTopic(EUI), () => uplinkBody({ appId: APP, deviceId: 'dev-one', devEui: EUI, fCnt: 1, bytes: [1] }), 'invalid_report'],
      ['the report of another DevEUI than its topic', uplinkTopic(EUI), () => uplinkReport({ devEui: OTHER_EUI, fCntUp: 1, bytes: [1] }), 'wrong_device'],
      ['a topic without a DevEUI', uplinkTopic('not-an-eui'), () => uplinkReport({ devEui: EUI, fCntUp: 1, bytes: [1] }), 'invalid_topic'],
    ])('%s', async (_name, topic, document, code) => {
      await profile();
      await connected();
      await publish(topic, document(topic));
      const refused = await refusal();
      expect(refused).toMatchObject({ severity: 'warning', details: { code, topic } });
      expect((await connection()).state).toBe('connected');
      expect((await plugin.request('GET', '/api/devices')).body.items).toEqual([]);
      await up(EUI, 1, [5]);
      await eventually(async () => (await rows(EUI)).length === 1, 'the next good uplink');
    });
  });

  it('a report over 64 KiB is refused unread (as over HTTP), the connection kept', async () => {
    await profile();
    await connected();
    const big = uplinkReport({ devEui: EUI, fCntUp: 1, bytes: [1] });
    big.DevEUI_uplink.CustomerData = { note: 'x'.repeat(70 * 1024) };
    await publish(uplinkTopic(EUI), big);
    expect(await refusal()).toMatchObject({ details: { code: 'too_large' } });
    expect((await plugin.request('GET', '/api/devices')).body.items).toEqual([]);
    expect((await connection()).state).toBe('connected');
  });

  it('two ThingPark connections on one broker cannot share topics (each would take the other\'s devices): 409', async () => {
    await profile();
    const same = await put({ as_id: VECTOR.asId, transport: 'mqtt', mqtt: mqttSettings() }, {}, 'tp-other');
    expectError(same, 409, 'topic_in_use');
    expect(same.body.error.details).toEqual({ app_id: APP });
    // A wildcard level meets any name in its place.
    const overlapping = await put({ as_id: VECTOR.asId, transport: 'mqtt', mqtt: mqttSettings({ uplink_topic: 'mqtt/things/{DevEUI}/uplink', downlink_topic: 'other/{DevEUI}/down' }) }, {}, 'tp-other');
    expectError(overlapping, 409, 'topic_in_use');
    const own = await put({ as_id: VECTOR.asId, transport: 'mqtt', mqtt: mqttSettings({ uplink_topic: 'b/things/{DevEUI}/uplink', downlink_topic: 'b/things/{DevEUI}/downlink' }) }, {}, 'tp-other');
    expect(own.status, own.text).toBe(201);
  });

  it('the stored password is not kept when the broker changes: it would go to the new broker', async () => {
    await profile();
    const moved = await put({ as_id: VECTOR.asId, transport: 'mqtt', mqtt: { url: 'mqtt://127.0.0.1:9', username: PLUGIN_USER.username } });
    expectError(moved, 400, 'invalid_profile');
    expect(moved.body.error.details.errors[0].path).toBe('/thingpark/mqtt/password');
  });

  it('a ThingPark MQTT profile and a TTS MQTT profile on one broker do not mix', async () => {
    await profile();
    const tts = await plugin.request('PUT', `/api/profiles/${TTS.app}`, {
      body: { formatter: { type: 'javascript', script: ECHO }, tts_mqtt: { url: broker.url, username: TTS.user, password: TTS.key } },
    });
    expect(tts.status, tts.text).toBe(201);
    await connected(APP);
    await connected(TTS.app);
    await up(EUI, 1, [1]);
    await publish(`v3/${TTS.user}/devices/dev-one/up`, uplinkBody({ appId: TTS.app, deviceId: 'dev-one', devEui: null, fCnt: 1, bytes: [2] }));
    await eventually(async () => (await rows(EUI)).length === 1 && (await rows('dev-one')).length === 1, 'both uplinks');
    const devices = async (app: string) => (await plugin.request('GET', `/api/devices?app_id=${app}`)).body.items.map((d: { id: string; network: string }) => [d.id, d.network]);
    expect(await devices(APP)).toEqual([[EUI, 'thingpark']]);
    expect(await devices(TTS.app)).toEqual([['dev-one', 'tts']]);
    // Each downlink leaves on its own network's topic, in its own network's shape.
    await plugin.request('POST', `/api/devices/${EUI}/messages`, { body: { message_id: 'tp', message: { level: 1 }, f_port: 3 } });
    await plugin.request('POST', '/api/devices/dev-one/messages', { body: { message_id: 'tts', message: { level: 2 }, f_port: 3 } });
    await eventually(async () => published.length === 2, 'both downlinks');
    const byTopic = Object.fromEntries(published.map((p) => [p.topic, p.body]));
    expect(byTopic[downlinkTopic(EUI)]).toMatchObject({ DevEUI_downlink: { DevEUI: EUI, payload_hex: '01' } });
    expect(byTopic[`v3/${TTS.user}/devices/dev-one/down/push`]).toMatchObject({ downlinks: [{ f_port: 3, frm_payload: 'Ag==' }] });
    for (const app of [APP, TTS.app]) expect((await events('connection', app)).filter((e) => e.title.includes('message refused'))).toEqual([]);
  });

  describe('settings', () => {
    it('the password is write-only; saving without it keeps it; HTTP reports to the profile are refused', async () => {
      // First over HTTP, with a key: moving to MQTT keeps the key but takes no more HTTP reports.
      expect((await put({ as_id: VECTOR.asId, as_key: AS_KEY, downlink_url: 'http://127.0.0.1:9/thingpark/lrc/rest/downlink' })).status).toBe(201);
      const created = await profile();
      await connected();
      const view = await plugin.request('GET', `/api/profiles/${APP}`);
      expect(view.body.thingpark).toEqual({
        as_id: VECTOR.asId,
        transport: 'mqtt',
        max_clock_skew_s: 60,
        as_key_set: true,
        mqtt: { url: broker.url, username: PLUGIN_USER.username, ca: null, uplink_topic: 'mqtt/things/{DevEUI}/uplink', downlink_topic: 'mqtt/things/{DevEUI}/downlink', password_set: true },
      });
      for (const res of [created, view, await plugin.request('GET', '/api/profiles')]) expect(res.text).not.toContain(PLUGIN_USER.password);
      const http = await postReport(plugin, APP, uplinkReport({ devEui: EUI }), { asId: VECTOR.asId, asKey: AS_KEY, now: new Date() });
      expect(http.status, http.text).toBe(401);

      // Saved without the password, with other topics: reconnected with the stored password.
      await profile({}, { password: undefined, uplink_topic: 'acme/{DevEUI}/up', downlink_topic: 'acme/{DevEUI}/down' });
      expect((await plugin.request('GET', `/api/profiles/${APP}`)).body.thingpark.mqtt.password_set).toBe(true);
      await eventually(async () => (await events('connection')).filter((e) => e.title === 'ThingPark MQTT connected').length === 2, 'connected again');
      await publish(`acme/${EUI}/up`, uplinkReport({ devEui: EUI, fCntUp: 1, bytes: [3] }));
      await eventually(async () => (await rows(EUI)).length === 1, 'an uplink on the new topic');

      // Back to HTTP: the connection closes.
      await put({ as_id: VECTOR.asId, transport: 'http', downlink_url: 'http://127.0.0.1:9/thingpark/lrc/rest/downlink' });
      await eventually(async () => (await connection()).state === 'disabled', 'closed');
      expect((await plugin.request('GET', `/api/profiles/${APP}`)).body.thingpark).toMatchObject({ transport: 'http', as_key_set: true });
    });

    it('an HTTP profile as before: no transport, no mqtt, no connection', async () => {
      const res = await put({ as_id: VECTOR.asId, as_key: AS_KEY, downlink_url: 'http://127.0.0.1:9/thingpark/lrc/rest/downlink' });
      expect(res.status, res.text).toBe(201);
      expect(res.body.thingpark).toEqual({ as_id: VECTOR.asId, downlink_url: 'http://127.0.0.1:9/thingpark/lrc/rest/downlink', max_clock_skew_s: 60, as_key_set: true });
      expect(await connection()).toMatchObject({ state: 'disabled' });
    });

    it.each<[string, Record<string, unknown>]>([
      ['no password the first time', { transport: 'mqtt', mqtt: { url: 'mqtt://127.0.0.1:1883', username: 'u' } }],
      ['transport mqtt without mqtt', { transport: 'mqtt' }],
      ['an uplink topic without {DevEUI}', { transport: 'mqtt', mqtt: { url: 'mqtt://127.0.0.1:1883', username: 'u', password: 'p', uplink_topic: 'mqtt/things/uplink' } }],
      ['two {DevEUI}', { transport: 'mqtt', mqtt: { url: 'mqtt://127.0.0.1:1883', username: 'u', password: 'p', uplink_topic: '{DevEUI}/x/{DevEUI}' } }],
      ['a + wildcard', { transport: 'mqtt', mqtt: { url: 'mqtt://127.0.0.1:1883', username: 'u', password: 'p', uplink_topic: 'mqtt/+/{DevEUI}/uplink' } }],
      ['a # wildcard', { transport: 'mqtt', mqtt: { url: 'mqtt://127.0.0.1:1883', username: 'u', password: 'p', downlink_topic: 'mqtt/{DevEUI}/#' } }],
      ['a control character', { transport: 'mqtt', mqtt: { url: 'mqtt://127.0.0.1:1883', username: 'u', password: 'p', downlink_topic: 'mqtt/{DevEUI}/\u0000' } }],
      ['a topic over 256 characters', { transport: 'mqtt', mqtt: { url: 'mqtt://127.0.0.1:1883', username: 'u', password: 'p', uplink_topic: `${'a'.repeat(250)}/{DevEUI}` } }],
      ['one topic for both ways', { transport: 'mqtt', mqtt: { url: 'mqtt://127.0.0.1:1883', username: 'u', password: 'p', uplink_topic: 'x/{DevEUI}', downlink_topic: 'x/{DevEUI}' } }],
      ['credentials in the URL', { transport: 'mqtt', mqtt: { url: 'mqtt://u:p@127.0.0.1:1883', username: 'u', password: 'p' } }],
      ['another transport', { transport: 'coap', mqtt: { url: 'mqtt://127.0.0.1:1883', username: 'u', password: 'p' } }],
      ['HTTP without downlink_url', { as_key: AS_KEY }],
    ])('refused: %s (400 invalid_profile, nothing stored)', async (_name, thingpark) => {
      expectError(await put({ as_id: VECTOR.asId, ...thingpark }), 400, 'invalid_profile');
      expect((await plugin.request('GET', `/api/profiles/${APP}`)).status).toBe(404);
    });
  });
});
