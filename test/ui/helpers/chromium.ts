import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';

/**
 * Debian's Chromium, headless, with nothing running in the background and a fresh profile
 * (Playwright takes the profile dir as launchPersistentContext's argument, not as --user-data-dir).
 * Fails, never skips, when Chromium is missing.
 */
export async function launchChromium(viewport: { width: number; height: number }): Promise<{ context: BrowserContext; close(): Promise<void> }> {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install -y chromium`);
  const profile = mkdtempSync(join(tmpdir(), 'ui-e2e-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    viewport,
    acceptDownloads: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  return {
    context,
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/**
 * Collects console errors and uncaught page errors. A step that provokes an HTTP error on purpose
 * (Chromium logs "Failed to load resource: ... status of 400") declares it with `expect()`.
 */
export class ConsoleWatch {
  readonly unexpected: string[] = [];
  private readonly allowed: RegExp[] = [];

  watch(page: Page): void {
    page.on('console', (msg) => {
      if (msg.type() !== 'error') return;
      const text = `${msg.text()} (${msg.location().url})`;
      const i = this.allowed.findIndex((re) => re.test(text));
      if (i >= 0) this.allowed.splice(i, 1);
      else this.unexpected.push(text);
    });
    page.on('pageerror', (err) => this.unexpected.push(`uncaught: ${err.message}`));
  }

  /** Allows one console error matching `re` (consumed when seen). */
  expect(re: RegExp): void {
    this.allowed.push(re);
  }
}

/** Signs in on the page's sign-in screen with the admin token (the screen a fresh tab shows). */
export async function signIn(page: Page, token: string): Promise<void> {
  await page.getByLabel('Admin token').fill(token);
  await page.getByRole('button', { name: 'Sign in' }).click();
}
