import { Writable } from 'node:stream';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, PluginHarness } from '../helpers/plugin-harness.js';
import { SseClient } from '../helpers/sse.js';
import { TtsPeer } from '../helpers/tts-peer.js';
import { THROWING_UPLINK, messageBody, uplinkBody } from '../helpers/tts-bodies.js';

const API_KEY = 'NNSXS.ABCDEFGHIJKLMNOPQRSTUVWXYZ234567ABCDEFGHIJKL.SECRETPART0123456789SECRETPART0123456789ABCD';
const EUI = '70B3D57ED0051A2B';

/** The downlink API key TTS sends in X-Downlink-Apikey must never come back out, except to TTS. */
describe('the downlink API key stays secret', () => {
  let plugin: PluginHarness;
  let tts: TtsPeer;
  let logs: string[];
  beforeEach(async () => {
    logs = [];
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        logs.push(chunk.toString('utf8'));
        done();
      },
    });
    plugin = await new PluginHarness({ logger: pino({ level: 'trace' }, sink) }).start();
    tts = await new TtsPeer().start();
  });
  afterEach(async () => {
    await plugin.destroy();
    await tts.stop();
  });

  it('is in no API response, event, live event or log line, and is sent to TTS only', async () => {
    const stream = new SseClient(`${plugin.url}/api/events/stream`, { Authorization: `Bearer ${ADMIN_TOKEN}` });
    await stream.open();
    await stream.next((f) => f.retry !== undefined);

    const headers = tts.downlinkHeaders('greenhouse-app', 'eui-70b3d57ed0051a2b', API_KEY);
    await plugin.request('PUT', '/api/profiles/greenhouse-app', { body: { uplink: { save_metadata: true, update_location: true }, formatter: { type: 'none' } } });
    const responses: string[] = [];
    const keep = <T extends { text: string }>(r: T): T => {
      responses.push(r.text);
      return r;
    };
    keep(await plugin.webhook(uplinkBody({ fCnt: 1 }), { headers }));
    for (const name of ['join_accept.json', 'downlink_queued.json', 'location_solved.json', 'service_data.json', 'downlink_failed.json']) {
      keep(await plugin.webhook(messageBody(name), { headers }));
    }
    keep(await plugin.webhook(uplinkBody({ fCnt: 2 }), { headers, token: 'wrong-token-0123456789' })); // refused
    keep(await plugin.webhook(uplinkBody({ fCnt: 2, appId: 'orchard-app', devEui: '0000000000000009' }), { headers })); // Default profile
    // a downlink goes to TTS with the key
    const down = keep(await plugin.request('POST', `/downlink/${EUI}`, { body: { payload: 'AQID', f_port: 5 } }));
    expect(down.status).toBe(202);
    expect(tts.requests.length).toBeGreaterThan(0);
    expect(tts.requests.every((r) => r.headers.authorization === `Bearer ${API_KEY}`)).toBe(true);

    await plugin.request('PUT', '/api/profiles/greenhouse-app', { body: { formatter: { type: 'javascript', script: THROWING_UPLINK } } });
    keep(await plugin.webhook(uplinkBody({ fCnt: 3 }), { headers })); // dead letter

    const live = await stream.nextEvent((e) => e.category === 'formatter' && e.device_id === EUI); // the last one
    expect(live.data).toBeTruthy();
    stream.close();

    const devices = await plugin.request('GET', '/api/devices');
    expect(devices.body.items.length).toBeGreaterThan(0);
    for (const path of [
      '/api/profiles',
      '/api/profiles/greenhouse-app',
      '/api/profiles/greenhouse-app/webhook',
      '/api/devices',
      `/api/devices/${EUI}`,
      `/api/devices/${EUI}/properties/device`,
      `/api/devices/${EUI}/properties/metadata`,
      `/api/devices/${EUI}/properties/downlink`,
      `/api/devices/${EUI}/messages`,
      '/api/buckets',
      `/api/buckets/${EUI}/data`,
      `/api/buckets/${EUI}/data?format=csv`,
      '/api/events?limit=1000',
      '/api/dead-letters',
    ]) {
      const res = keep(await plugin.request('GET', path));
      expect(res.status, path).toBe(200);
    }
    const letters = await plugin.request('GET', '/api/dead-letters');
    keep(await plugin.request('POST', `/api/dead-letters/${letters.body.items[0].id}/replay`));
    keep(await plugin.request('POST', '/api/formatters/test', { body: { app_id: 'greenhouse-app', direction: 'uplink', input: uplinkBody() } }));

    for (const text of responses) expect(text).not.toContain(API_KEY);
    for (const frame of stream.frames) expect(JSON.stringify(frame)).not.toContain(API_KEY);
    expect(logs.length).toBeGreaterThan(0); // the logger did see the traffic
    for (const line of logs) expect(line).not.toContain(API_KEY);
    // nor any recognisable part of it
    for (const text of [...responses, ...logs]) expect(text).not.toContain('SECRETPART');
  });
});
