/**
 * X-Downlink-* headers cost little whatever their length: bounded to 2 KiB before anything reads
 * them, then parsed once with the WHATWG URL parser. Before, a backtracking regular expression took
 * ~110 ms of event loop per webhook for a 15 KB X-Downlink-Push.
 */
import { performance } from 'node:perf_hooks';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MAX_DOWNLINK_HEADER_LENGTH } from '../../plugin/networks/tts/push-urls.js';
import { downlinkHeadersOf } from '../../plugin/networks/tts/webhook.js';
import { PluginHarness } from '../helpers/plugin-harness.js';
import { uplinkBody } from '../helpers/tts-bodies.js';

const APP = 'greenhouse-app';
const EUI = '70B3D57ED0051A2B';
const RUNS = 50;

/** The worst case of the old check (/^https?:\/\/[^\s/?#]+[^\s]*$/): a long host, then whitespace. */
const hostile = (length: number) => `http://${'a'.repeat(length - 9)} x`;
const headersWith = (push: string) => ({
  'X-Downlink-Apikey': 'NNSXS.HOSTILE.KEY',
  'X-Downlink-Push': push,
  'X-Downlink-Replace': `http://127.0.0.1/api/v3/as/applications/${APP}/webhooks/bridge/devices/eui-70b3d57ed0051a2b/down/replace`,
});

describe('X-Downlink-* headers of any length cost little', () => {
  let plugin: PluginHarness;
  beforeEach(async () => {
    plugin = await new PluginHarness().start();
    expect((await plugin.request('PUT', `/api/profiles/${APP}`, { body: { formatter: { type: 'none' } } })).status).toBe(201);
  });
  afterEach(async () => {
    await plugin.destroy();
  });

  it('parsing: 15 KB and 1 MB headers are refused in microseconds, unread', () => {
    for (const length of [15_000, 1024 * 1024]) {
      const headers = { 'x-downlink-apikey': 'k', 'x-downlink-push': hostile(length), 'x-downlink-replace': hostile(length) };
      const started = performance.now();
      for (let i = 0; i < RUNS; i++) expect(downlinkHeadersOf(headers)).toMatchObject({ kind: 'refused', refusal: { reason: 'header_too_long' } });
      expect((performance.now() - started) / RUNS).toBeLessThan(1);
    }
    // at the limit, the URL parser answers as fast
    const atLimit = { 'x-downlink-apikey': 'k', 'x-downlink-push': hostile(MAX_DOWNLINK_HEADER_LENGTH), 'x-downlink-replace': hostile(MAX_DOWNLINK_HEADER_LENGTH) };
    const started = performance.now();
    for (let i = 0; i < RUNS; i++) expect(downlinkHeadersOf(atLimit)).toMatchObject({ kind: 'refused', refusal: { reason: 'invalid_url' } });
    expect((performance.now() - started) / RUNS).toBeLessThan(1);
  });

  it('a 15 KB X-Downlink-Push: < 20 ms per webhook over 50, refused with an event, the uplink stored', async () => {
    const headers = headersWith(hostile(15_000));
    await plugin.webhook(uplinkBody({ fCnt: 1 }), { headers }); // warm-up
    const token = await plugin.webhookToken(APP);
    const started = performance.now();
    for (let i = 0; i < RUNS; i++) {
      const res = await plugin.webhook(uplinkBody({ fCnt: 2 + i }), { token, headers });
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ status: 'stored', device_id: EUI });
    }
    const perWebhook = (performance.now() - started) / RUNS;
    console.log(`15 KB X-Downlink-Push: ${perWebhook.toFixed(2)} ms per webhook`);
    expect(perWebhook).toBeLessThan(20);
    expect((await plugin.request('GET', `/api/devices/${EUI}`)).body.downlink_ready).toBe(false);
    const events = (await plugin.request('GET', `/api/events?app_id=${APP}&category=webhook&severity=warning`)).body.items;
    expect(events).toHaveLength(1); // one a minute
    expect(events[0]).toMatchObject({ details: { reason: 'header_too_long', host: null } });
    expect(JSON.stringify(events)).not.toContain('NNSXS.HOSTILE.KEY');
  });

  it('a 1 MB X-Downlink-Push: refused quickly (by node:http, 431, before the plugin reads it)', async () => {
    const headers = headersWith(hostile(1024 * 1024));
    const token = await plugin.webhookToken(APP);
    const started = performance.now();
    for (let i = 0; i < RUNS; i++) {
      const res = await plugin.webhook(uplinkBody({ fCnt: 100 + i }), { token, headers });
      expect(res.status).toBe(431);
    }
    const perWebhook = (performance.now() - started) / RUNS;
    console.log(`1 MB X-Downlink-Push: ${perWebhook.toFixed(2)} ms per webhook`);
    expect(perWebhook).toBeLessThan(20);
  });
});
