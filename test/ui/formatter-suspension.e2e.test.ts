import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../plugin/project-files.js';
import { ADMIN_TOKEN, PluginHarness } from '../helpers/plugin-harness.js';
import { ECHO_UPLINK, uplinkBody } from '../helpers/tts-bodies.js';
import { ensureUiBuilt } from './helpers/build-ui.js';
import { ConsoleWatch, launchChromium, signIn } from './helpers/chromium.js';

/**
 * A suspended formatter as a person sees it on the profile screen: a warning at the top of Payload
 * processing and a mark in the profile selector, gone once a fixed script is saved. Its own plugin
 * (the breaker suspends after one failure) and browser, apart from ui.e2e.test.ts's walk-through.
 */

const ARTIFACTS = join(PROJECT_ROOT, 'test', 'artifacts', 'ui');
const APP = 'loop-app';
const ORPHAN = 'orphan-app';
const WAIT = { timeout: 8000 };
const LOOP = 'module.exports.uplink = function () { for (;;) {} };';
const looping = { type: 'javascript', script: LOOP, timeout_ms: 20 };

interface Suspension {
  app_id: string;
  suspended_until: string;
  failures: number;
  last_error: { kind: string; message: string };
}

describe('web UI: suspended formatters (Chromium, real plugin)', () => {
  let plugin: PluginHarness;
  let browser: Awaited<ReturnType<typeof launchChromium>>;
  let page: Page;
  const consoleWatch = new ConsoleWatch();

  const shot = (p: Page, name: string) => p.screenshot({ path: join(ARTIFACTS, `${name}.png`) });
  const textOf = async (l: Locator) => (await l.textContent()) ?? '';
  const suspensionsOf = async (appId: string): Promise<Suspension[]> => (await plugin.request('GET', `/api/profiles/${appId}`)).body.formatter_suspensions;
  const uplink = async (appId: string, fCnt: number) => {
    const res = await plugin.webhook(uplinkBody({ appId, devEui: appId === APP ? 'A0A0A0A0A0A0A001' : 'B0B0B0B0B0B0B001', fCnt, bytes: [1, 2] }));
    expect(res.status).toBe(200);
    return res.body as { status: string; dead_letter_id?: number };
  };
  const open = (hash: string) => page.evaluate((h) => (location.hash = h), hash);
  const banner = () => page.getByRole('alert').filter({ hasText: 'suspended until' });
  const optionOf = (appId: string) => page.getByRole('combobox', { name: 'Application' }).locator(`option[value="${appId}"]`);

  beforeAll(async () => {
    ensureUiBuilt();
    mkdirSync(ARTIFACTS, { recursive: true });
    plugin = await new PluginHarness({ formatters: { breaker: { threshold: 1 } } }).start();
    browser = await launchChromium({ width: 1280, height: 800 });
    page = browser.context.pages()[0] ?? (await browser.context.newPage());
    consoleWatch.watch(page);
    await page.goto(`${plugin.url}/`);
    await signIn(page, ADMIN_TOKEN);
    await page.getByRole('combobox', { name: 'Application' }).waitFor(WAIT);
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await plugin?.destroy();
  });

  it('warns on Payload processing while an application formatter is suspended; saving a fixed script lifts it', async () => {
    expect((await plugin.request('PUT', `/api/profiles/${APP}`, { body: { formatter: looping } })).status).toBe(201);

    // The profile screen, opened anew (it loads the profiles), follows formatter events live.
    await page.getByRole('link', { name: 'Devices' }).click();
    await page.getByText('No devices yet').waitFor(WAIT);
    const streaming = page.waitForResponse((r) => r.url().includes('/api/events/stream?') && r.url().includes('category=formatter'));
    await open(`#/profiles/${APP}/payload`);
    await streaming;
    await page.getByRole('textbox', { name: 'Formatter script' }).waitFor(WAIT);
    expect(await banner().count()).toBe(0);
    expect(await textOf(optionOf(APP))).toBe(APP);

    expect((await uplink(APP, 1)).status).toBe('dead_letter');
    const [suspension] = await suspensionsOf(APP);
    expect(await suspensionsOf(APP)).toEqual([
      { app_id: APP, suspended_until: expect.any(String), failures: 1, kills: 0, last_error: { kind: 'timeout', message: expect.stringContaining('time limit of 20 ms') } },
    ]);
    expect(Date.parse(suspension.suspended_until)).toBeGreaterThan(Date.now() + 30_000);
    expect(await suspensionsOf('default')).toEqual([]);

    await banner().waitFor(WAIT);
    const text = await textOf(banner());
    expect(text).toContain(`Formatter of ${APP} suspended until `);
    expect(text).toMatch(/suspended until \d{2}:\d{2}:\d{2} \(in \d+ (second|minute)s?\) after 1 timeout or memory error\./);
    expect(text).toContain(`Last error: ${suspension.last_error.message}.`);
    expect(text).toContain('Saving a new script resumes it.');
    expect(text).toContain('uplinks are kept as dead letters');
    expect(await textOf(optionOf(APP))).toBe(`${APP} (suspended)`);
    expect(await textOf(optionOf('default'))).toBe('Default (all other applications)');
    // Only the Payload processing tab carries the warning.
    await page.getByRole('tab', { name: 'Uplink' }).click();
    await page.getByLabel('Device ID prefix').waitFor();
    expect(await banner().count()).toBe(0);
    await page.getByRole('tab', { name: 'Payload processing' }).click();
    await banner().waitFor(WAIT);
    await page.evaluate(() => window.scrollTo(0, 0));
    await shot(page, 'desktop-10-formatter-suspended');

    const editor = page.getByRole('textbox', { name: 'Formatter script' });
    await editor.fill(ECHO_UPLINK);
    await page.getByRole('button', { name: 'Save' }).click();
    await page.getByText('Saved.').waitFor(WAIT);
    expect(await banner().count()).toBe(0);
    expect(await textOf(optionOf(APP))).toBe(APP);

    const stored = (await plugin.request('GET', `/api/profiles/${APP}`)).body;
    expect(stored.formatter_suspensions).toEqual([]);
    expect(stored.formatter.script.replace(/\s+/g, '')).toBe(ECHO_UPLINK.replace(/\s+/g, ''));
    expect((await uplink(APP, 2)).status).toBe('stored');
  });

  it('lists applications without a profile on Default; creating their profile lifts the suspension', async () => {
    expect((await plugin.request('PUT', '/api/profiles/default', { body: { formatter: looping } })).status).toBe(200);
    expect((await uplink(ORPHAN, 1)).status).toBe('dead_letter');
    // While suspended the formatter does not run: the uplink is kept with reason "suspended".
    const kept = await uplink(ORPHAN, 2);
    expect(kept.status).toBe('dead_letter');
    const [suspension] = await suspensionsOf('default');
    expect(suspension).toMatchObject({ app_id: ORPHAN, failures: 1, last_error: { kind: 'timeout' } });

    await page.getByRole('link', { name: 'Dead letters' }).click();
    const letter = page.locator('.letter').filter({ hasText: `#${kept.dead_letter_id} ·` });
    await letter.waitFor(WAIT);
    expect(await textOf(letter)).toContain('suspended');

    await page.getByRole('link', { name: 'Profiles' }).click();
    await page.getByRole('combobox', { name: 'Application' }).waitFor(WAIT);
    await open('#/profiles/default/payload');
    await banner().waitFor(WAIT);
    const text = await textOf(banner());
    expect(text).toContain(`Formatter of ${ORPHAN} suspended until `);
    expect(text).toContain(`Last error: ${suspension.last_error.message}.`);
    expect(text).toContain('It has no profile of its own and runs the Default formatter.');
    expect(await textOf(optionOf('default'))).toBe('Default (all other applications) (suspended)');
    await page.evaluate(() => window.scrollTo(0, 0));
    await shot(page, 'desktop-11-default-formatter-suspended');

    // A profile of its own resumes it: Default no longer lists it.
    await page.getByRole('button', { name: 'Add application' }).click();
    await page.getByLabel('TTS app ID').fill(ORPHAN);
    await page.getByRole('button', { name: 'Create profile' }).click();
    await expect.poll(() => page.getByRole('combobox', { name: 'Application' }).inputValue(), WAIT).toBe(ORPHAN);
    expect(await suspensionsOf('default')).toEqual([]);
    await page.getByRole('combobox', { name: 'Application' }).selectOption('default');
    await page.getByRole('tab', { name: 'Payload processing' }).click();
    await page.getByRole('textbox', { name: 'Formatter script' }).waitFor(WAIT);
    expect(await banner().count()).toBe(0);
    expect(await textOf(optionOf('default'))).toBe('Default (all other applications)');
  });

  it('logged no console errors in the browser', () => {
    expect(consoleWatch.unexpected).toEqual([]);
  });
});
