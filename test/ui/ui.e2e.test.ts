import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../plugin/project-files.js';
import { fixture } from '../helpers/fixtures.js';
import { ADMIN_TOKEN, PluginHarness } from '../helpers/plugin-harness.js';
import { TtsPeer } from '../helpers/tts-peer.js';
import { ensureUiBuilt } from './helpers/build-ui.js';
import { expectAccessible } from './helpers/axe.js';
import { ConsoleWatch, launchChromium, signIn } from './helpers/chromium.js';

/**
 * The web UI in real Chromium against the real plugin (PluginHarness) and a TTS stand-in (TtsPeer).
 * The steps share one browser tab and build on each other, like a person setting the plugin up.
 * Screenshots of every screen land in test/artifacts/ui/.
 */

const ARTIFACTS = join(PROJECT_ROOT, 'test', 'artifacts', 'ui');
const APP = 'greenhouse-app';
const TTS_DEVICE = 'eui-70b3d57ed0051a2b';
const DEVICE = 'gh-70B3D57ED0051A2B';
const WAIT = { timeout: 8000 };

const SCRIPT = `// Thinger style: payload is the base64 frm_payload, message the TTS uplink.
module.exports.uplink = function (payload, message) {
  const b = Buffer.from(payload, 'base64');
  console.log('decoding', b.length, 'bytes');
  const gateway = message.uplink_message.rx_metadata[0];
  return {
    temperature: b.readInt16BE(0) / 100,
    humidity: b.readUInt16BE(2) / 100,
    radio: { rssi: gateway.rssi, snr: gateway.snr }
  };
};

module.exports.downlink = function (payload) {
  const bytes = [payload.enabled ? 1 : 0, payload.frequency >> 8, payload.frequency & 0xff, payload.threshold];
  return Buffer.from(bytes).toString('base64');
};
`;
const BROKEN_SCRIPT = `module.exports.uplink = function (payload) {
  return { temperature: ) };
};
`;
const DOWNLINK = '{"enabled": true, "frequency": 600, "threshold": 30}';
/** base64 of [1, 600 >> 8, 600 & 0xff, 30], what SCRIPT encodes DOWNLINK to. */
const DOWNLINK_BASE64 = 'AQJYHg==';

/** A TTS uplink of the fixture device without TTS decoding, `minutesAgo` old. */
function uplink(fCnt: number, celsius: number, humidity: number, minutesAgo: number, frmPayload?: string) {
  const body = fixture('tts/uplink_message.json');
  const up = body.uplink_message as Record<string, unknown>;
  // TTS's decoding of the fixture's own bytes; the formatter decodes these (measurements.e2e shows normalized plots).
  delete up.decoded_payload;
  delete up.normalized_payload;
  const bytes = Buffer.alloc(4);
  bytes.writeInt16BE(Math.round(celsius * 100), 0);
  bytes.writeUInt16BE(Math.round(humidity * 100), 2);
  up.frm_payload = frmPayload ?? bytes.toString('base64');
  up.f_cnt = fCnt;
  (up.rx_metadata as { rssi: number; snr: number }[])[0].rssi = -80 - (fCnt % 13);
  const at = new Date(Date.now() - minutesAgo * 60_000).toISOString();
  body.received_at = at;
  up.received_at = at;
  return body;
}

describe('web UI (Chromium, real plugin, TTS stand-in)', () => {
  let plugin: PluginHarness;
  let tts: TtsPeer;
  let browser: Awaited<ReturnType<typeof launchChromium>>;
  let page: Page;
  const consoleWatch = new ConsoleWatch();

  /** What a person sees in the viewport (full-page captures misplace sticky bars). */
  const shot = (p: Page, name: string) => p.screenshot({ path: join(ARTIFACTS, `${name}.png`) });
  const textOf = async (l: Locator) => (await l.textContent()) ?? '';
  const postUplink = async (body: Record<string, unknown>) => {
    const res = await plugin.webhook(body, { headers: tts.downlinkHeaders(APP, TTS_DEVICE) });
    expect(res.status).toBe(200);
    return res.body as { status: string; device_id: string; dead_letter_id?: number };
  };
  /** Fails if the page was reloaded since mark() (the marker lives in the window object). */
  const mark = (p: Page) => p.evaluate(() => Object.assign(window, { e2eMarker: true }));
  const marked = (p: Page) => p.evaluate(() => 'e2eMarker' in window);

  beforeAll(async () => {
    ensureUiBuilt();
    mkdirSync(ARTIFACTS, { recursive: true });
    plugin = await new PluginHarness().start();
    tts = await new TtsPeer().start();
    browser = await launchChromium({ width: 1280, height: 800 });
    page = browser.context.pages()[0] ?? (await browser.context.newPage());
    consoleWatch.watch(page);
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await plugin?.destroy();
    await tts?.stop();
  });

  it('serves the built UI with caching headers and nothing else', async () => {
    const index = await fetch(`${plugin.url}/`);
    expect(index.status).toBe(200);
    expect(index.headers.get('content-type')).toMatch(/^text\/html/);
    expect(index.headers.get('cache-control')).toBe('no-cache');
    const html = await index.text();
    const assets = [...html.matchAll(/(?:src|href)="(\/assets\/[^"]+)"/g)].map((m) => m[1]);
    expect(assets.length).toBeGreaterThanOrEqual(2);
    for (const asset of assets) {
      const res = await fetch(`${plugin.url}${asset}`, { headers: { 'Accept-Encoding': 'br, gzip' } });
      expect(res.status).toBe(200);
      expect(res.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
      expect(res.headers.get('content-encoding')).toBe('br');
      expect((await res.text()).length).toBeGreaterThan(100);
    }
    // fetch() adds Cache-Control: no-cache to conditional requests; a browser revalidating does not.
    const again = await fetch(`${plugin.url}/`, { headers: { 'If-None-Match': index.headers.get('etag') ?? '', 'Cache-Control': 'max-age=0' } });
    expect(again.status).toBe(304);
    const head = await fetch(`${plugin.url}${assets[0]}`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    for (const path of ['/assets/..%2fpackage.json', '/assets/%2e%2e/package.json', '/assets/.hidden.js', '/package.json', '/assets/missing.js']) {
      expect((await fetch(`${plugin.url}${path}`)).status, path).toBe(404);
    }
    const post = await fetch(`${plugin.url}/`, { method: 'POST' });
    expect(post.headers.get('content-type')).toMatch(/json/);
  });

  it('signs in with the admin token, kept for the session only', async () => {
    await page.goto(`${plugin.url}/`);
    await page.getByLabel('Admin token').waitFor();
    await shot(page, 'desktop-01-sign-in');
    await expectAccessible(page, 'desktop sign-in');
    await signIn(page, ADMIN_TOKEN);
    await page.getByRole('combobox', { name: 'Application' }).waitFor();
    expect(await page.getByRole('combobox', { name: 'Application' }).inputValue()).toBe('default');
    expect(await page.evaluate(() => [sessionStorage.length, localStorage.length])).toEqual([1, 0]);
  });

  it('adds a profile and edits its settings with the schema constraints shown inline', async () => {
    await page.getByRole('button', { name: 'Add application' }).click();
    await page.getByLabel('TTS app ID').fill(APP);
    await expectAccessible(page, 'desktop add application (TTS)');
    await page.getByRole('button', { name: 'Create profile' }).click();
    await expect.poll(() => page.getByRole('combobox', { name: 'Application' }).inputValue(), WAIT).toBe(APP);
    expect((await plugin.request('GET', `/api/profiles/${APP}`)).status).toBe(200);
    expect(await page.getByRole('tab', { name: 'Uplink' }).getAttribute('aria-selected')).toBe('true');

    // Constraints, defaults and descriptions come from the settings schema in /manifest.json.
    const manifest = (await plugin.request('GET', '/manifest.json', { token: null })).body;
    const uplinkSchema = manifest.settings.schema.properties.uplink.properties;
    const timeout = page.getByLabel('Connection timeout (minutes)');
    expect(await timeout.getAttribute('min')).toBe(String(uplinkSchema.connection_timeout_min.minimum));
    expect(await timeout.getAttribute('max')).toBe(String(uplinkSchema.connection_timeout_min.maximum));
    expect(await timeout.inputValue()).toBe(String(uplinkSchema.connection_timeout_min.default));
    await page.getByText(uplinkSchema.connection_timeout_min.description).waitFor();
    expect(await page.getByLabel('Device ID prefix').getAttribute('maxlength')).toBe(String(uplinkSchema.device_id_prefix.maxLength));

    await timeout.fill('0');
    await page.getByText(`must be at least ${uplinkSchema.connection_timeout_min.minimum}`).waitFor();
    await timeout.fill('15');
    await page.getByLabel('Device ID prefix').fill('gh-');
    await page.getByText('Unsaved changes').waitFor();
    await shot(page, 'desktop-02-profile-uplink');
    await expectAccessible(page, 'desktop profile: Uplink tab');

    await page.getByRole('tab', { name: 'Downlink' }).click();
    const priorities = manifest.settings.schema.properties.downlink.properties.priority.anyOf.map((a: { const: string }) => a.const);
    expect(await page.getByLabel('Priority').locator('option').allTextContents()).toEqual(priorities);
    await page.getByLabel('Priority').selectOption('NORMAL');
    await shot(page, 'desktop-03-profile-downlink');
    await expectAccessible(page, 'desktop profile: Downlink tab');
  });

  it('refuses to save a script that does not compile and marks the line', async () => {
    await page.getByRole('tab', { name: 'Payload processing' }).click();
    const editor = page.getByRole('textbox', { name: 'Formatter script' });
    await editor.waitFor();
    await editor.fill(BROKEN_SCRIPT);
    consoleWatch.expect(/status of 400/);
    await page.getByRole('button', { name: 'Save' }).click();
    const refusal = page.getByRole('alert').filter({ hasText: 'does not compile' });
    await refusal.waitFor(WAIT);
    expect(await textOf(refusal)).toMatch(/line 2/);
    await page.locator('.cm-errorLine').first().waitFor();
    expect((await plugin.request('GET', `/api/profiles/${APP}`)).body.formatter.script).toBe('');
  });

  it('starts from a template, writes a formatter and runs the uplink and downlink tests', async () => {
    const editor = page.getByRole('textbox', { name: 'Formatter script' });
    const result = page.getByRole('region', { name: 'Test result' });
    const templates = (await plugin.request('GET', '/api/formatters/templates')).body.items as { id: string; script: string }[];
    await page.getByLabel('Start from a template').selectOption('thinger-temperature-humidity');
    await page.getByRole('button', { name: 'Load', exact: true }).click();
    await expect.poll(() => textOf(editor), WAIT).toContain('module.exports.downlink');
    expect((await textOf(editor)).replace(/\s+/g, '')).toBe(templates.find((t) => t.id === 'thinger-temperature-humidity')!.script.replace(/\s+/g, ''));
    await page.getByRole('button', { name: 'Run uplink test' }).click();
    await expect.poll(() => textOf(result), WAIT).toContain('Uplink test passed');

    await editor.fill(SCRIPT);

    // The prefilled input is a whole TTS uplink (23.45 °C, 41 %). The template's result stays until
    // this run's arrives: wait for this script's own log line.
    await page.getByRole('button', { name: 'Run uplink test' }).click();
    await expect.poll(() => textOf(result), WAIT).toContain('decoding 4 bytes');
    expect(await textOf(result)).toContain('Uplink test passed');
    expect(await textOf(result)).toContain('"temperature": 23.45');
    expect(await textOf(result)).toContain('decoding 4 bytes');
    expect(await textOf(result)).toMatch(/\d ms/);

    // A runtime error is reported with its line, marked in the editor.
    await page.getByRole('textbox', { name: 'Test input' }).fill('{"bytes": [1], "f_port": 2}');
    await page.getByRole('button', { name: 'Run uplink test' }).click();
    await expect.poll(() => textOf(result), WAIT).toContain('Uplink test failed');
    expect(await textOf(result)).toMatch(/runtime error/);
    await page.locator('.cm-errorLine').first().waitFor();

    await page.getByRole('textbox', { name: 'Test input' }).fill(DOWNLINK);
    await page.getByRole('button', { name: 'Run downlink test' }).click();
    await expect.poll(() => textOf(result), WAIT).toContain('Downlink test passed');
    expect(await textOf(result)).toContain('What would be sent to TTS');
    expect(await textOf(result)).toContain(DOWNLINK_BASE64);
    await expect.poll(() => page.locator('.cm-errorLine').count(), WAIT).toBe(0);

    // The editors are a keyboard trap for no one: Escape then Tab leaves them (the hint says so).
    const input = page.getByRole('textbox', { name: 'Test input' });
    await input.focus();
    expect(await input.getAttribute('aria-describedby')).toBeTruthy();
    await page.getByText('Press Esc then Tab to leave the editor.').first().waitFor();
    await page.keyboard.press('Escape');
    await page.keyboard.press('Tab');
    expect(await page.evaluate(() => document.activeElement !== null && document.activeElement.closest('.cm-editor') === null)).toBe(true);

    await page.getByRole('button', { name: 'Sample uplink' }).click();
    await page.getByRole('button', { name: 'Run uplink test' }).click();
    await expect.poll(() => textOf(result), WAIT).toContain('Uplink test passed');
    await page.evaluate(() => window.scrollTo(0, 0));
    await shot(page, 'desktop-04-payload-processing');
    await result.scrollIntoViewIfNeeded();
    await shot(page, 'desktop-04b-payload-test');
    await expectAccessible(page, 'desktop profile: Payload processing with a test result');
  });

  it('saves the profile', async () => {
    await page.getByRole('button', { name: 'Save' }).click();
    await page.getByText('Saved.').waitFor(WAIT);
    const stored = (await plugin.request('GET', `/api/profiles/${APP}`)).body;
    expect(stored.formatter.script.replace(/\s+/g, '')).toBe(SCRIPT.replace(/\s+/g, ''));
    expect(stored.uplink).toMatchObject({ device_id_prefix: 'gh-', connection_timeout_min: 15 });
    expect(stored.downlink.priority).toBe('NORMAL');
  });

  it('shows the webhook settings, downloads the template and rotates the token', async () => {
    await page.getByRole('tab', { name: 'Webhook settings' }).click();
    await page.getByText('https://bridge.example.com/tts/webhook', { exact: true }).waitFor(WAIT);
    const token = await plugin.webhookToken(APP);
    expect(await page.content()).not.toContain(token);
    await page.getByRole('button', { name: 'Show', exact: true }).click();
    await page.getByText(`Bearer ${token}`).first().waitFor();

    await browser.context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: plugin.url });
    await page.getByRole('button', { name: 'Copy Authorization header value' }).click();
    await expect.poll(() => page.evaluate(() => navigator.clipboard.readText()), WAIT).toBe(`Bearer ${token}`);

    const download = page.waitForEvent('download');
    await page.getByRole('button', { name: 'Download template' }).click();
    const file = await download;
    expect(file.suggestedFilename()).toBe(`lorawan-bridge-${APP}.yml`);
    const yaml = readFileSync(await file.path(), 'utf8');
    expect(yaml).toContain('base-url: "https://bridge.example.com/tts/webhook"');
    expect(yaml).toContain(token);
    await page.evaluate(() => window.scrollTo(0, 0));
    await shot(page, 'desktop-05-webhook-settings');
    await expectAccessible(page, 'desktop profile: Webhook settings');

    await page.getByRole('button', { name: 'Rotate token' }).click();
    await page.getByRole('button', { name: 'Rotate now' }).click();
    await page.getByText('New token active').waitFor(WAIT);
    const rotated = await plugin.webhookToken(APP);
    expect(rotated).not.toBe(token);
    await page.getByText(`Bearer ${rotated}`).first().waitFor();
  });

  it('shows a new device, its plot and table live after webhooks, without reload', async () => {
    await page.getByRole('link', { name: 'Devices' }).click();
    await page.getByText('No devices yet').waitFor(WAIT);
    await page.getByText('Live', { exact: true }).waitFor(WAIT);
    await mark(page);

    expect((await postUplink(uplink(100, 21.4, 52, 60))).status).toBe('stored');
    const link = page.getByRole('link', { name: DEVICE });
    await link.waitFor(WAIT);
    expect(await marked(page)).toBe(true);
    // The row names the device's network and its TTS device id (its id is the DevEUI with the prefix).
    const row = page.getByRole('row').filter({ has: link });
    expect(await textOf(row.locator('.badge-network'))).toBe('TTS');
    expect(await textOf(row)).toContain(TTS_DEVICE);
    for (const [i, [t, h]] of [[21.9, 51], [22.6, 49.5], [23.1, 48], [22.8, 47.2], [22.2, 48.8]].entries()) {
      await postUplink(uplink(101 + i, t, h, 50 - i * 10));
    }
    await shot(page, 'desktop-06-devices');
    await expectAccessible(page, 'desktop devices');

    await link.click();
    await page.getByRole('img', { name: 'Plot of temperature over time' }).locator('canvas').waitFor(WAIT);
    const ids = page.getByRole('region', { name: 'Identifiers' });
    expect(await textOf(ids)).toContain('NetworkThe Things Stack');
    expect(await textOf(ids)).toContain(`TTS device ID${TTS_DEVICE}`);
    expect(await textOf(ids)).toContain('DevEUI70B3D57ED0051A2B');
    expect(await page.getByRole('img', { name: /^Plot of / }).count()).toBe(4);
    const rows = page.getByRole('region', { name: 'Latest rows' }).locator('tbody tr');
    await expect.poll(() => rows.count(), WAIT).toBe(6);

    await page.getByText('Live', { exact: true }).waitFor(WAIT);
    await postUplink(uplink(106, 21.7, 50.1, 0));
    await expect.poll(() => rows.count(), WAIT).toBe(7);
    expect(await textOf(rows.first())).toContain('21.7');
    expect(await marked(page)).toBe(true);
  });

  it('sends a downlink that reaches TTS and follows its status', async () => {
    await page.getByRole('textbox', { name: 'Downlink data' }).fill(DOWNLINK);
    await page.getByRole('button', { name: 'Send downlink' }).click();
    await expect.poll(() => tts.requests.length, WAIT).toBe(1);
    const pushed = tts.requests[0];
    expect(pushed.path).toBe(`/api/v3/as/applications/${APP}/webhooks/bridge/devices/${TTS_DEVICE}/down/push`);
    const sent = (pushed.body as { downlinks: { frm_payload: string; correlation_ids: string[] }[] }).downlinks[0];
    expect(sent.frm_payload).toBe(DOWNLINK_BASE64);

    const history = page.getByRole('list', { name: 'Downlinks' });
    await expect.poll(() => textOf(history), WAIT).toContain('PENDING');

    // TTS reports the downlink as sent: the history turns DELIVERED live.
    const report = fixture('tts/downlink_sent.json');
    report.correlation_ids = sent.correlation_ids;
    (report.downlink_sent as Record<string, unknown>).correlation_ids = sent.correlation_ids;
    (report.downlink_sent as Record<string, unknown>).confirmed = false;
    expect((await plugin.webhook(report)).status).toBe(200);
    await expect.poll(() => textOf(history), WAIT).toContain('DELIVERED');
    await history.getByRole('button').first().click();
    await history.getByText('Sent to TTS').waitFor();
    expect(await textOf(history)).toContain(`"frm_payload": "${DOWNLINK_BASE64}"`);
    expect(await marked(page)).toBe(true);
    await page.evaluate(() => window.scrollTo(0, 0));
    await shot(page, 'desktop-07-device');
    await page.getByRole('button', { name: 'Send downlink' }).scrollIntoViewIfNeeded();
    await shot(page, 'desktop-07b-device-downlink');
    await expectAccessible(page, 'desktop device with downlink history');
  });

  it('streams live events with filters, pause/resume and a detail view', async () => {
    await page.getByRole('link', { name: 'Live events' }).click();
    const list = page.getByRole('list', { name: 'Events' });
    await list.getByText('Uplink stored').first().waitFor(WAIT);
    await page.getByText('Live', { exact: true }).waitFor(WAIT);
    const stored = list.getByRole('button').filter({ hasText: 'Uplink stored' });
    const before = await stored.count();

    await postUplink(uplink(107, 22.9, 49, 0));
    await expect.poll(() => stored.count(), WAIT).toBe(before + 1);
    expect(await textOf(list.getByRole('button').first())).toContain('Uplink stored');

    await page.getByLabel('Category').selectOption('downlink');
    await expect.poll(async () => (await list.locator('.event-category').allTextContents()).every((c) => c === 'downlink'), WAIT).toBe(true);
    expect(await list.getByRole('button').count()).toBeGreaterThan(0);
    await page.getByLabel('Category').selectOption('');
    await page.getByLabel('Severity').selectOption('info');
    // The stream reconnects with the new filters; wait until it is open before posting.
    const filtered = page.waitForResponse((r) => r.url().includes('/api/events/stream?') && r.url().includes('severity=info') && r.url().includes(`device_id=${DEVICE}`));
    await page.getByLabel('Device').fill(DEVICE);
    await filtered;
    await expect.poll(() => stored.count(), WAIT).toBe(before + 1);

    await page.getByRole('button', { name: 'Pause' }).click();
    await postUplink(uplink(108, 23.3, 48.5, 0));
    await page.getByText('Paused · 1 new').waitFor(WAIT);
    expect(await stored.count()).toBe(before + 1);
    await page.getByRole('button', { name: 'Resume' }).click();
    await expect.poll(() => stored.count(), WAIT).toBe(before + 2);

    await stored.first().click();
    const detail = page.getByRole('complementary', { name: 'Event detail' });
    await detail.waitFor();
    expect(await textOf(detail)).toContain('"temperature": 23.3');
    expect(await marked(page)).toBe(true);
    await shot(page, 'desktop-08-events');
    await expectAccessible(page, 'desktop live events with detail');
  });

  it('lists dead letters and shows why a replay fails', async () => {
    const bad = await postUplink(uplink(109, 0, 0, 0, 'AQ=='));
    expect(bad.status).toBe('dead_letter');
    await page.getByRole('link', { name: 'Dead letters' }).click();
    const letter = page.locator('.letter').filter({ hasText: `#${bad.dead_letter_id} ·` });
    await letter.waitFor(WAIT);
    expect(await textOf(letter)).toContain('formatter error');
    consoleWatch.expect(/status of 422/);
    await letter.getByRole('button', { name: `Replay dead letter ${bad.dead_letter_id}` }).click();
    await letter.getByRole('alert').filter({ hasText: 'Replay failed' }).waitFor(WAIT);
    await letter.getByRole('button', { name: 'Show body' }).click();
    await letter.getByText('Webhook body').waitFor();
    await shot(page, 'desktop-09-dead-letters');
    await expectAccessible(page, 'desktop dead letters');
  });

  it('fits a 390 px phone screen on every screen', async () => {
    const phone = await browser.context.newPage();
    consoleWatch.watch(phone);
    await phone.setViewportSize({ width: 390, height: 844 });
    await phone.goto(`${plugin.url}/`);
    await phone.getByLabel('Admin token').waitFor();
    await expectAccessible(phone, 'phone sign-in');
    await signIn(phone, ADMIN_TOKEN);
    await phone.getByRole('combobox', { name: 'Application' }).waitFor();

    const screens: [string, string, () => Promise<void>][] = [
      ['phone-01-profile-uplink', `#/profiles/${APP}/uplink`, () => phone.getByLabel('Device ID prefix').waitFor()],
      ['phone-02-payload-processing', `#/profiles/${APP}/payload`, async () => {
        await phone.getByRole('textbox', { name: 'Formatter script' }).waitFor();
        await phone.getByRole('button', { name: 'Run uplink test' }).click();
        await expect.poll(() => textOf(phone.getByRole('region', { name: 'Test result' })), WAIT).toContain('Uplink test passed');
        await phone.getByRole('region', { name: 'Test result' }).scrollIntoViewIfNeeded();
      }],
      ['phone-03-webhook-settings', `#/profiles/${APP}/webhook`, () => phone.getByText('Connect The Things Stack').waitFor()],
      ['phone-04-devices', '#/devices', () => phone.getByRole('link', { name: DEVICE }).waitFor()],
      ['phone-05-device', `#/devices/${DEVICE}`, () => phone.getByRole('img', { name: 'Plot of temperature over time' }).locator('canvas').waitFor()],
      ['phone-06-events', '#/events', async () => {
        await phone.getByRole('list', { name: 'Events' }).getByRole('button').first().click();
        await phone.getByRole('complementary', { name: 'Event detail' }).waitFor();
      }],
      ['phone-07-dead-letters', '#/dead-letters', () => phone.locator('.letter').first().waitFor()],
    ];
    for (const [name, hash, ready] of screens) {
      await phone.evaluate((h) => (location.hash = h), hash);
      await ready();
      const overflow = await phone.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
      expect(overflow, `${name} overflows horizontally by ${overflow}px`).toBeLessThanOrEqual(0);
      await shot(phone, name);
      await expectAccessible(phone, name);
    }

    // A token the plugin no longer accepts leads back to sign-in.
    consoleWatch.expect(/status of 401/);
    await phone.evaluate(() => sessionStorage.setItem(sessionStorage.key(0) ?? '', 'no-longer-valid-token'));
    await phone.reload();
    await phone.getByText('did not accept the token').waitFor(WAIT);
    await phone.getByLabel('Admin token').waitFor();
    await phone.close();
  });

  it('logged no console errors in the browser', () => {
    expect(consoleWatch.unexpected).toEqual([]);
  });
});
