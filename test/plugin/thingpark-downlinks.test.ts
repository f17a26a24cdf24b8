/**
 * ThingPark downlinks, whole life: the plugin POSTs each downlink to the LRC (reference A.3) with a
 * token the LRC stand-in verifies, then follows DevEUI_downlink_Sent / DevEUI_downlink_Rejected
 * reports by CorrelationID to DELIVERED or FAILED; LRC refusals, retries, TTL and queue flushes.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { THINGER_DOWNLINK } from '../helpers/downlink-setup.js';
import { PluginHarness, TestClock } from '../helpers/plugin-harness.js';
import {
  LRC_PATH,
  QUEUED_BODY,
  ThingParkLrc,
  VECTOR,
  downlinkRejectedReport,
  downlinkSentReport,
  postReport,
  putThingParkProfile,
  uplinkReport,
  type BodyFormat,
  type LrcRequest,
  type Report,
} from '../helpers/thingpark-peer.js';

const APP = 'tp-app';
const AS_ID = VECTOR.asId;
const AS_KEY = '5ca1ab1e5ca1ab1e5ca1ab1e5ca1ab1e';
const EUI = 'A0000000000000D1';
const CMD = { enabled: true, frequency: 300, threshold: 25 }; // -> 01 01 2C 19
const CMD_HEX = '01012c19';
const SCRIPT = `${THINGER_DOWNLINK}
module.exports.uplink = function (payload) { return { payload: payload }; };`;

describe('ThingPark downlinks tracked to the end', () => {
  let clock: TestClock;
  let plugin: PluginHarness;
  let lrc: ThingParkLrc;
  beforeEach(async () => {
    clock = new TestClock();
    plugin = await new PluginHarness({ clock }).start();
    lrc = await new ThingParkLrc(AS_KEY).start();
  });
  afterEach(async () => {
    await plugin.destroy();
    await lrc.stop();
  });

  async function setup(settings: Record<string, unknown> = {}): Promise<void> {
    const put = await putThingParkProfile(plugin, APP, {
      asId: AS_ID,
      asKey: AS_KEY,
      downlinkUrl: lrc.downlinkUrl,
      maxClockSkewS: 60,
      settings: { formatter: { type: 'javascript', script: SCRIPT }, ...settings },
    });
    expect(put.status, put.text).toBe(201);
    const up = await report(uplinkReport({ devEui: EUI, fCntUp: 1 }));
    expect(up.status, up.text).toBe(200);
    expect(up.body).toMatchObject({ device_id: EUI });
  }
  const report = (r: Report, format: BodyFormat = 'typed', asKey = AS_KEY) =>
    postReport(plugin, APP, r, { asId: AS_ID, asKey, now: clock.now(), format });
  const create = (body: Record<string, unknown>) => plugin.request('POST', `/api/devices/${EUI}/messages`, { body });
  const show = async (id: string) => (await plugin.request('GET', `/api/devices/${EUI}/messages/${id}`)).body;
  const tick = () => plugin.app.services.downlinks.tick();

  /** The stand-in verified the token of every request the plugin made. */
  function expectAllSigned(): void {
    for (const r of lrc.requests) expect({ tokenOk: r.tokenOk, problem: r.tokenProblem, query: r.rawQuery }).toMatchObject({ tokenOk: true, problem: null });
  }

  /** The lead's spec: DevEUI, FPort, Payload[, Confirmed=1][, FlushDownlinkQueue=1], AS_ID, Time, CorrelationID, Token (Actility's order, A.3). */
  const specOrder = (o: { confirmed?: boolean; flush?: boolean }) => [
    'DevEUI', 'FPort', 'Payload', ...(o.confirmed ? ['Confirmed'] : []), ...(o.flush ? ['FlushDownlinkQueue'] : []), 'AS_ID', 'Time', 'CorrelationID', 'Token',
  ];

  /** A downlink request as A.3 describes it, for the test clock. */
  function expectDownlinkRequest(r: LrcRequest, o: { fPort: string; payload: string; confirmed?: boolean; flush?: boolean }): void {
    expect(r.method).toBe('POST');
    expect(r.path).toBe(LRC_PATH);
    expect(String(r.headers['content-type'])).toMatch(/^application\/x-www-form-urlencoded/);
    expect(r.body).toBe('');
    expect(r.tokenProblem).toBeNull();
    // Exactly these parameters, Token last (A.3: "must be last"); their order is checked on its own below.
    expect([...r.order].sort()).toEqual(specOrder(o).sort());
    expect(r.order.at(-1)).toBe('Token');
    expect(r.query.DevEUI!.toUpperCase()).toBe(EUI);
    expect(r.query.FPort).toBe(o.fPort);
    expect(r.query.Payload!.toLowerCase()).toBe(o.payload);
    if (o.confirmed) expect(r.query.Confirmed).toBe('1');
    if (o.flush) expect(r.query.FlushDownlinkQueue).toBe('1');
    expect(r.query.AS_ID).toBe(AS_ID);
    expect(r.query.CorrelationID).toMatch(/^[0-9A-Fa-f]{16}$/);
    expect(r.query.Token).toMatch(/^[0-9a-f]{64}$/);
    // Time is the plugin's clock (the LRC checks it against its Max Time Deviation)
    expect(Math.abs(Date.parse(r.query.Time!) - clock.now().getTime())).toBeLessThanOrEqual(60_000);
    expect(r.rawQuery).not.toContain(AS_KEY);
  }

  it('unconfirmed: submitted with a verified token, then DELIVERED on DevEUI_downlink_Sent (DeliveryStatus 1)', async () => {
    await setup();
    const device = (await plugin.request('GET', `/api/devices/${EUI}`)).body;
    expect(device).toMatchObject({ network: 'thingpark', downlink_ready: true });
    const res = await create({ message_id: 'm1', message: CMD, f_port: 15 });
    expect(res.status, res.text).toBe(201);
    expect(res.body).toEqual({
      message_id: 'm1',
      result: { status: 'PENDING', detail: 'submitted', created_time: '20250416T120000Z', finished_time: null },
    });
    expect(lrc.requests).toHaveLength(1);
    expectDownlinkRequest(lrc.requests[0]!, { fPort: '15', payload: CMD_HEX });
    const correlationId = lrc.requests[0]!.query.CorrelationID!;

    clock.advance(20_000);
    const sent = await report(downlinkSentReport({ devEui: EUI, correlationId, fPort: 15, fCntDn: 3, deliveryStatus: 1, causes: ['00', '00', '00'] }));
    expect(sent.status, sent.text).toBe(200);
    expect(await show('m1')).toMatchObject({ status: 'DELIVERED', finished_time: '20250416T120020Z', network: 'thingpark' });
    // nothing more goes to the LRC
    clock.advance(600_000);
    await tick();
    expect(lrc.requests).toHaveLength(1);
  });

  it('the query parameters are in the spec\'s order (Actility\'s: ... AS_ID, Time, CorrelationID, Token)', async () => {
    await setup({ downlink: { confirmed: true } });
    await create({ message_id: 'o1', message: CMD, f_port: 15 });
    expect(lrc.requests[0]!.order).toEqual(specOrder({ confirmed: true }));
  });

  it('the DevEUI_downlink_Sent may come untyped or as XML', async () => {
    await setup();
    for (const [id, format] of [['u', 'untyped'], ['x', 'xml']] as const) {
      await create({ message_id: id, message: CMD, f_port: 15 });
      const correlationId = lrc.requests.at(-1)!.query.CorrelationID!;
      const sent = await report(downlinkSentReport({ devEui: EUI, correlationId, fPort: 15, fCntDn: 4, deliveryStatus: 1 }), format);
      expect(sent.status, sent.text).toBe(200);
      expect({ id, status: (await show(id)).status }).toEqual({ id, status: 'DELIVERED' });
    }
    expectAllSigned();
  });

  it('DeliveryStatus 0: retrying with the cause, sent again later (a new verified request), then DELIVERED', async () => {
    await setup();
    await create({ message_id: 'r1', message: CMD, f_port: 15 });
    const first = lrc.requests[0]!;
    const notSent = await report(downlinkSentReport({ devEui: EUI, correlationId: first.query.CorrelationID!, fPort: 15, deliveryStatus: 0, causes: ['A3', 'D0', '00'] }));
    expect(notSent.status, notSent.text).toBe(200);
    const retrying = await show('r1');
    expect(retrying).toMatchObject({ status: 'PENDING', detail: 'retrying' });
    expect(retrying.error, JSON.stringify(retrying)).toBeDefined();
    expect(JSON.stringify(retrying.error)).toMatch(/A3|D0/);
    for (let i = 0; i < 40 && lrc.requests.length < 2; i++) {
      clock.advance(30_000);
      await tick();
    }
    expect(lrc.requests.length).toBe(2);
    expectDownlinkRequest(lrc.requests[1]!, { fPort: '15', payload: CMD_HEX });
    expect(await show('r1')).toMatchObject({ status: 'PENDING', detail: 'submitted' });
    const sent = await report(downlinkSentReport({ devEui: EUI, correlationId: lrc.requests[1]!.query.CorrelationID!, fPort: 15, deliveryStatus: 1 }));
    expect(sent.status).toBe(200);
    expect(await show('r1')).toMatchObject({ status: 'DELIVERED' });
  });

  it('DevEUI_downlink_Rejected (by CorrelationID) fails the message with the rejection cause', async () => {
    await setup();
    await create({ message_id: 'f1', message: CMD, f_port: 15 });
    const correlationId = lrc.requests[0]!.query.CorrelationID!;
    clock.advance(3_000);
    const cause = 'Downlink counter value already used. Expected=1238';
    const rejected = await report(downlinkRejectedReport({ devEui: EUI, correlationId, fPort: 15, cause }), 'xml');
    expect(rejected.status, rejected.text).toBe(200);
    const m = await show('f1');
    expect(m).toMatchObject({ status: 'FAILED', finished_time: '20250416T120003Z' });
    expect(m.error.message).toContain(cause);
    const events = (await plugin.request('GET', `/api/events?device_id=${EUI}&category=downlink&severity=error`)).body.items;
    expect(events.length).toBeGreaterThan(0);
    clock.advance(600_000);
    await tick();
    expect(lrc.requests).toHaveLength(1);
  });

  it('a refused DevEUI_downlink_Sent (wrong key) moves nothing', async () => {
    await setup();
    await create({ message_id: 's1', message: CMD, f_port: 15 });
    const correlationId = lrc.requests[0]!.query.CorrelationID!;
    const before = await show('s1');
    const forged = await report(downlinkSentReport({ devEui: EUI, correlationId, fPort: 15, deliveryStatus: 1 }), 'typed', 'ffffffffffffffffffffffffffffffff');
    expect(forged.status).toBe(401);
    const forgedReject = await report(downlinkRejectedReport({ devEui: EUI, correlationId, fPort: 15 }), 'typed', 'ffffffffffffffffffffffffffffffff');
    expect(forgedReject.status).toBe(401);
    expect(await show('s1')).toEqual(before);
  });

  it('confirmed downlinks carry Confirmed=1', async () => {
    await setup({ downlink: { confirmed: true } });
    await create({ message_id: 'c1', message: CMD, f_port: 15 });
    expectDownlinkRequest(lrc.requests[0]!, { fPort: '15', payload: CMD_HEX, confirmed: true });
  });

  it('raw bytes (encoding base64) go as hex without the formatter', async () => {
    await setup();
    await create({ message_id: 'raw', message: 'AQID/w==', encoding: 'base64', f_port: 9 });
    expectDownlinkRequest(lrc.requests[0]!, { fPort: '9', payload: '010203ff' });
  });

  it('POST /downlink/{device} sends through the LRC too', async () => {
    await setup();
    const res = await plugin.request('POST', `/downlink/${EUI}?f_port=15`, { body: CMD });
    expect(res.status, res.text).toBe(202);
    expect(res.body).toMatchObject({ status: 'PENDING', detail: 'submitted' });
    expectDownlinkRequest(lrc.requests[0]!, { fPort: '15', payload: CMD_HEX });
  });

  it('clearing the queue POSTs FlushDownlinkQueue=1 with a verified token', async () => {
    await setup();
    const res = await plugin.request('POST', `/downlink/${EUI}/clear`);
    expect(res.status, res.text).toBe(200);
    expect(res.body).toEqual({ status: 'cleared' });
    expect(lrc.requests).toHaveLength(1);
    const r = lrc.requests[0]!;
    expect(r.path).toBe(LRC_PATH);
    expect(r.tokenProblem).toBeNull();
    expect(r.query.FlushDownlinkQueue).toBe('1');
    expect(r.query.DevEUI!.toUpperCase()).toBe(EUI);
    expect(r.query.AS_ID).toBe(AS_ID);
    expect(r.order.at(-1)).toBe('Token');
  });

  it('a failed flush (LRC 403) is a 502 with the error shape', async () => {
    await setup();
    lrc.respond({ status: 403, body: '<html><body>Forbidden</body></html>' });
    const res = await plugin.request('POST', `/downlink/${EUI}/clear`);
    expect(res.status).toBe(502);
    expect(res.body.error).toMatchObject({ code: expect.any(String), message: expect.any(String) });
  });

  describe('LRC answers', () => {
    it('a 5xx is retried until the LRC queues it', async () => {
      await setup();
      lrc.respond({ status: 503, body: '<html><body>Service Unavailable</body></html>' });
      const res = await create({ message_id: 'x5', message: CMD, f_port: 15 });
      expect(res.body.result).toMatchObject({ status: 'PENDING', detail: 'retrying' });
      expect(res.body.result.error).toBeDefined();
      for (let i = 0; i < 40 && lrc.requests.length < 2; i++) {
        clock.advance(30_000);
        await tick();
      }
      expect(lrc.requests).toHaveLength(2);
      expectAllSigned();
      expect(await show('x5')).toMatchObject({ status: 'PENDING', detail: 'submitted', attempts: 2 });
    });

    it('a 4xx fails the message at once', async () => {
      await setup();
      lrc.respond({ status: 400, body: '<html><body>Confirmed downlink not allowed</body></html>' });
      const res = await create({ message_id: 'x4', message: CMD, f_port: 15 });
      expect(res.body.result).toMatchObject({ status: 'FAILED', finished_time: '20250416T120000Z' });
      expect(res.body.result.error).toBeDefined();
      clock.advance(600_000);
      await tick();
      expect(lrc.requests).toHaveLength(1);
    });

    it('the LRC refusing the token (403 HTML) fails the message', async () => {
      await lrc.stop();
      lrc = await new ThingParkLrc('0000000000000000000000000000000f').start(); // the LRC's key is not the profile's
      await setup();
      const res = await create({ message_id: 'bad-key', message: CMD, f_port: 15 });
      expect(lrc.requests).toHaveLength(1);
      expect(lrc.requests[0]!.tokenOk).toBe(false);
      expect(res.body.result).toMatchObject({ status: 'FAILED' });
    });

    it('a 200 without "Request queued by LRC" is not taken as queued', async () => {
      await setup();
      lrc.respond({ status: 200, body: '<html><body>Something else</body></html>' });
      const res = await create({ message_id: 'x2', message: CMD, f_port: 15 });
      expect(res.body.result.detail).not.toBe('submitted');
      expect(res.body.result.status).not.toBe('DELIVERED');
      expect(res.body.result.error).toBeDefined();
    });

    it('the exact success body is queued (sanity)', async () => {
      await setup();
      lrc.respond({ status: 200, body: QUEUED_BODY, contentType: 'text/html; charset=ISO-8859-1' });
      const res = await create({ message_id: 'ok', message: CMD, f_port: 15 });
      expect(res.body.result).toMatchObject({ status: 'PENDING', detail: 'submitted' });
    });

    it('TIMEOUT when the TTL passes before the LRC takes it', async () => {
      await setup();
      lrc.respond(...Array.from({ length: 50 }, () => ({ status: 500 })));
      await create({ message_id: 'ttl', message: CMD, f_port: 15, ttl: 5 });
      for (let i = 0; i < 12; i++) {
        clock.advance(30_000);
        await tick();
      }
      expect(await show('ttl')).toMatchObject({ status: 'TIMEOUT' });
      const sent = lrc.requests.length;
      clock.advance(600_000);
      await tick();
      expect(lrc.requests).toHaveLength(sent);
    });
  });
});
