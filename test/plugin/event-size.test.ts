/**
 * What a formatter writes cannot grow the database, the logs or an API answer without bound: error
 * texts, console output and outputs are cut, each event is at most ~16 KiB, and the event log is
 * trimmed by bytes as well as by count.
 */
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { PluginHarness } from '../helpers/plugin-harness.js';
import { uplinkBody } from '../helpers/tts-bodies.js';

describe('sizes of what formatters write', () => {
  let plugin: PluginHarness;
  afterEach(async () => {
    await plugin.destroy();
  });

  const dbBytes = () => ['plugin.db', 'plugin.db-wal'].reduce((n, f) => n + (statSync(join(plugin.dataDir, f), { throwIfNoEntry: false })?.size ?? 0), 0);

  it('an 8 MB error with 50 console lines of 100 KB: five uplinks add little to the database, and /api/events?limit=5 stays small', async () => {
    plugin = await new PluginHarness().start();
    const script = "module.exports.uplink = function () { for (let i = 0; i < 50; i++) console.log('L'.repeat(100000)); throw new Error('E'.repeat(8e6)); };";
    expect((await plugin.request('PUT', '/api/profiles/loud-app', { body: { formatter: { type: 'javascript', script, timeout_ms: 5000 } } })).status).toBe(201);
    const before = dbBytes();
    for (let fCnt = 1; fCnt <= 5; fCnt++) {
      expect((await plugin.webhook(uplinkBody({ appId: 'loud-app', fCnt }))).body.status).toBe('dead_letter');
    }
    expect(dbBytes() - before).toBeLessThan(2 * 1024 * 1024);
    const events = await plugin.request('GET', '/api/events?app_id=loud-app&category=formatter&limit=5');
    expect(events.text.length).toBeLessThan(5 * 20 * 1024);
    expect(events.body.items[0].details.truncated).toMatch(/^details of \d+ characters cut to the fields under 256 \(limit 16384 per event\)$/);
    expect(events.body.items[0].details.f_cnt).toBe(5);
    const [letter] = (await plugin.request('GET', '/api/dead-letters?app_id=loud-app')).body.items;
    expect(letter.error.message).toBe(`Error: ${'E'.repeat(1993)}… (cut to 2000 characters)`);
  });

  it('an output over 64 KiB is not stored: a dead letter with a limit error', async () => {
    plugin = await new PluginHarness().start();
    const script = "module.exports.uplink = function () { return { blob: 'x'.repeat(70000) }; };";
    expect((await plugin.request('PUT', '/api/profiles/big-app', { body: { formatter: { type: 'javascript', script } } })).status).toBe(201);
    expect((await plugin.webhook(uplinkBody({ appId: 'big-app' }))).body.status).toBe('dead_letter');
    const [letter] = (await plugin.request('GET', '/api/dead-letters?app_id=big-app')).body.items;
    expect(letter.error.kind).toBe('limit');
  });

  it('trims the event log by bytes: 200 events of 10 KB with a 500 KB cap keep the newest ~450 KB', async () => {
    plugin = await new PluginHarness({ eventCap: 100_000, eventCapBytes: 500_000 }).start();
    const events = plugin.app.services.events;
    for (let i = 0; i < 200; i++) {
      await events.record({ appId: 'heavy-app', deviceId: null, category: 'webhook', severity: 'info', title: `event ${i}`, details: { pad: 'p'.repeat(10_000) } });
    }
    const kept = (await plugin.request('GET', '/api/events?app_id=heavy-app&limit=1000')).body.items;
    const bytes = kept.reduce((n: number, e: { title: string; details: unknown }) => n + e.title.length + JSON.stringify(e.details).length, 0);
    expect(bytes).toBeLessThanOrEqual(500_000);
    expect(kept.length).toBeGreaterThan(35);
    expect(kept[0].title).toBe('event 199');
  });
});
