import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { API_KEY, APP, DEVICE, deviceWithDownlinks, ttsDownlinkEvent, ttsDownlinkFailed } from '../helpers/downlink-setup.js';
import { fixture } from '../helpers/fixtures.js';
import { PluginHarness, TestClock } from '../helpers/plugin-harness.js';
import { TtsPeer } from '../helpers/tts-peer.js';

const CMD = { enabled: true, frequency: 300, threshold: 25 }; // -> 01 01 2C 19
const CMD_B64 = Buffer.from([0x01, 0x01, 0x2c, 0x19]).toString('base64');

describe('downlink messages tracked to the end', () => {
  let clock: TestClock;
  let plugin: PluginHarness;
  let tts: TtsPeer;
  beforeEach(async () => {
    clock = new TestClock();
    plugin = await new PluginHarness({ clock }).start();
    tts = await new TtsPeer().start();
  });
  afterEach(async () => {
    await plugin.destroy();
    await tts.stop();
  });

  const create = (body: Record<string, unknown>, device = DEVICE) =>
    plugin.request('POST', `/api/devices/${device}/messages`, { body });
  const show = async (id: string) => (await plugin.request('GET', `/api/devices/${DEVICE}/messages/${id}`)).body;

  it('pushes the formatted downlink to TTS with the captured key and our correlation id', async () => {
    await deviceWithDownlinks(plugin, tts);
    const res = await create({ message_id: 'cmd-1', message: CMD, f_port: 15, priority: 'HIGH' });
    expect(res.status).toBe(201);
    expect(res.body).toEqual({
      message_id: 'cmd-1',
      result: { status: 'PENDING', detail: 'submitted', created_time: '20250416T120000Z', finished_time: null },
    });
    expect(tts.requests).toHaveLength(1);
    const push = tts.requests[0];
    expect(push.path).toBe(`/api/v3/as/applications/${APP}/webhooks/bridge/devices/eui-70b3d57ed0051a2b/down/push`);
    expect(push.headers.authorization).toBe(`Bearer ${API_KEY}`);
    expect(push.headers['user-agent']).toMatch(/^lorawan-bridge\/\d+\.\d+\.\d+/);
    const m = await show('cmd-1');
    expect(push.body).toEqual({
      downlinks: [{ f_port: 15, frm_payload: CMD_B64, priority: 'HIGH', confirmed: false, correlation_ids: [m.correlation_id] }],
    });
    expect(m.correlation_id).toMatch(/^lorawan-bridge:msg:[0-9a-f-]{36}$/);
  });

  it('unconfirmed: queued, then DELIVERED on downlink_sent', async () => {
    await deviceWithDownlinks(plugin, tts);
    await create({ message_id: 'u1', message: CMD, f_port: 15 });
    const { correlation_id } = await show('u1');
    expect((await plugin.webhook(ttsDownlinkEvent('downlink_queued', correlation_id))).status).toBe(200);
    expect(await show('u1')).toMatchObject({ status: 'PENDING', detail: 'queued' });
    clock.advance(65_000);
    await plugin.webhook(ttsDownlinkEvent('downlink_sent', correlation_id));
    expect(await show('u1')).toMatchObject({ status: 'DELIVERED', detail: 'sent', finished_time: '20250416T120105Z' });
  });

  it('a queued report that overtakes the push\'s answer (to this instance or another) leaves it queued, and it is never pushed again', async () => {
    await deviceWithDownlinks(plugin, tts);
    tts.respond({ status: 200, delayMs: 400 });
    const creating = create({ message_id: 'q1', message: CMD, f_port: 15 });
    await expect.poll(() => tts.requests.length).toBe(1);
    const correlationId = (tts.requests[0].body as { downlinks: { correlation_ids: string[] }[] }).downlinks[0].correlation_ids[0];
    expect((await plugin.webhook(ttsDownlinkEvent('downlink_queued', correlationId))).status).toBe(200);
    expect((await creating).body.result).toMatchObject({ status: 'PENDING', detail: 'queued' });
    expect(await show('q1')).toMatchObject({ status: 'PENDING', detail: 'queued' });
    // past the lease of the first push: nothing is due, nothing is sent again
    clock.advance(61_000);
    await plugin.app.services.downlinks.tick();
    expect(tts.requests).toHaveLength(1);
    await plugin.webhook(ttsDownlinkEvent('downlink_sent', correlationId));
    expect(await show('q1')).toMatchObject({ status: 'DELIVERED', detail: 'sent' });
  });

  it('confirmed: sent keeps it PENDING, ack makes it DELIVERED', async () => {
    await deviceWithDownlinks(plugin, tts, { downlink: { confirmed: true } });
    await create({ message_id: 'c1', message: CMD, f_port: 15 });
    const m = await show('c1');
    expect(tts.requests[0].body).toMatchObject({ downlinks: [{ confirmed: true }] });
    await plugin.webhook(ttsDownlinkEvent('downlink_sent', m.correlation_id));
    expect(await show('c1')).toMatchObject({ status: 'PENDING', detail: 'sent' });
    await plugin.webhook(ttsDownlinkEvent('downlink_ack', m.correlation_id));
    expect(await show('c1')).toMatchObject({ status: 'DELIVERED', detail: 'acknowledged' });
  });

  it('nacked, then failed when TTS runs out of retries', async () => {
    await deviceWithDownlinks(plugin, tts, { downlink: { confirmed: true } });
    await create({ message_id: 'n1', message: CMD, f_port: 15 });
    const { correlation_id } = await show('n1');
    await plugin.webhook(ttsDownlinkEvent('downlink_nack', correlation_id));
    expect(await show('n1')).toMatchObject({ status: 'PENDING', detail: 'not_acknowledged' });
    await plugin.webhook(ttsDownlinkFailed(correlation_id, '.2'));
    expect(await show('n1')).toMatchObject({
      status: 'FAILED',
      detail: 'failed',
      error: { code: 'tts_max_retries_reached', message: 'maximum number of retries (8) reached' },
    });
  });

  it('failed by TTS (downlink_failed from the network server)', async () => {
    await deviceWithDownlinks(plugin, tts);
    await create({ message_id: 'f1', message: CMD, f_port: 15 });
    const { correlation_id } = await show('f1');
    await plugin.webhook(ttsDownlinkFailed(correlation_id));
    const m = await show('f1');
    expect(m).toMatchObject({ status: 'FAILED', error: { code: 'tts_application_downlink_too_long' } });
    expect(m.error.message).toBe("application downlink payload length `60` exceeds maximum '51'");
    const events = await plugin.request('GET', `/api/events?device_id=${DEVICE}&category=downlink&severity=error`);
    expect(events.body.items.some((e: { title: string }) => e.title.includes('exceeds maximum'))).toBe(true);
  });

  it('a TTS 4xx fails the message at once, with TTS\'s message', async () => {
    await deviceWithDownlinks(plugin, tts);
    tts.respond({ status: 400, body: fixture('tts/down_push_error_responses.json').http_400_too_long_from_ns });
    const res = await create({ message_id: 'x1', message: CMD, f_port: 15 });
    expect(res.body.result).toMatchObject({
      status: 'FAILED',
      error: { code: 'tts_application_downlink_too_long' },
      finished_time: '20250416T120000Z',
    });
    expect(res.body.result.error.message).toContain('exceeds maximum');
  });

  it('a TTS 5xx is retried with backoff until it recovers', async () => {
    await deviceWithDownlinks(plugin, tts);
    tts.respond({ status: 503, body: { code: 14, message: 'error:pkg/applicationserver:unavailable (unavailable)' } });
    const res = await create({ message_id: 'r1', message: CMD, f_port: 15 });
    expect(res.body.result).toMatchObject({ status: 'PENDING', detail: 'retrying', error: { code: 'tts_http_503' } });
    // random() is 0.5 in the harness: first backoff = 1 s * 0.75
    const m = await show('r1');
    expect(m.next_attempt_time).toBe('20250416T120000Z');
    await plugin.app.services.downlinks.tick();
    expect(tts.requests).toHaveLength(1);
    clock.advance(750);
    await plugin.app.services.downlinks.tick();
    expect(tts.requests).toHaveLength(2);
    expect(tts.requests[1].body).toEqual(tts.requests[0].body);
    expect(await show('r1')).toMatchObject({ status: 'PENDING', detail: 'submitted', attempts: 2 });
  });

  it('a TTS 429 waits for X-Rate-Limit-Retry before the next try', async () => {
    await deviceWithDownlinks(plugin, tts);
    tts.respond({ status: 429, headers: { 'X-Rate-Limit-Retry': '30' }, body: fixture('tts/down_push_error_responses.json').http_429_rate_limited });
    await create({ message_id: 'l1', message: CMD, f_port: 15 });
    expect(await show('l1')).toMatchObject({ status: 'PENDING', detail: 'retrying', error: { code: 'tts_rate_limit_exceeded' } });
    clock.advance(29_000);
    await plugin.app.services.downlinks.tick();
    expect(tts.requests).toHaveLength(1);
    clock.advance(1_000);
    await plugin.app.services.downlinks.tick();
    expect(tts.requests).toHaveLength(2);
    expect(await show('l1')).toMatchObject({ status: 'PENDING', detail: 'submitted' });
  });

  it('a TTS timeout is retried like a 5xx', async () => {
    await plugin.destroy();
    plugin = await new PluginHarness({ clock, ttsTimeoutMs: 200 }).start();
    await deviceWithDownlinks(plugin, tts);
    tts.respond({ status: 200, delayMs: 1000 });
    const res = await create({ message_id: 't1', message: CMD, f_port: 15 });
    expect(res.body.result).toMatchObject({ status: 'PENDING', detail: 'retrying', error: { code: 'tts_timeout' } });
  });

  it('TIMEOUT when the TTL passes before delivery', async () => {
    await deviceWithDownlinks(plugin, tts);
    tts.respond({ status: 500 }, { status: 500 }, { status: 500 }, { status: 500 }, { status: 500 }, { status: 500 });
    await create({ message_id: 'ttl1', message: CMD, f_port: 15, ttl: 5 });
    for (let i = 0; i < 5; i++) {
      clock.advance(30_000);
      await plugin.app.services.downlinks.tick();
    }
    expect(await show('ttl1')).toMatchObject({ status: 'PENDING' });
    clock.advance(150_000);
    await plugin.app.services.downlinks.tick();
    expect(await show('ttl1')).toMatchObject({ status: 'TIMEOUT', detail: 'expired', finished_time: '20250416T120500Z' });
    const pushes = tts.requests.length;
    clock.advance(600_000);
    await plugin.app.services.downlinks.tick();
    expect(tts.requests).toHaveLength(pushes);
  });

  it('a message that TTS took but never confirmed times out too', async () => {
    await deviceWithDownlinks(plugin, tts);
    await create({ message_id: 'ttl2', message: CMD, f_port: 15, ttl: 0 });
    await plugin.app.services.downlinks.tick();
    expect(await show('ttl2')).toMatchObject({ status: 'TIMEOUT' });
  });

  it('resumes retries after a restart', async () => {
    await deviceWithDownlinks(plugin, tts);
    tts.respond({ status: 502 });
    await create({ message_id: 'rs1', message: CMD, f_port: 15 });
    expect(await show('rs1')).toMatchObject({ status: 'PENDING', detail: 'retrying' });
    await plugin.stop();
    plugin = await new PluginHarness({ clock, dataDir: plugin.dataDir }).start();
    clock.advance(5_000);
    await plugin.app.services.downlinks.tick();
    expect(tts.requests).toHaveLength(2);
    expect(await show('rs1')).toMatchObject({ status: 'PENDING', detail: 'submitted', attempts: 2 });
    const { correlation_id } = await show('rs1');
    await plugin.webhook(ttsDownlinkEvent('downlink_sent', correlation_id));
    expect(await show('rs1')).toMatchObject({ status: 'DELIVERED' });
  });

  it('waits for the push URL and sends right after the next webhook brings it', async () => {
    await deviceWithDownlinks(plugin, tts, {}, { withCredentials: false });
    const res = await create({ message_id: 'w1', message: CMD, f_port: 15 });
    expect(res.body.result).toMatchObject({ status: 'PENDING', detail: 'waiting_for_uplink' });
    expect(tts.requests).toHaveLength(0);
    const join = fixture('tts/join_accept.json');
    const hook = await plugin.webhook(join, { headers: tts.downlinkHeaders(APP, 'eui-70b3d57ed0051a2b', API_KEY) });
    expect(hook.status).toBe(200);
    await expect.poll(() => tts.requests.length).toBe(1);
    await expect.poll(async () => (await show('w1')).detail).toBe('submitted');
  });

  it('rejects bad requests with 4xx and stores nothing', async () => {
    await deviceWithDownlinks(plugin, tts);
    const cases: [Record<string, unknown>, number, string][] = [
      [{ message: CMD, ttl: 7 }, 400, 'invalid_body'],
      [{ message: CMD, ttl: 1445 }, 400, 'invalid_body'],
      [{ message: CMD, ttl: -5 }, 400, 'invalid_body'],
      [{ message: CMD, encoding: 'hex' }, 400, 'invalid_body'],
      [{ message: 'not base64!', encoding: 'base64' }, 400, 'invalid_message'],
      [{ message: CMD, message_id: 'has space' }, 400, 'invalid_body'],
      [{ message: CMD, message_id: 'x'.repeat(101) }, 400, 'invalid_body'],
      [{ message: CMD, f_port: 0 }, 400, 'invalid_body'],
      [{ message: CMD, f_port: 224 }, 400, 'invalid_body'],
      [{ message: CMD, priority: 'URGENT' }, 400, 'invalid_body'],
      [{ f_port: 15 }, 400, 'invalid_body'],
    ];
    for (const [body, status, code] of cases) {
      const res = await create(body);
      expect({ body, status: res.status, code: res.body?.error?.code }).toEqual({ body, status, code });
    }
    const unknown = await create({ message: CMD }, 'NO-SUCH-DEVICE');
    expect(unknown.status).toBe(404);
    expect(unknown.body.error.code).toBe('not_found');
    const list = await plugin.request('GET', `/api/devices/${DEVICE}/messages`);
    expect(list.body.total).toBe(0);
    expect(tts.requests).toHaveLength(0);
  });

  it('a duplicate message id is 409 and the first message stays as it was', async () => {
    await deviceWithDownlinks(plugin, tts);
    expect((await create({ message_id: 'dup', message: CMD, f_port: 15 })).status).toBe(201);
    const again = await create({ message_id: 'dup', message: { ...CMD, threshold: 1 }, f_port: 15 });
    expect(again.status).toBe(409);
    expect(again.body.error.code).toBe('duplicate_message_id');
    expect(tts.requests).toHaveLength(1);
    expect((await show('dup')).message).toEqual(CMD);
  });

  it('sends raw bytes with encoding base64, bypassing the formatter', async () => {
    await deviceWithDownlinks(plugin, tts);
    await create({ message_id: 'raw', message: 'AQID', encoding: 'base64', f_port: 9 });
    expect(tts.requests[0].body).toMatchObject({ downlinks: [{ f_port: 9, frm_payload: 'AQID' }] });
  });

  it('a formatter error fails the message without calling TTS', async () => {
    await deviceWithDownlinks(plugin, tts);
    const res = await create({ message_id: 'bad', message: { enabled: true, frequency: 70000, threshold: 1 }, f_port: 15 });
    expect(res.status).toBe(201);
    expect(res.body.result).toMatchObject({ status: 'FAILED', error: { code: 'formatter_error' } });
    expect(tts.requests).toHaveLength(0);
  });

  it('lists messages newest first with paging', async () => {
    await deviceWithDownlinks(plugin, tts);
    for (const id of ['a', 'b', 'c']) {
      await create({ message_id: id, message: CMD, f_port: 15 });
      clock.advance(1000);
    }
    const page = await plugin.request('GET', `/api/devices/${DEVICE}/messages?limit=2`);
    expect(page.body.total).toBe(3);
    expect(page.body.messages.map((m: { message_id: string }) => m.message_id)).toEqual(['c', 'b']);
    const next = await plugin.request('GET', `/api/devices/${DEVICE}/messages?limit=2&offset=2`);
    expect(next.body.messages.map((m: { message_id: string }) => m.message_id)).toEqual(['a']);
  });

  it('never shows the TTS API key', async () => {
    await deviceWithDownlinks(plugin, tts);
    await create({ message_id: 'k', message: CMD, f_port: 15 });
    for (const path of [`/api/devices/${DEVICE}`, `/api/devices/${DEVICE}/messages`, '/api/events?limit=1000', `/api/devices/${DEVICE}/messages/k`]) {
      expect((await plugin.request('GET', path)).text).not.toContain(API_KEY);
    }
  });
});
