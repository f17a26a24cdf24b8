/**
 * One application's webhook token reaches nothing of another application's, on every message type:
 * not the downlink credentials of its devices, not their location, not its messages' status. Two
 * applications derive the same device id by default (prefix "" + DevEUI): the device belongs to
 * the application that provisioned it.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { fixture } from '../helpers/fixtures.js';
import { PluginHarness, TestClock } from '../helpers/plugin-harness.js';
import { messageBody, uplinkBody } from '../helpers/tts-bodies.js';
import { TtsPeer } from '../helpers/tts-peer.js';

const VICTIM = 'victim-app';
const ATTACKER = 'attacker-app';
const NO_PROFILE = 'no-profile-app';
const EUI = 'BBBBBBBBBBBBBB01';
const TTS_DEVICE = 'eui-bbbbbbbbbbbbbb01';
const VICTIM_KEY = 'NNSXS.VICTIMKEY.SECRET';
const ATTACKER_KEY = 'attacker-key';
const FORMATTER =
  'module.exports.uplink = function (payload) { return { payload: payload }; };\n' +
  'module.exports.downlink = function () { return { f_port: 1, payload: "AQ==" }; };';

describe('tenant boundaries on every webhook message type', () => {
  let clock: TestClock;
  let plugin: PluginHarness;
  let tts: TtsPeer;
  let attackerHost: TtsPeer;
  let attackerToken: string;
  let defaultToken: string;
  beforeEach(async () => {
    clock = new TestClock();
    plugin = await new PluginHarness({ clock }).start();
    tts = await new TtsPeer().start();
    attackerHost = await new TtsPeer().start();
    const victim = { uplink: { update_location: true }, formatter: { type: 'javascript', script: FORMATTER } };
    expect((await plugin.request('PUT', `/api/profiles/${VICTIM}`, { body: victim })).status).toBe(201);
    expect((await plugin.request('PUT', `/api/profiles/${ATTACKER}`, { body: { uplink: { update_location: true } } })).status).toBe(201);
    attackerToken = await plugin.webhookToken(ATTACKER);
    defaultToken = await plugin.webhookToken('default');
    // The victim's device, provisioned by its first uplink, with its real downlink credentials.
    const first = await plugin.webhook(uplinkBody({ appId: VICTIM, deviceId: TTS_DEVICE, devEui: EUI }), {
      headers: tts.downlinkHeaders(VICTIM, TTS_DEVICE, VICTIM_KEY),
    });
    expect(first.body).toMatchObject({ status: 'stored', device_id: EUI });
  });
  afterEach(async () => {
    await plugin.destroy();
    await tts.stop();
    await attackerHost.stop();
  });

  const asAttacker = (name: string, token: string, appId: string, headers: Record<string, string> = {}) => {
    const body = messageBody(name, { appId, deviceId: TTS_DEVICE, devEui: EUI });
    return plugin.webhook(body, { token, headers });
  };
  const sendDownlink = async (id: string) => {
    const created = await plugin.request('POST', `/api/devices/${EUI}/messages`, { body: { message_id: id, message: { on: true } } });
    expect(created.status).toBe(201);
    return (await plugin.request('GET', `/api/devices/${EUI}/messages/${id}`)).body;
  };

  it.each([
    ['another application\'s token', () => attackerToken, ATTACKER],
    ['the Default token, for an application without a profile', () => defaultToken, NO_PROFILE],
  ])('with %s: a join_accept does not replace the device\'s credentials; the next downlink goes to TTS with the real key', async (_name, token, appId) => {
    const res = await asAttacker('join_accept.json', token(), appId, attackerHost.downlinkHeaders(appId, TTS_DEVICE, ATTACKER_KEY));
    expect(res.status).toBe(202);
    expect(res.body).toEqual({ status: 'ignored', reason: 'device_of_another_application', type: 'join_accept', device_id: EUI });
    await sendDownlink('after-attack');
    expect(attackerHost.requests).toEqual([]);
    expect(tts.requests).toHaveLength(1);
    expect(tts.requests[0].headers.authorization).toBe(`Bearer ${VICTIM_KEY}`);
    const events = (await plugin.request('GET', `/api/events?app_id=${appId}&category=webhook`)).body.items;
    expect(events[0]).toMatchObject({ severity: 'warning', title: `Device joined: ignored, device '${EUI}' belongs to another application (give the profiles distinct id prefixes)` });
  });

  it('another application\'s downlink_sent and downlink_failed move none of its messages', async () => {
    const message = await sendDownlink('victim-msg');
    for (const type of ['downlink_queued', 'downlink_sent', 'downlink_ack']) {
      const body = fixture(`tts/${type}.json`) as Record<string, any>;
      body.end_device_ids = { device_id: 'eui-aaaaaaaaaaaaaa01', application_ids: { application_id: ATTACKER }, dev_eui: 'AAAAAAAAAAAAAA01' };
      body[type].correlation_ids = [message.correlation_id];
      expect((await plugin.webhook(body, { token: attackerToken })).status).toBe(200);
    }
    const failed = fixture('tts/downlink_failed.json') as Record<string, any>;
    failed.end_device_ids.application_ids.application_id = ATTACKER;
    failed.downlink_failed.downlink.correlation_ids = [message.correlation_id];
    expect((await plugin.webhook(failed, { token: attackerToken })).status).toBeLessThan(300);
    expect((await plugin.request('GET', `/api/devices/${EUI}/messages/victim-msg`)).body).toMatchObject({ status: 'PENDING', detail: 'submitted' });
    // The victim's own webhook still moves it.
    const sent = fixture('tts/downlink_sent.json') as Record<string, any>;
    sent.end_device_ids = { device_id: TTS_DEVICE, application_ids: { application_id: VICTIM }, dev_eui: EUI };
    sent.downlink_sent.correlation_ids = [message.correlation_id];
    expect((await plugin.webhook(sent)).status).toBe(200);
    expect((await plugin.request('GET', `/api/devices/${EUI}/messages/victim-msg`)).body).toMatchObject({ status: 'DELIVERED' });
  });

  it('another application\'s location_solved does not move the device', async () => {
    const before = (await plugin.request('GET', `/api/devices/${EUI}`)).body.properties.location;
    const res = await asAttacker('location_solved.json', attackerToken, ATTACKER);
    expect(res.body).toMatchObject({ status: 'ignored', reason: 'device_of_another_application' });
    expect((await plugin.request('GET', `/api/devices/${EUI}`)).body.properties.location).toEqual(before);
    // Its own location_solved does.
    const own = messageBody('location_solved.json', { appId: VICTIM, deviceId: TTS_DEVICE, devEui: EUI });
    expect((await plugin.webhook(own)).body).toMatchObject({ status: 'recorded' });
    expect((await plugin.request('GET', `/api/devices/${EUI}`)).body.properties.location).not.toEqual(before);
  });

  it('another application\'s uplink for the device is a dead letter, and stores nothing in its bucket', async () => {
    const res = await plugin.webhook(uplinkBody({ appId: ATTACKER, deviceId: TTS_DEVICE, devEui: EUI, fCnt: 99 }), {
      token: attackerToken,
      headers: attackerHost.downlinkHeaders(ATTACKER, TTS_DEVICE, ATTACKER_KEY),
    });
    expect(res.body).toMatchObject({ status: 'dead_letter', device_id: EUI });
    const rows = (await plugin.request('GET', `/api/buckets/${EUI}/data`)).body.items;
    expect(rows).toHaveLength(1);
    await sendDownlink('after-uplink');
    expect(attackerHost.requests).toEqual([]);
    expect(tts.requests[0].headers.authorization).toBe(`Bearer ${VICTIM_KEY}`);
  });
});
