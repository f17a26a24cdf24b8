import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Mosquitto, TTS_SERVER_USER, type MosquittoUser } from '../helpers/mosquitto.js';

const APP1 = { username: 'app1@ttn', password: 'app1-secret' };
const APP2 = { username: 'app2@ttn', password: 'app2-secret' };
const TTS = { username: TTS_SERVER_USER, password: 'tts-secret' };

const clients: MqttClient[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.endAsync(true)));
});

async function connect(broker: Mosquitto, user: MosquittoUser): Promise<MqttClient> {
  const client = await mqtt.connectAsync(broker.url, { ...user, protocolVersion: 4, reconnectPeriod: 0 });
  clients.push(client);
  return client;
}

/** The messages a client receives from now on, in arrival order. */
function record(client: MqttClient): { topic: string; payload: string }[] {
  const received: { topic: string; payload: string }[] = [];
  client.on('message', (topic, payload) => received.push({ topic, payload: payload.toString() }));
  return received;
}

/** Resolves with the first message on `topic`. */
function next(client: MqttClient, topic: string): Promise<string> {
  return new Promise((resolve) => {
    const onMessage = (t: string, payload: Buffer) => {
      if (t !== topic) return;
      client.off('message', onMessage);
      resolve(payload.toString());
    };
    client.on('message', onMessage);
  });
}

describe('mosquitto with the TTS ACL', () => {
  let broker: Mosquitto;
  beforeAll(async () => {
    broker = await Mosquitto.start({ users: [APP1, APP2, TTS] });
  });
  afterAll(async () => {
    await broker.stop();
  });

  it('delivers an uplink published by TTS to the application subscribed to it', async () => {
    const app = await connect(broker, APP1);
    await app.subscribeAsync('v3/app1@ttn/devices/+/up', { qos: 1 });
    const tts = await connect(broker, TTS);
    const arrived = next(app, 'v3/app1@ttn/devices/dev1/up');
    await tts.publishAsync('v3/app1@ttn/devices/dev1/up', '{"uplink_message":{}}', { qos: 1 });
    expect(await arrived).toBe('{"uplink_message":{}}');
  });

  it("keeps an application out of another application's topics", async () => {
    const app = await connect(broker, APP1);
    const seenByApp = record(app);
    await app.subscribeAsync(['v3/app2@ttn/devices/+/up', 'v3/app1@ttn/devices/+/up'], { qos: 1 });
    const tts = await connect(broker, TTS);
    await tts.subscribeAsync('#', { qos: 1 });
    const seenByTts = record(tts);

    // one publisher to one subscriber keeps its order: once the second message is in, the first was dropped
    const ownUplink = next(app, 'v3/app1@ttn/devices/dev1/up');
    await tts.publishAsync('v3/app2@ttn/devices/dev1/up', 'not for app1', { qos: 1 });
    await tts.publishAsync('v3/app1@ttn/devices/dev1/up', 'for app1', { qos: 1 });
    await ownUplink;
    expect(seenByApp.map((m) => m.topic)).toEqual(['v3/app1@ttn/devices/dev1/up']);

    const ownPush = next(tts, 'v3/app1@ttn/devices/x/down/push');
    await app.publishAsync('v3/app2@ttn/devices/x/down/push', 'forged', { qos: 1 });
    await app.publishAsync('v3/app1@ttn/devices/x/down/push', 'own', { qos: 1 });
    await ownPush;
    expect(seenByTts.map((m) => m.topic)).toEqual([
      'v3/app2@ttn/devices/dev1/up',
      'v3/app1@ttn/devices/dev1/up',
      'v3/app1@ttn/devices/x/down/push',
    ]);
  });

  it('refuses a wrong password', async () => {
    const refused = await mqtt.connectAsync(broker.url, { ...APP1, password: 'wrong', protocolVersion: 4, reconnectPeriod: 0 }).then(
      (client) => client.endAsync(true).then(() => null),
      (err: unknown) => err,
    );
    expect(refused).toBeInstanceOf(Error);
    // CONNACK 4 (bad user name or password) or 5 (not authorised)
    expect([4, 5]).toContain((refused as Error & { code?: number }).code);
  });

  it('lets a user added while running connect', async () => {
    await broker.addUser('app3@ttn', 'app3-secret');
    const app = await connect(broker, { username: 'app3@ttn', password: 'app3-secret' });
    expect(app.connected).toBe(true);
  });
});

describe('mosquitto lifecycle', () => {
  let broker: Mosquitto;
  beforeAll(async () => {
    broker = await Mosquitto.start({ users: [APP1], acl: 'open' });
  });
  afterAll(async () => {
    await broker.stop();
  });

  it('restarts on the same port, closing the connections', async () => {
    const before = await connect(broker, APP1);
    const closed = new Promise<void>((resolve) => before.once('close', () => resolve()));
    const { port, pid } = broker;
    await broker.restart();
    await closed;
    expect(broker.port).toBe(port);
    expect(broker.pid).not.toBe(pid);

    const after = await connect(broker, APP1);
    await after.subscribeAsync('anything/#');
    const arrived = next(after, 'anything/at/all');
    await after.publishAsync('anything/at/all', 'open ACL');
    expect(await arrived).toBe('open ACL');
  });

  it('leaves no process once stopped', async () => {
    const pid = broker.pid;
    expect(pid).toBeTypeOf('number');
    await broker.stop();
    expect(broker.pid).toBeNull();
    expect(() => process.kill(pid as number, 0)).toThrow(expect.objectContaining({ code: 'ESRCH' }));
  });
});
