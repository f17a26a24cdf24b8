/**
 * GET /metrics: Prometheus text format behind the admin token, with the plugin's counters (uplinks,
 * refused webhooks, formatter runs and processes, downlinks, queues, store syncs) and Node's own.
 * No label takes a value an outsider sends.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PluginHarness, TestClock } from '../helpers/plugin-harness.js';
import { ECHO_UPLINK, THROWING_UPLINK, expectError, uplinkBody } from '../helpers/tts-bodies.js';

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** The samples of a Prometheus text exposition (0.0.4). */
function parseMetrics(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match) throw new Error(`not a sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const [, key, value] of (match[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[key] = value;
    samples.push({ name: match[1], labels, value: Number(match[3]) });
  }
  return samples;
}

/** The one sample of `name` with exactly these labels (undefined if none). */
function valueOf(samples: Sample[], name: string, labels: Record<string, string> = {}): number | undefined {
  const found = samples.filter((s) => s.name === name && JSON.stringify(s.labels) === JSON.stringify(labels));
  if (found.length > 1) throw new Error(`${found.length} samples of ${name} ${JSON.stringify(labels)}`);
  return found[0]?.value;
}

const seriesOf = (samples: Sample[]) => samples.map((s) => `${s.name}${JSON.stringify(s.labels)}`).sort();

const HANGING = 'module.exports.uplink = function () { return Array.prototype.includes.call({length: 2**32+1}, 1); };';

describe('GET /metrics', () => {
  let plugin: PluginHarness;
  let clock: TestClock;
  beforeEach(async () => {
    clock = new TestClock();
    plugin = await new PluginHarness({ clock }).start();
  });
  afterEach(async () => {
    await plugin.destroy();
  });

  const scrape = async () => {
    const res = await plugin.request('GET', '/metrics');
    expect(res.status).toBe(200);
    return parseMetrics(res.text);
  };
  const profile = async (appId: string, body: Record<string, unknown>) =>
    expect((await plugin.request('PUT', `/api/profiles/${appId}`, { body })).status).toBe(201);

  it('needs the admin token: 401 in the error shape without one, with a wrong one, in any case of the path', async () => {
    expectError(await plugin.request('GET', '/metrics', { token: null }), 401, 'unauthorized');
    expectError(await plugin.request('GET', '/metrics', { token: 'wrong-token-0123456789' }), 401, 'unauthorized');
    expectError(await plugin.request('GET', '/Metrics', { token: 'wrong-token-0123456789' }), 401, 'unauthorized');
    expectError(await plugin.request('GET', '/metrics/', { token: null }), 401, 'unauthorized');
    const res = await plugin.request('GET', '/metrics', { token: 'wrong-token-0123456789' });
    expect(res.headers.get('www-authenticate')).toBe('Bearer');
  });

  it('answers text/plain 0.0.4 and counts a stored uplink, a duplicate, a dead letter and refused webhooks exactly', async () => {
    await profile('greenhouse-app', { formatter: { type: 'javascript', script: ECHO_UPLINK } });
    await profile('broken-app', { formatter: { type: 'javascript', script: THROWING_UPLINK } });
    const before = await plugin.request('GET', '/metrics');
    expect(before.status).toBe(200);
    expect(before.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4(;|$)/);
    expect(before.headers.get('cache-control')).toBe('no-store');
    const zero = parseMetrics(before.text);
    for (const outcome of ['stored', 'duplicate', 'dead_letter']) expect(valueOf(zero, 'lorawan_bridge_uplinks_total', { outcome })).toBe(0);
    for (const reason of ['unauthorized', 'invalid_body', 'other_4xx']) expect(valueOf(zero, 'lorawan_bridge_webhooks_rejected_total', { reason })).toBe(0);

    const body = uplinkBody({ bytes: [1, 2] });
    expect((await plugin.webhook(body)).body.status).toBe('stored');
    expect((await plugin.webhook(body)).body.status).toBe('duplicate');
    expect((await plugin.webhook(uplinkBody({ appId: 'broken-app', devEui: 'B0B0B0B0B0B0B0B1' }))).body.status).toBe('dead_letter');
    // Refused: a wrong token (401), a body that is not JSON (400, through the intake), a body of another type (415, through Koa).
    expect((await plugin.webhook(uplinkBody(), { token: 'wrong-token-0123456789' })).status).toBe(401);
    const token = await plugin.webhookToken('greenhouse-app');
    expect((await plugin.request('POST', '/tts/webhook', { raw: '{"uplink_message": ', token })).status).toBe(400);
    expect((await plugin.request('POST', '/tts/webhook', { raw: 'hello', token, headers: { 'Content-Type': 'text/plain' } })).status).toBe(415);

    const res = await plugin.request('GET', '/metrics');
    expect(res.text).toContain('# TYPE lorawan_bridge_uplinks_total counter');
    expect(res.text).toContain('# TYPE lorawan_bridge_downlinks_pending gauge');
    expect(res.text).toContain('# TYPE lorawan_bridge_store_commit_sync_seconds histogram');
    const m = parseMetrics(res.text);
    expect(valueOf(m, 'lorawan_bridge_uplinks_total', { outcome: 'stored' })).toBe(1);
    expect(valueOf(m, 'lorawan_bridge_uplinks_total', { outcome: 'duplicate' })).toBe(1);
    expect(valueOf(m, 'lorawan_bridge_uplinks_total', { outcome: 'dead_letter' })).toBe(1);
    expect(valueOf(m, 'lorawan_bridge_webhooks_rejected_total', { reason: 'unauthorized' })).toBe(1);
    expect(valueOf(m, 'lorawan_bridge_webhooks_rejected_total', { reason: 'invalid_body' })).toBe(1);
    expect(valueOf(m, 'lorawan_bridge_webhooks_rejected_total', { reason: 'other_4xx' })).toBe(1);
    // The duplicate ran its formatter too: the store tells it apart, after the run.
    expect(valueOf(m, 'lorawan_bridge_uplink_formatter_calls_total', { result: 'ok' })).toBe(2);
    expect(valueOf(m, 'lorawan_bridge_uplink_formatter_calls_total', { result: 'runtime' })).toBe(1);
    expect(valueOf(m, 'lorawan_bridge_uplink_formatter_calls_total', { result: 'timeout' })).toBe(0);
    expect(valueOf(m, 'lorawan_bridge_formatter_processes')).toBe(2);
    expect(valueOf(m, 'lorawan_bridge_formatter_process_kills_total')).toBe(0);
    expect(valueOf(m, 'lorawan_bridge_formatter_suspended')).toBe(0);
    expect(valueOf(m, 'lorawan_bridge_downlinks_pending')).toBe(0);
    expect(valueOf(m, 'lorawan_bridge_status_notifications_due')).toBe(0);
    expect(valueOf(m, 'lorawan_bridge_store_commit_sync_seconds_count')).toBeGreaterThan(0);
    // Node's own, from prom-client's default metrics.
    expect(valueOf(m, 'nodejs_eventloop_lag_seconds')).toEqual(expect.any(Number));
    expect(m.some((s) => s.name === 'nodejs_eventloop_lag_p99_seconds')).toBe(true);
  });

  it('shows the formatter process killed for a formatter that does not stop at its 10 ms limit', async () => {
    await profile('hanging-app', { formatter: { type: 'javascript', script: HANGING, timeout_ms: 10 } });
    const res = await plugin.webhook(uplinkBody({ appId: 'hanging-app', devEui: 'C0C0C0C0C0C0C0C1' }));
    expect(res.body.status).toBe('dead_letter');
    const [letter] = (await plugin.request('GET', '/api/dead-letters?app_id=hanging-app')).body.items;
    expect(letter.error).toMatchObject({ kind: 'timeout', message: expect.stringMatching(/its process was killed$/) });

    const m = await scrape();
    expect(valueOf(m, 'lorawan_bridge_formatter_process_kills_total')).toBe(1);
    expect(valueOf(m, 'lorawan_bridge_formatter_process_kills_total')).toBe(plugin.formatters.stats().kills);
    expect(valueOf(m, 'lorawan_bridge_formatter_process_crashes_total')).toBe(0);
    expect(valueOf(m, 'lorawan_bridge_uplink_formatter_calls_total', { result: 'timeout' })).toBe(1);
    expect(valueOf(m, 'lorawan_bridge_uplinks_total', { outcome: 'dead_letter' })).toBe(1);
  });

  it('adds no label value for 100 refused webhooks of 100 application ids', async () => {
    const series = seriesOf((await scrape()).filter((s) => s.name.startsWith('lorawan_bridge_')));
    const refused = await Promise.all(
      Array.from({ length: 100 }, (_, i) => plugin.webhook(uplinkBody({ appId: `stranger-app-${i}` }), { token: `wrong-token-${i}-0123456789` })),
    );
    expect(refused.every((r) => r.status === 401)).toBe(true);

    const res = await plugin.request('GET', '/metrics');
    expect(res.text).not.toContain('stranger');
    const after = parseMetrics(res.text);
    expect(seriesOf(after.filter((s) => s.name.startsWith('lorawan_bridge_')))).toEqual(series);
    expect(valueOf(after, 'lorawan_bridge_webhooks_rejected_total', { reason: 'unauthorized' })).toBe(100);
  });

  it('counts downlink messages by the status they enter, and the pending ones in the store', async () => {
    await profile('greenhouse-app', { formatter: { type: 'javascript', script: ECHO_UPLINK } });
    expect((await plugin.webhook(uplinkBody())).body.status).toBe('stored');
    // No push URLs from TTS yet: the message waits, PENDING.
    const created = await plugin.request('POST', '/api/devices/70B3D57ED0051A2B/messages', {
      body: { message_id: 'm1', message: 'AQI=', encoding: 'base64', f_port: 15, ttl: 5 },
    });
    expect(created.status).toBe(201);
    expect(created.body.result.status).toBe('PENDING');
    let m = await scrape();
    expect(valueOf(m, 'lorawan_bridge_downlinks_total', { status: 'PENDING' })).toBe(1);
    expect(valueOf(m, 'lorawan_bridge_downlinks_total', { status: 'TIMEOUT' })).toBe(0);
    expect(valueOf(m, 'lorawan_bridge_downlinks_pending')).toBe(1);

    clock.advance(5 * 60_000);
    await plugin.app.services.downlinks.tick();
    m = await scrape();
    expect(valueOf(m, 'lorawan_bridge_downlinks_total', { status: 'PENDING' })).toBe(1);
    expect(valueOf(m, 'lorawan_bridge_downlinks_total', { status: 'TIMEOUT' })).toBe(1);
    expect(valueOf(m, 'lorawan_bridge_downlinks_pending')).toBe(0);
  });
});
