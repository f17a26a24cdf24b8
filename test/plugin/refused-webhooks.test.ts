/**
 * Outsiders cannot empty the event log or fill the disk: webhooks refused for their token write at
 * most one event (and one log line) per profile and minute, saying how many were refused.
 */
import { Writable } from 'node:stream';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PluginHarness, TestClock } from '../helpers/plugin-harness.js';
import { uplinkBody } from '../helpers/tts-bodies.js';

describe('a flood of webhooks with a wrong token', () => {
  let plugin: PluginHarness;
  let clock: TestClock;
  let logLines: string[];
  beforeEach(async () => {
    clock = new TestClock();
    logLines = [];
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        logLines.push(chunk.toString());
        done();
      },
    });
    plugin = await new PluginHarness({ clock, eventCap: 500, logger: pino({ level: 'info' }, sink) }).start();
  });
  afterEach(async () => {
    await plugin.destroy();
  });

  const authEvents = async () => (await plugin.request('GET', '/api/events?category=auth&limit=1000')).body.items;

  it('keeps a real application\'s events (cap 500, 1,200 refusals), with one event per profile and minute', async () => {
    expect((await plugin.request('PUT', '/api/profiles/greenhouse-app', { body: {} })).status).toBe(201);
    expect((await plugin.webhook(uplinkBody())).body.status).toBe('stored');
    const before = (await plugin.request('GET', '/api/events?app_id=greenhouse-app&limit=1000')).body.items;
    expect(before.length).toBeGreaterThan(0);

    for (let batch = 0; batch < 12; batch++) {
      const refused = await Promise.all(
        Array.from({ length: 100 }, (_, i) =>
          // Half for the profiled application, half for ever new application ids (the Default profile's token).
          plugin.webhook(uplinkBody({ appId: i % 2 ? 'greenhouse-app' : `stranger-${batch}-${i}` }), { token: `wrong-token-${batch}-${i}-0123456789` }),
        ),
      );
      expect(refused.every((r) => r.status === 401)).toBe(true);
    }
    const auth = await authEvents();
    expect(auth.map((e: { details: { profile: string } }) => e.details.profile).sort()).toEqual(['default', 'greenhouse-app']);
    const after = (await plugin.request('GET', '/api/events?app_id=greenhouse-app&category=uplink&limit=1000')).body.items;
    expect(after).toEqual(before.filter((e: { category: string }) => e.category === 'uplink'));
    expect(logLines.filter((line) => line.includes('token refused'))).toHaveLength(2);

    // A minute later the next refusal is an event again, counting those in between.
    clock.advance(60_000);
    expect((await plugin.webhook(uplinkBody(), { token: 'wrong-token-later-0123456789' })).status).toBe(401);
    const latest = (await authEvents()).find((e: { details: { profile: string } }) => e.details.profile === 'greenhouse-app');
    expect(latest).toMatchObject({ title: 'Webhook with wrong token refused', details: { refused: 600 } });
  });
});
