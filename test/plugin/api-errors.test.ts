import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PluginHarness } from '../helpers/plugin-harness.js';
import { TtsPeer } from '../helpers/tts-peer.js';
import { expectError, uplinkBody } from '../helpers/tts-bodies.js';

const EUI = '70B3D57ED0051A2B';

/** Every error answer is {"error": {"code", "message", "details"}} with a 4xx/5xx status. */
describe('API error answers', () => {
  let plugin: PluginHarness;
  let tts: TtsPeer;
  beforeEach(async () => {
    plugin = await new PluginHarness().start();
    tts = await new TtsPeer().start();
  });
  afterEach(async () => {
    await plugin.destroy();
    await tts.stop();
  });

  it('an unknown route is 404 in the error shape', async () => {
    expectError(await plugin.request('GET', '/api/nothing-here'), 404, 'not_found');
    expectError(await plugin.request('POST', '/api/devices/x/y/z', { body: {} }), 404, 'not_found');
    expectError(await plugin.request('GET', '/no-such-page', { token: null }), 404, 'not_found');
  });

  it('a method a route does not take is 405 in the error shape', async () => {
    const patch = await plugin.request('PATCH', '/api/profiles/default', { body: {} });
    expectError(patch, 405);
    const getWebhook = await plugin.request('GET', '/tts/webhook', { token: null });
    expectError(getWebhook, 405);
    const deleteBucket = await plugin.request('DELETE', '/api/buckets/x');
    expectError(deleteBucket, 405);
  });

  describe('POST /downlink/{device}: f_port outside 1..223 is refused before anything is sent', () => {
    beforeEach(async () => {
      await plugin.request('PUT', '/api/profiles/greenhouse-app', { body: { formatter: { type: 'none' } } });
      const res = await plugin.webhook(uplinkBody(), { headers: tts.downlinkHeaders('greenhouse-app', 'eui-70b3d57ed0051a2b') });
      expect(res.body.status).toBe('stored');
    });

    it.each(['0', '224', '-1', '1.5', 'two'])('in the query (f_port=%s): 400', async (port) => {
      const res = await plugin.request('POST', `/downlink/${EUI}?f_port=${port}`, { body: { on: true } });
      expectError(res, 400, 'invalid_query');
      await expectNothingSent();
    });

    it.each([0, 224, 300, '5'])('in the envelope (f_port: %j): 400', async (port) => {
      const res = await plugin.request('POST', `/downlink/${EUI}`, { body: { payload: 'AQID', f_port: port } });
      expectError(res, 400, 'invalid_options');
      await expectNothingSent();
    });

    it('the boundaries 1 and 223 are taken', async () => {
      for (const port of [1, 223]) {
        const res = await plugin.request('POST', `/downlink/${EUI}?f_port=${port}`, { body: { payload: 'AQID' } });
        expect(res.status, `f_port ${port}`).toBe(202);
      }
      expect(tts.requests.map((r) => (r.body as { downlinks: { f_port: number }[] }).downlinks[0].f_port)).toEqual([1, 223]);
    });

    async function expectNothingSent(): Promise<void> {
      expect(tts.requests).toEqual([]);
      const messages = await plugin.request('GET', `/api/devices/${EUI}/messages`);
      expect(messages.body.total).toBe(0);
    }
  });

  it('a downlink to an unknown device is 404', async () => {
    expectError(await plugin.request('POST', '/downlink/nope', { body: { payload: 'AQID', f_port: 1 } }), 404, 'not_found');
    expectError(await plugin.request('POST', '/downlink/nope'), 404, 'not_found');
  });
});
