import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../plugin/project-files.js';
import { ADMIN_TOKEN, PluginHarness } from '../helpers/plugin-harness.js';
import { uplinkBody } from '../helpers/tts-bodies.js';
import { ensureUiBuilt } from './helpers/build-ui.js';
import { expectAccessible } from './helpers/axe.js';
import { ConsoleWatch, launchChromium, signIn } from './helpers/chromium.js';

/**
 * The formatter workflow on the Payload processing tab and the dead letters screen, in Chromium
 * against the real plugin: versions (note, diff, restore), a draft over the recent uplinks, a
 * Device Repository codec against its examples, dead letters opened in the editor and replayed
 * after a fix, and a device chart of a single row. Screenshots: test/artifacts/ui/workflow-*.png.
 */

const ARTIFACTS = join(PROJECT_ROOT, 'test', 'artifacts', 'ui');
const WAIT = { timeout: 10_000 };
const APP = 'greenhouse-app';
/** Its formatter throws on negative readings; fixed on the Payload processing tab. */
const ORCHARD = 'orchard-app';
/** No profile of its own: Default runs it. */
const MEADOW = 'meadow-app';

/** Temperature in 0.01 °C (int16), humidity in 0.5 %: the scale is what a user changes. */
const script = (scale: number, extra = '') => `module.exports.uplink = function (payload) {
  const b = Buffer.from(payload, 'base64');${extra}
  return { temperature: b.readInt16BE(0) / ${scale} };
};
`;
const V1 = script(100);
const V2 = `module.exports.uplink = function (payload) {
  const b = Buffer.from(payload, 'base64');
  return { temperature: b.readInt16BE(0) / 100, humidity: b[2] / 2 };
};
`;
const BROKEN = script(100, `\n  if (b[0] >= 0x80) throw new Error('negative readings are not supported');`);
const CLIMATE = readFileSync(join(PROJECT_ROOT, 'test', 'sandbox', 'codecs', 'climate-es5.js'), 'utf8');
/** Two examples of the climate codec; the second expects 23.5 °C where the bytes say 23.1. */
const CLIMATE_YAML = `uplinkDecoder:
  fileName: climate-es5.js
  examples:
    - description: Frost and a low battery
      input:
        fPort: 1
        bytes: [0xFF, 0x38, 0x64, 0x27, 0x10, 0x0B, 0x54]
      output:
        data: { temperature: -20, humidity: 50, pressure: 1000, battery_mv: 2900, battery: 13, sensor: CS-200 }
        warnings: [low battery]
    - description: Temperature, humidity, pressure and battery
      input:
        fPort: 1
        bytes: [0x00, 0xE7, 0x50, 0x27, 0x8C, 0x0E, 0x74]
      output:
        data: { temperature: 23.5, humidity: 40, pressure: 1012.4, battery_mv: 3700, battery: 100, sensor: CS-200 }
`;
/** Readings as int16 in 0.01 °C, then a humidity byte. */
const bytesOf = (celsius: number) => {
  const t = Math.round(celsius * 100) & 0xffff;
  return [t >> 8, t & 0xff, 80];
};
const noSpace = (s: string) => s.replace(/\s+/g, '');

describe('web UI: the formatter workflow (Chromium, real plugin)', () => {
  let plugin: PluginHarness;
  let browser: Awaited<ReturnType<typeof launchChromium>>;
  let page: Page;
  const consoleWatch = new ConsoleWatch();
  let fCnt = 0;

  const shot = (p: Page, name: string) => p.screenshot({ path: join(ARTIFACTS, `workflow-${name}.png`) });
  const textOf = async (l: Locator) => (await l.textContent()) ?? '';
  /** Scrolls what the next screenshot is about to the middle of the viewport. */
  const centre = (l: Locator) => l.evaluate((el) => el.scrollIntoView({ block: 'center' }));
  const open = (p: Page, hash: string) => p.evaluate((h) => (location.hash = h), hash);
  const editor = (p: Page) => p.getByRole('textbox', { name: 'Formatter script' });
  const send = async (app: string, devEui: string, celsius: number, minutesAgo = 1) => {
    const receivedAt = new Date(Date.now() - minutesAgo * 60_000).toISOString();
    const res = await plugin.webhook(uplinkBody({ appId: app, deviceId: `dev-${devEui.slice(-4).toLowerCase()}`, devEui, fCnt: ++fCnt, bytes: bytesOf(celsius), receivedAt }));
    expect(res.status, res.text).toBe(200);
    return res.body as { status: string; dead_letter_id?: number };
  };
  const save = async (p: Page) => {
    await p.getByRole('button', { name: 'Save', exact: true }).click();
    await p.getByText('Saved.').waitFor(WAIT);
  };
  const profileScript = async (app: string) => (await plugin.request('GET', `/api/profiles/${app}`)).body.formatter.script as string;

  beforeAll(async () => {
    ensureUiBuilt();
    mkdirSync(ARTIFACTS, { recursive: true });
    plugin = await new PluginHarness().start();
    const put = await plugin.request('PUT', `/api/profiles/${APP}`, { body: { formatter: { type: 'javascript', script: V1 } } });
    expect(put.status, put.text).toBe(201);
    browser = await launchChromium({ width: 1280, height: 900 });
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

  it('(a) saves a version with a note, diffs version 1 against the editor and restores it', async () => {
    await open(page, `#/profiles/${APP}/payload`);
    const versions = page.getByRole('list', { name: 'Formatter versions' });
    await expect.poll(() => textOf(versions), WAIT).toContain('Version 1');
    expect(await versions.locator('.version').count()).toBe(1);

    await editor(page).fill(V2);
    await page.getByLabel('Version note').fill('adds humidity');
    await centre(page.getByLabel('Version note'));
    await shot(page, 'version-note');
    await save(page);
    expect(noSpace(await profileScript(APP))).toBe(noSpace(V2));
    await expect.poll(() => versions.locator('.version').count(), WAIT).toBe(2);
    const newest = versions.locator('.version').first();
    expect(await textOf(newest)).toContain('Version 2');
    expect(await textOf(newest)).toContain('current');
    expect(await textOf(newest)).toContain('adds humidity');
    // The note field is there only while the formatter has unsaved changes.
    expect(await page.getByLabel('Version note').count()).toBe(0);

    // A note can be added to a version later.
    await versions.getByRole('button', { name: 'Edit note of version 1' }).click();
    await versions.getByLabel('Note of version 1').fill('first cut');
    await versions.getByRole('button', { name: 'Set note' }).click();
    await expect.poll(() => textOf(versions.locator('.version').nth(1)), WAIT).toContain('first cut');

    await versions.getByRole('button', { name: 'Compare version 1 with the editor' }).click();
    const diff = page.getByRole('region', { name: 'Version 1 against the editor' });
    await diff.waitFor(WAIT);
    expect(await diff.locator('del').allTextContents()).toEqual([expect.stringContaining('return { temperature: b.readInt16BE(0) / 100 };')]);
    expect(await diff.locator('ins').allTextContents()).toEqual([expect.stringContaining('humidity: b[2] / 2')]);
    expect(await textOf(page.locator('.diff-summary'))).toBe('1 line removed, 1 line added');
    await centre(versions.locator('.version').nth(1));
    await shot(page, 'versions-diff');
    await expectAccessible(page, 'desktop versions with a diff');

    await versions.getByRole('button', { name: 'Restore version 1' }).click();
    const dialog = page.getByRole('dialog', { name: 'Restore version 1?' });
    await dialog.waitFor(WAIT);
    expect(await textOf(dialog)).toContain('is saved as version 3');
    // Focus is in the dialog, on its confirm button.
    expect(await page.evaluate(() => document.activeElement?.textContent)).toBe('Restore');
    await shot(page, 'restore-dialog');
    await expectAccessible(page, 'desktop restore dialog');
    await dialog.getByRole('button', { name: 'Restore' }).click();
    await dialog.waitFor({ state: 'detached', ...WAIT });

    await expect.poll(async () => noSpace(await textOf(editor(page))), WAIT).toBe(noSpace(V1));
    await expect.poll(() => versions.locator('.version').count(), WAIT).toBe(3);
    const restored = versions.locator('.version').first();
    expect(await textOf(restored)).toContain('Version 3');
    expect(await textOf(restored)).toContain('current');
    expect(await textOf(restored)).toContain('restored version 1');
    expect(await page.getByRole('status').filter({ hasText: 'Version 1 restored as version 3' }).count()).toBe(1);
    expect(noSpace(await profileScript(APP))).toBe(noSpace(V1));
    // Nothing unsaved: the restore is saved, and the editor shows it.
    expect(await textOf(page.locator('.save-status'))).not.toContain('Unsaved');
  }, 90_000);

  it('(b) runs a changed scale over the recent uplinks: counts, stored beside new, the difference marked', async () => {
    const panel = page.getByRole('region', { name: 'Run on recent uplinks' });
    const run = page.getByRole('button', { name: 'Run on recent uplinks' });
    await run.click();
    await expect.poll(() => textOf(panel), WAIT).toContain(`${APP} has no recent uplinks yet`);

    for (const [i, celsius] of [21.5, 22.25, 23.45].entries()) expect((await send(APP, 'A0000000000000A1', celsius, 30 - i * 10)).status).toBe('stored');
    await editor(page).fill(script(10));
    await run.click();
    const counts = panel.getByRole('status');
    await expect.poll(() => textOf(counts), WAIT).toContain('3 changed');
    expect(await textOf(counts)).toContain('0 same');
    expect(await textOf(counts)).toContain('of 3 uplinks');
    const runs = panel.getByRole('list', { name: 'Recent uplinks' }).locator(':scope > li');
    expect(await runs.count()).toBe(3);
    // Newest first: 23.45 °C stored, 234.5 from the draft, marked on both sides and listed.
    const newest = runs.first();
    expect(await textOf(newest)).toContain('changed');
    expect(await textOf(newest)).toContain('Stored (version 3)');
    expect(await newest.locator('.comparison-side').first().locator('mark').allTextContents()).toEqual(['"temperature": 23.45']);
    expect(await newest.locator('.comparison-side').nth(1).locator('mark').allTextContents()).toEqual(['"temperature": 234.5']);
    expect(await textOf(newest.locator('.differences'))).toBe('/temperature stored 23.45, new 234.5');

    await panel.getByRole('button', { name: 'Same (0)' }).click();
    await panel.getByText('No same uplinks.').waitFor(WAIT);
    await panel.getByRole('button', { name: 'Changed (3)' }).click();
    expect(await runs.count()).toBe(3);
    await centre(panel.getByRole('status'));
    await shot(page, 'recent-uplinks');
    await expectAccessible(page, 'desktop run on recent uplinks');

    // A draft that fails: its error has a line that moves the editor's cursor there.
    await editor(page).fill(script(100, "\n  if (b[1] > 0) throw new Error('odd byte');"));
    await run.click();
    await expect.poll(() => textOf(counts), WAIT).toContain('3 failed');
    await runs.first().getByRole('button', { name: /^line 3/ }).click();
    expect(await page.evaluate(() => document.activeElement?.closest('.cm-editor') !== null)).toBe(true);
    // Nothing was stored by the runs.
    expect((await plugin.request('GET', `/api/dead-letters?app_id=${APP}`)).body.items).toEqual([]);
  }, 90_000);

  it('(c) runs a Device Repository codec against its YAML: the wrong example fails, expected beside actual', async () => {
    await editor(page).fill(CLIMATE);
    const yaml = page.getByRole('textbox', { name: 'Codec YAML' });
    const panel = page.getByRole('region', { name: 'Codec from the Device Repository' });

    // A misspelt key is refused with where it is.
    await yaml.fill('uplinkDecoder:\n  examples:\n    - input: { fPort: 1, bytes: [1] }\n      ouput: { data: {} }\n');
    consoleWatch.expect(/status of 400/);
    await panel.getByRole('button', { name: 'Run examples' }).click();
    const refusal = panel.getByRole('alert');
    await expect.poll(() => textOf(refusal), WAIT).toContain('The codec YAML was refused (at uplinkDecoder.examples[0].ouput)');
    await centre(refusal);
    await shot(page, 'codec-refused');

    await yaml.fill(CLIMATE_YAML);
    await panel.getByRole('button', { name: 'Run examples' }).click();
    const counts = panel.getByRole('status');
    await expect.poll(() => textOf(counts), WAIT).toContain('1 failed');
    expect(await textOf(counts)).toContain('1 passed');
    const examples = panel.getByRole('list', { name: 'Codec examples' }).locator(':scope > li');
    // Failures first.
    const failing = examples.first();
    expect(await textOf(failing)).toContain('failed');
    expect(await textOf(failing)).toContain('Uplink decoder example 2');
    expect(await textOf(failing)).toContain('Temperature, humidity, pressure and battery');
    expect(await failing.getByRole('region', { name: /Expected \(YAML\)$/ }).locator('mark').allTextContents()).toEqual(['"temperature": 23.5']);
    expect(await failing.getByRole('region', { name: /Actual \(script\)$/ }).locator('mark').allTextContents()).toEqual(['"temperature": 23.1']);
    expect(await textOf(failing.locator('.differences'))).toBe('/data/temperature expected 23.5, actual 23.1');
    expect(await textOf(examples.nth(1))).toContain('passed');
    await centre(failing);
    await shot(page, 'codec-examples');
    await expectAccessible(page, 'desktop codec examples');
  }, 90_000);

  it('(d) opens a dead letter in the editor, fixes the formatter and replays all of the application', async () => {
    const put = await plugin.request('PUT', `/api/profiles/${ORCHARD}`, { body: { formatter: { type: 'javascript', script: BROKEN } } });
    expect(put.status).toBe(201);
    expect((await send(ORCHARD, 'B0000000000000B1', 12.5, 40)).status).toBe('stored');
    const first = await send(ORCHARD, 'B0000000000000B1', -3.5, 30);
    const second = await send(ORCHARD, 'B0000000000000B1', -8, 20);
    expect([first.status, second.status]).toEqual(['dead_letter', 'dead_letter']);

    await page.getByRole('link', { name: 'Dead letters' }).click();
    await page.getByLabel('Application').selectOption(ORCHARD);
    await expect.poll(() => page.evaluate(() => location.hash), WAIT).toBe(`#/dead-letters?app_id=${ORCHARD}`);
    const letter = page.locator('.letter').filter({ hasText: `#${second.dead_letter_id} ·` });
    await letter.waitFor(WAIT);
    expect(await textOf(letter)).toContain('formatter version 1');
    expect(await textOf(page.locator('.letters-replay'))).toContain('2 waiting');
    await shot(page, 'dead-letters-app');
    await expectAccessible(page, 'desktop dead letters of one application');

    await letter.getByRole('link', { name: `Open in editor: dead letter ${second.dead_letter_id}` }).click();
    await expect.poll(() => page.evaluate(() => location.hash), WAIT).toBe(`#/profiles/${ORCHARD}/payload?dead_letter=${second.dead_letter_id}`);
    const note = page.locator('.dead-letter-note');
    await expect.poll(() => textOf(note), WAIT).toContain(`The test input is dead letter #${second.dead_letter_id}`);
    expect(await textOf(note)).toContain('Formatter version 1 failed on it (the version saved now): runtime error: Error: negative readings are not supported');
    const input = page.getByRole('textbox', { name: 'Test input' });
    const frmPayload = Buffer.from(bytesOf(-8)).toString('base64');
    await expect.poll(() => textOf(input), WAIT).toContain(frmPayload);
    const result = page.getByRole('region', { name: 'Test result' });
    await page.getByRole('button', { name: 'Run uplink test' }).click();
    await expect.poll(() => textOf(result), WAIT).toContain('Uplink test failed');
    expect(await textOf(result)).toContain('negative readings are not supported');
    await page.getByRole('heading', { name: 'Dead letters waiting' }).waitFor(WAIT);
    await page.getByRole('heading', { name: 'Test', exact: true }).evaluate((el) => {
      el.scrollIntoView({ block: 'start' });
      window.scrollBy(0, -40);
    });
    await shot(page, 'dead-letter-in-editor');
    await expectAccessible(page, 'desktop payload processing with a dead letter as the test input');

    await editor(page).fill(V1);
    await page.getByRole('button', { name: 'Run uplink test' }).click();
    await expect.poll(() => textOf(result), WAIT).toContain('"temperature": -8');
    await page.getByLabel('Version note').fill('handles negative readings');
    await save(page);
    const pending = page.getByRole('region', { name: 'Dead letters waiting' });
    await pending.getByRole('button', { name: `Replay all dead letters of ${ORCHARD}` }).click();
    await expect.poll(() => textOf(pending.getByRole('status')), WAIT).toBe('2 replayed: 2 stored, 0 failed again.');
    expect(await textOf(pending)).toContain(`0 dead letters of ${ORCHARD}`);
    const rows = (await plugin.request('GET', '/api/buckets/B0000000000000B1/data?order=asc')).body.items.map((r: { data: unknown }) => r.data);
    expect(rows).toEqual([{ temperature: 12.5 }, { temperature: -3.5 }, { temperature: -8 }]);
    await centre(pending);
    await shot(page, 'replayed-all');
    await expectAccessible(page, 'desktop payload processing after replay all');
  }, 90_000);

  it('(d) links a dead letter of an application without a profile to Default, and replays all from the dead letters screen', async () => {
    const put = await plugin.request('PUT', '/api/profiles/default', { body: { formatter: { type: 'javascript', script: BROKEN } } });
    expect(put.status).toBe(200);
    const letter = await send(MEADOW, 'C0000000000000C1', -1, 5);
    expect(letter.status).toBe('dead_letter');

    await open(page, '#/dead-letters');
    const item = page.locator('.letter').filter({ hasText: `#${letter.dead_letter_id} ·` });
    await item.waitFor(WAIT);
    expect(await item.getByRole('link', { name: /^Open in editor/ }).getAttribute('href')).toBe(`#/profiles/default/payload?dead_letter=${letter.dead_letter_id}`);

    // Default's editor finds the letter among all applications' and runs recent uplinks for its application.
    await item.getByRole('link', { name: /^Open in editor/ }).click();
    await expect.poll(() => textOf(page.locator('.dead-letter-note')), WAIT).toContain(`(${MEADOW})`);
    await expect.poll(() => page.locator('#recent-app').inputValue(), WAIT).toBe(MEADOW);
    expect(await textOf(page.getByRole('region', { name: 'Dead letters waiting' }))).toContain(`1 dead letter of ${MEADOW}`);

    expect((await plugin.request('PUT', '/api/profiles/default', { body: { formatter: { type: 'javascript', script: V1 } } })).status).toBe(200);
    await open(page, `#/dead-letters?app_id=${MEADOW}`);
    await page.locator('.letters-replay').getByRole('button', { name: `Replay all dead letters of ${MEADOW}` }).click();
    await expect.poll(() => textOf(page.locator('.letters-replay [role="status"]')), WAIT).toBe('1 replayed: 1 stored, 0 failed again.');
    await expect.poll(() => textOf(item), WAIT).toContain('replayed');
    await shot(page, 'dead-letters-replayed');
  }, 90_000);

  it('(e) draws the chart of a device with a single row on a time axis of its own', async () => {
    expect((await send(APP, 'D0000000000000D1', 19.75, 3)).status).toBe('stored');
    await open(page, '#/devices/D0000000000000D1');
    const plot = page.getByRole('img', { name: 'Plot of temperature over time' });
    await plot.locator('canvas').waitFor(WAIT);
    expect((await plot.boundingBox())?.height).toBeGreaterThan(100);
    // The point is drawn mid-axis (uPlot alone put it at the left edge of a 1000-day axis): where its colour is on the canvas.
    const at = await plot.locator('canvas').evaluate((canvas: HTMLCanvasElement) => {
      const { data, width, height } = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height);
      const xs: number[] = [];
      for (let i = 0; i < width * height; i++) if (data[i * 4] === 59 && data[i * 4 + 1] === 91 && data[i * 4 + 2] === 219) xs.push(i % width);
      return xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length / width : null;
    });
    expect(at).toBeGreaterThan(0.4);
    expect(at).toBeLessThan(0.75);
    await page.evaluate(() => window.scrollTo(0, 0));
    await shot(page, 'single-point-chart');
  }, 60_000);

  it('fits a 390 px phone: versions, recent uplinks, codec examples and dead letters', async () => {
    const phone = await browser.context.newPage();
    consoleWatch.watch(phone);
    await phone.setViewportSize({ width: 390, height: 844 });
    await phone.goto(`${plugin.url}/`);
    await signIn(phone, ADMIN_TOKEN);
    await phone.getByRole('combobox', { name: 'Application' }).waitFor(WAIT);
    const fits = async (name: string) => {
      const overflow = await phone.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
      expect(overflow, `${name} overflows horizontally by ${overflow}px`).toBeLessThanOrEqual(0);
      await shot(phone, name);
      await expectAccessible(phone, name);
    };

    await open(phone, `#/profiles/${APP}/payload`);
    await editor(phone).waitFor(WAIT);
    await editor(phone).fill(script(10));
    await phone.getByRole('button', { name: 'Run on recent uplinks' }).click();
    await expect.poll(() => textOf(phone.getByRole('region', { name: 'Run on recent uplinks' }).getByRole('status')), WAIT).toContain('4 changed');
    await phone.getByRole('list', { name: 'Recent uplinks' }).scrollIntoViewIfNeeded();
    await fits('phone-recent-uplinks');

    await editor(phone).fill(CLIMATE);
    await phone.getByRole('textbox', { name: 'Codec YAML' }).fill(CLIMATE_YAML);
    await phone.getByRole('button', { name: 'Run examples' }).click();
    const examples = phone.getByRole('list', { name: 'Codec examples' });
    await examples.waitFor(WAIT);
    await examples.scrollIntoViewIfNeeded();
    await fits('phone-codec-examples');

    await phone.getByRole('button', { name: 'Compare version 2 with the editor' }).click();
    await phone.getByRole('region', { name: 'Version 2 against the editor' }).scrollIntoViewIfNeeded();
    await fits('phone-versions-diff');
    await phone.getByRole('button', { name: 'Restore version 2' }).click();
    await phone.getByRole('dialog', { name: 'Restore version 2?' }).waitFor(WAIT);
    await fits('phone-restore-dialog');
    await phone.getByRole('dialog').getByRole('button', { name: 'Cancel' }).click();
    await phone.getByRole('dialog').waitFor({ state: 'detached', ...WAIT });

    await open(phone, `#/dead-letters?app_id=${ORCHARD}`);
    await phone.locator('.letter').first().waitFor(WAIT);
    await fits('phone-dead-letters-app');
    await phone.close();
  }, 120_000);

  it('logged no console errors in the browser', () => {
    expect(consoleWatch.unexpected).toEqual([]);
  });
});
