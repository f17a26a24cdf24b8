import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { expectAccessible } from './helpers/axe.js';
import { launchChromium } from './helpers/chromium.js';

/** The accessibility gate itself: it passes a clean page and names what fails on a bad one. */
describe('expectAccessible (axe-core in Chromium)', () => {
  let browser: Awaited<ReturnType<typeof launchChromium>>;
  let page: Page;

  beforeAll(async () => {
    browser = await launchChromium({ width: 800, height: 600 });
    page = browser.context.pages()[0] ?? (await browser.context.newPage());
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
  });

  it('passes a page that meets WCAG 2.1 AA', async () => {
    await page.setContent('<html lang="en"><head><title>ok</title></head><body><main><h1>Fine</h1><p style="color:#5b6677">Readable hint</p><button>Go</button></main></body></html>');
    await expectAccessible(page, 'clean page');
  });

  it('fails on serious violations, naming the rule, its impact and the element', async () => {
    await page.setContent(
      '<html lang="en"><head><title>bad</title></head><body><main><p class="pale" style="color:#c8ccd2">Too pale</p><button class="nameless"></button></main></body></html>',
    );
    const error = await expectAccessible(page, 'bad page').then(
      () => null,
      (e: unknown) => e as Error,
    );
    expect(error?.message).toMatch(/^bad page: 2 accessibility violation/);
    expect(error?.message).toMatch(/- color-contrast \[serious\]/);
    expect(error?.message).toMatch(/- button-name \[critical\]/);
    expect(error?.message).toContain('<p class="pale"');
    expect(error?.message).toContain('<button class="nameless">');
  });
});
