import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CONTENT_SECURITY_POLICY } from '../../plugin/http/security-headers.js';
import { ADMIN_TOKEN, PluginHarness } from '../helpers/plugin-harness.js';
import { uplinkBody } from '../helpers/tts-bodies.js';
import { ensureUiBuilt } from './helpers/build-ui.js';
import { ConsoleWatch, launchChromium, signIn } from './helpers/chromium.js';

/**
 * The UI in Chromium under the plugin's Content-Security-Policy: signing in, the profile editor
 * (CodeMirror, with its lint markers) and a device's plots (uPlot) must work without a single CSP
 * violation, and with their styles applied. A last step injects an inline script, a style attribute
 * and an outside image on purpose, to prove the policy is enforced and the watch would see it.
 */

const APP = 'greenhouse-app';
/** The fixture's DevEUI: the device id under the default (empty) prefix. */
const DEVICE = '70B3D57ED0051A2B';
const WAIT = { timeout: 8000 };
const SCRIPT = `module.exports.uplink = function (payload) {
  const b = Buffer.from(payload, 'base64');
  return { temperature: b.readInt16BE(0) / 100, humidity: b.readUInt16BE(2) / 100 };
};
`;

interface Violation {
  directive: string;
  blocked: string;
  sample: string;
}

declare global {
  interface Window {
    cspViolations: Violation[];
  }
}

describe('web UI under the Content-Security-Policy (Chromium)', () => {
  let plugin: PluginHarness;
  let browser: Awaited<ReturnType<typeof launchChromium>>;
  let page: Page;
  const consoleWatch = new ConsoleWatch();
  const violations = () => page.evaluate(() => window.cspViolations);

  beforeAll(async () => {
    ensureUiBuilt();
    plugin = await new PluginHarness().start();
    expect((await plugin.request('PUT', `/api/profiles/${APP}`, { body: { formatter: { type: 'javascript', script: SCRIPT } } })).status).toBe(201);
    for (let i = 0; i < 6; i++) {
      const bytes = Buffer.alloc(4);
      bytes.writeInt16BE(2100 + i * 37, 0);
      bytes.writeUInt16BE(5200 - i * 80, 2);
      const res = await plugin.webhook(
        uplinkBody({ appId: APP, fCnt: 100 + i, bytes: [...bytes], receivedAt: new Date(Date.now() - (60 - i * 10) * 60_000).toISOString() }),
      );
      expect(res.status).toBe(200);
    }
    browser = await launchChromium({ width: 1280, height: 800 });
    page = browser.context.pages()[0] ?? (await browser.context.newPage());
    // Runs before the page's own scripts in every document (Playwright injects it outside the CSP).
    await page.addInitScript(() => {
      window.cspViolations = [];
      document.addEventListener('securitypolicyviolation', (e) =>
        window.cspViolations.push({ directive: e.effectiveDirective, blocked: e.blockedURI, sample: e.sample }),
      );
    });
    consoleWatch.watch(page);
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await plugin?.destroy();
  });

  it('loads the UI with the policy in force and signs in', async () => {
    const answer = await page.goto(`${plugin.url}/`);
    expect(answer?.status()).toBe(200);
    expect(await answer?.headerValue('content-security-policy')).toBe(CONTENT_SECURITY_POLICY);
    await signIn(page, ADMIN_TOKEN);
    await page.getByRole('combobox', { name: 'Application' }).waitFor(WAIT);
    expect(await violations()).toEqual([]);
  });

  it('opens the profile editor: CodeMirror edits, highlights and lints with its styles applied', async () => {
    await page.goto(`${plugin.url}/#/profiles/${APP}/payload`);
    const editor = page.getByRole('textbox', { name: 'Formatter script' });
    await editor.waitFor(WAIT);
    await expect.poll(() => editor.textContent(), WAIT).toContain('readInt16BE');
    // CodeMirror's base theme (mounted at run time) is what makes the editor a flex column with
    // gutters beside the content; the plugin's own theme colours the gutter.
    const styles = await page.locator('.cm-editor').first().evaluate((el) => {
      const gutters = el.querySelector('.cm-gutters');
      const keyword = el.querySelector('.cm-content span[class]');
      return {
        display: getComputedStyle(el).display,
        gutters: gutters ? getComputedStyle(gutters).display : null,
        keywordColor: keyword ? getComputedStyle(keyword).color : null,
      };
    });
    expect(styles).toMatchObject({ display: 'flex', gutters: 'flex', keywordColor: expect.stringMatching(/^rgb/) });
    expect(styles.keywordColor).not.toBe('rgb(0, 0, 0)');

    await editor.click();
    await page.keyboard.press('Control+End');
    // One insertion: typed key by key at test speed, CodeEditor's deferred setValue(value) effect
    // can overwrite keys typed meanwhile (with or without CSP), which is not what this test is about.
    await page.keyboard.insertText('// edited under CSP');
    await expect.poll(() => editor.textContent(), WAIT).toContain('edited under CSP');

    // Invalid JSON in the test input: the JSON linter marks it (gutter icons are data: SVGs).
    const input = page.getByRole('textbox', { name: 'Test input' });
    await input.fill('{"bytes": [1, 2');
    const marker = page.locator('.cm-lint-marker-error').first();
    await marker.waitFor(WAIT);
    expect(await marker.evaluate((el) => getComputedStyle(el).content)).toMatch(/^url\("data:image\/svg\+xml/);
    await marker.hover();
    await page.locator('.cm-tooltip-lint').first().waitFor(WAIT);
    await input.fill('{"bytes": [1, 2]}');
    await expect.poll(() => page.locator('.cm-lint-marker-error').count(), WAIT).toBe(0);

    expect(await violations()).toEqual([]);
    expect(consoleWatch.unexpected).toEqual([]);
  });

  it('opens a device with its plots: uPlot draws, lays out and follows the cursor', async () => {
    await page.goto(`${plugin.url}/#/devices/${DEVICE}`);
    const plot = page.getByRole('img', { name: 'Plot of temperature over time' });
    await plot.locator('canvas').waitFor(WAIT);
    expect(await page.getByRole('img', { name: /^Plot of / }).count()).toBe(2);
    const over = plot.locator('.u-over');
    // uplot.css (an external stylesheet) positions the overlay; uPlot sizes it through the CSSOM.
    expect(await over.evaluate((el) => [getComputedStyle(el).position, (el as HTMLElement).style.width !== ''])).toEqual(['absolute', true]);
    const box = await over.boundingBox();
    expect(box && box.width > 50 && box.height > 20).toBe(true);
    await page.mouse.move(box!.x + box!.width / 2, box!.y + box!.height / 2);
    await expect.poll(() => plot.locator('.u-cursor-x').evaluate((el) => (el as HTMLElement).style.transform), WAIT).toMatch(/translate/);
    await page.getByText('Live', { exact: true }).waitFor(WAIT);

    expect(await violations()).toEqual([]);
    expect(consoleWatch.unexpected).toEqual([]);
  });

  it('downloads the webhook template and shows live events and dead letters, still without a violation', async () => {
    await page.goto(`${plugin.url}/#/profiles/${APP}/webhook`);
    const download = page.waitForEvent('download');
    await page.getByRole('button', { name: 'Download template' }).click();
    expect((await download).suggestedFilename()).toBe(`lorawan-bridge-${APP}.yml`);

    await page.goto(`${plugin.url}/#/events`);
    await page.getByText('Live', { exact: true }).waitFor(WAIT);
    await page.getByRole('list', { name: 'Events' }).getByRole('button').first().click();
    await page.goto(`${plugin.url}/#/dead-letters`);
    await page.getByRole('heading', { name: 'Dead letters' }).waitFor(WAIT);

    expect(await violations()).toEqual([]);
    expect(consoleWatch.unexpected).toEqual([]);
  });

  it('refuses an injected inline script and outside image (the policy is really enforced)', async () => {
    // Chromium reports each refusal on the console too.
    consoleWatch.expect(/inline script violates .*Content Security Policy directive 'script-src 'self''/);
    consoleWatch.expect(/image 'http:\/\/127\.0\.0\.2:9\/leak\.png' violates .*Content Security Policy directive/);
    const seen = await page.evaluate(async () => {
      const script = document.createElement('script');
      script.textContent = 'window.injectedRan = true';
      document.body.append(script);
      const holder = document.createElement('div');
      holder.innerHTML = '<p id="injected" style="--injected-attr: yes">x</p>';
      document.body.append(holder);
      // An inline <style> element applies (CodeMirror needs that), but what it loads stays in-origin.
      const style = document.createElement('style');
      style.textContent = 'body { --injected-elem: yes; background-image: url(http://127.0.0.2:9/leak.png) }';
      document.head.append(style);
      await new Promise((resolve) => setTimeout(resolve, 200));
      const attr = getComputedStyle(document.getElementById('injected')!).getPropertyValue('--injected-attr');
      const elem = getComputedStyle(document.body).getPropertyValue('--injected-elem');
      holder.remove();
      style.remove();
      return { script: 'injectedRan' in window, attr, elem };
    });
    // Inline styles apply (CodeMirror needs them), but what they load stays in-origin.
    expect(seen).toEqual({ script: false, attr: 'yes', elem: 'yes' });
    await expect
      .poll(() => violations().then((v) => v.map((x) => `${x.directive} ${x.blocked}`).sort()), WAIT)
      .toEqual(['img-src http://127.0.0.2:9/leak.png', 'script-src-elem inline']);
    expect(consoleWatch.unexpected).toEqual([]);
  });
});
