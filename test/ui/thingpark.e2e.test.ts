import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../plugin/project-files.js';
import { ADMIN_TOKEN, PluginHarness } from '../helpers/plugin-harness.js';
import { postReport, ThingParkLrc, uplinkReport } from '../helpers/thingpark-peer.js';
import { ensureUiBuilt } from './helpers/build-ui.js';
import { expectAccessible } from './helpers/axe.js';
import { ConsoleWatch, launchChromium, signIn } from './helpers/chromium.js';

/**
 * A ThingPark application set up the way a person does it: added through the form (network,
 * AS ID, tunnel key, LRC downlink URL), the ThingPark settings tab with what to paste into
 * ThingPark, a device its signed reports provision, a downlink to the LRC stand-in, and the key
 * replaced. The tunnel key is write-only: no API answer and no screen ever shows it.
 */

const ARTIFACTS = join(PROJECT_ROOT, 'test', 'artifacts', 'ui');
const APP = 'factory-tp';
const AS_ID = 'TWA_100002167.1111.AS';
/** Entered in upper case; the plugin keeps it in lower case. */
const AS_KEY = '0123456789ABCDEF0123456789ABCDEF';
const NEW_KEY = 'fedcba9876543210fedcba9876543210';
/** The DevEUI of the published sample (test/fixtures/thingpark/DevEUI_uplink.json): the device id under the default (empty) prefix. */
const DEVICE = '20635F0108000496';
const DEV_ADDR = '05AE3D2F';
const SETUP_URL = `https://bridge.example.com/thingpark/${APP}`;
const WAIT = { timeout: 8000 };
const SCRIPT = `module.exports.uplink = function (payload) {
  const b = Buffer.from(payload, 'base64');
  return { level: b[0], count: b.length };
};
module.exports.downlink = function (payload) {
  return Buffer.from([payload.level]).toString('base64');
};
`;

describe('web UI: a ThingPark application (Chromium, real plugin, LRC stand-in)', () => {
  let plugin: PluginHarness;
  let lrc: ThingParkLrc;
  let browser: Awaited<ReturnType<typeof launchChromium>>;
  let page: Page;
  const consoleWatch = new ConsoleWatch();
  /** Every profile PUT the page sent, as sent. */
  const puts: Record<string, unknown>[] = [];
  /** The text of every API answer the page read (the event stream aside: it never ends). */
  const answers: Promise<string>[] = [];

  const shot = (p: Page, name: string) => p.screenshot({ path: join(ARTIFACTS, `${name}.png`) });
  const textOf = async (l: Locator) => (await l.textContent()) ?? '';
  const open = (hash: string) => page.evaluate((h) => (location.hash = h), hash);
  const storedKey = async () => (await plugin.store.getProfile(APP))?.settings.thingpark?.as_key;
  const holdsNoKey = (text: string) => {
    for (const key of [AS_KEY, NEW_KEY]) {
      expect(text).not.toContain(key.toLowerCase());
      expect(text).not.toContain(key.toUpperCase());
    }
  };

  beforeAll(async () => {
    ensureUiBuilt();
    mkdirSync(ARTIFACTS, { recursive: true });
    plugin = await new PluginHarness().start();
    lrc = await new ThingParkLrc(AS_KEY).start();
    browser = await launchChromium({ width: 1280, height: 800 });
    page = browser.context.pages()[0] ?? (await browser.context.newPage());
    consoleWatch.watch(page);
    page.on('request', (r) => {
      if (r.method() === 'PUT' && new URL(r.url()).pathname === `/api/profiles/${APP}`) puts.push(r.postDataJSON() as Record<string, unknown>);
    });
    page.on('response', (r) => {
      const path = new URL(r.url()).pathname;
      if (path.startsWith('/api/') && path !== '/api/events/stream') answers.push(r.text().catch(() => ''));
    });
    await page.goto(`${plugin.url}/`);
    await signIn(page, ADMIN_TOKEN);
    await page.getByRole('combobox', { name: 'Application' }).waitFor(WAIT);
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await plugin?.destroy();
    await lrc?.stop();
  });

  it('adds a ThingPark application through the form: the PUT carries the network and the key, no GET shows the key', async () => {
    await page.getByRole('button', { name: 'Add application' }).click();
    const form = page.getByRole('form', { name: 'Add application' });
    expect(await form.getByRole('radio', { name: 'The Things Stack' }).isChecked()).toBe(true);
    expect(await form.getByLabel('AS ID').count()).toBe(0);
    await form.getByRole('radio', { name: 'ThingPark' }).check();

    await form.getByLabel('Connection name').fill(APP);
    await form.getByLabel('AS ID').fill(AS_ID);
    const key = form.getByLabel('Tunnel key (AS key)');
    expect(await key.getAttribute('type')).toBe('password');
    expect(await key.getAttribute('autocomplete')).toBe('new-password');
    await form.getByLabel('LRC downlink URL').fill(lrc.downlinkUrl);
    const skew = form.getByLabel('Max clock skew (seconds)');
    expect(await skew.inputValue()).toBe('60');

    // A key that is not 32 hex characters is refused before anything is sent.
    await key.fill('not-a-key');
    await form.getByRole('button', { name: 'Create profile' }).click();
    await form.getByText('must be 32 hex characters').waitFor(WAIT);
    expect(puts).toEqual([]);

    // What a paste brings along (spaces, a trailing blank) goes.
    await key.fill(`${AS_KEY.slice(0, 16)} ${AS_KEY.slice(16)} `);
    expect(await key.inputValue()).toBe(AS_KEY);
    await page.evaluate(() => window.scrollTo(0, 0));
    await shot(page, 'desktop-12-add-thingpark');
    await expectAccessible(page, 'desktop add application (ThingPark)');
    await form.getByRole('button', { name: 'Create profile' }).click();

    await expect.poll(() => page.getByRole('combobox', { name: 'Application' }).inputValue(), WAIT).toBe(APP);
    expect(puts).toEqual([{ network: 'thingpark', thingpark: { as_id: AS_ID, as_key: AS_KEY, downlink_url: lrc.downlinkUrl, max_clock_skew_s: 60 } }]);
    expect(await storedKey()).toBe(AS_KEY.toLowerCase());

    const got = await plugin.request('GET', `/api/profiles/${APP}`);
    expect(got.status).toBe(200);
    expect(got.body.network).toBe('thingpark');
    expect(got.body.thingpark).toEqual({ as_id: AS_ID, downlink_url: lrc.downlinkUrl, max_clock_skew_s: 60, as_key_set: true });
    holdsNoKey(got.text);
    holdsNoKey((await plugin.request('GET', '/api/profiles')).text);
    holdsNoKey((await plugin.request('GET', `/api/profiles/${APP}/webhook`)).text);
  });

  it('opens the ThingPark settings tab: what to paste into ThingPark, with copy buttons', async () => {
    // A new ThingPark connection opens on what to set in ThingPark.
    const tab = page.getByRole('tab', { name: 'ThingPark settings' });
    await tab.waitFor(WAIT);
    expect(await tab.getAttribute('aria-selected')).toBe('true');
    expect(await page.getByRole('tab', { name: 'Webhook settings' }).count()).toBe(0);
    expect(await textOf(page.locator('.profile-network'))).toContain('ThingPark');
    expect(await textOf(page.getByRole('combobox', { name: 'Application' }).locator(`option[value="${APP}"]`))).toBe(`${APP} · ThingPark`);

    const setup = page.getByRole('region', { name: 'Connect ThingPark' });
    await setup.getByText(SETUP_URL, { exact: true }).waitFor(WAIT);
    await setup.getByText(AS_ID, { exact: true }).waitFor();
    expect(await textOf(setup)).toContain('JSON (recommended)');
    expect(await textOf(setup)).toContain('Tunnel Interface Authentication Key');
    // The setup's further fields (its steps) are shown as they come.
    expect(await setup.locator('ol.steps li').count()).toBeGreaterThan(0);

    await browser.context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: plugin.url });
    await setup.getByRole('button', { name: 'Copy destination URL' }).click();
    await expect.poll(() => page.evaluate(() => navigator.clipboard.readText()), WAIT).toBe(SETUP_URL);
    await setup.getByRole('button', { name: 'Copy AS ID' }).click();
    await expect.poll(() => page.evaluate(() => navigator.clipboard.readText()), WAIT).toBe(AS_ID);

    const connection = page.getByRole('region', { name: 'ThingPark connection' });
    expect(await textOf(connection.locator('.badge'))).toBe('set');
    expect(await connection.getByLabel('AS ID').inputValue()).toBe(AS_ID);
    expect(await connection.getByLabel('Tunnel key (AS key)').inputValue()).toBe('');
    holdsNoKey(await page.content());
    await page.evaluate(() => window.scrollTo(0, 0));
    await shot(page, 'desktop-13-thingpark-settings');
    await connection.scrollIntoViewIfNeeded();
    await shot(page, 'desktop-13b-thingpark-connection');
    await expectAccessible(page, 'desktop ThingPark profile: ThingPark settings tab');

    // Downlink settings about TTS hosts do not apply.
    await page.getByRole('tab', { name: 'Downlink' }).click();
    await page.getByLabel('Priority').waitFor(WAIT);
    expect(await page.getByLabel('TTS hosts').count()).toBe(0);
    await expectAccessible(page, 'desktop ThingPark profile: Downlink tab');
    await page.getByRole('tab', { name: 'Uplink' }).click();
    await page.getByLabel('Device ID prefix').waitFor(WAIT);
    await expectAccessible(page, 'desktop ThingPark profile: Uplink tab');
  });

  it('saves the connection without a key: the stored key stays', async () => {
    await open(`#/profiles/${APP}/webhook`);
    const connection = page.getByRole('region', { name: 'ThingPark connection' });
    await connection.getByLabel('Max clock skew (seconds)').fill('0');
    await page.getByText('Unsaved changes').waitFor(WAIT);
    await page.getByRole('button', { name: 'Save' }).click();
    await page.getByText('Saved.').waitFor(WAIT);
    const sent = puts.at(-1)!;
    expect(sent.network).toBe('thingpark');
    expect(sent.thingpark).toEqual({ as_id: AS_ID, downlink_url: lrc.downlinkUrl, max_clock_skew_s: 0 });
    expect(await storedKey()).toBe(AS_KEY.toLowerCase());
    expect((await plugin.request('GET', `/api/profiles/${APP}`)).body.thingpark).toMatchObject({ max_clock_skew_s: 0, as_key_set: true });
  });

  it('tests the formatter with a ThingPark report and shows what would be sent to ThingPark', async () => {
    await open(`#/profiles/${APP}/payload`);
    const editor = page.getByRole('textbox', { name: 'Formatter script' });
    await editor.waitFor(WAIT);
    await editor.fill(SCRIPT);
    const input = page.getByRole('textbox', { name: 'Test input' });
    // The prefilled sample is a ThingPark DevEUI_uplink report.
    expect(await textOf(input)).toContain('DevEUI_uplink');
    const result = page.getByRole('region', { name: 'Test result' });
    await page.getByRole('button', { name: 'Run uplink test' }).click();
    await expect.poll(() => textOf(result), WAIT).toContain('Uplink test passed');
    expect(await textOf(result)).toContain('"level": 9');

    await input.fill('{"level": 5}');
    await page.getByRole('button', { name: 'Run downlink test' }).click();
    await expect.poll(() => textOf(result), WAIT).toContain('Downlink test passed');
    expect(await textOf(result)).toContain('What would be sent to ThingPark');
    expect(await textOf(result)).toContain('"Payload": "05"');
    await expectAccessible(page, 'desktop ThingPark profile: Payload processing with a test result');

    await page.getByRole('button', { name: 'Save' }).click();
    await page.getByText('Saved.').waitFor(WAIT);
    expect(puts.at(-1)!.thingpark).not.toHaveProperty('as_key');
    expect(await storedKey()).toBe(AS_KEY.toLowerCase());
  });

  it('shows a ThingPark device with its network and ids; its downlink goes to the LRC', async () => {
    await page.getByRole('link', { name: 'Devices' }).click();
    await page.getByText('No devices yet').waitFor(WAIT);
    await page.getByText('Live', { exact: true }).waitFor(WAIT);
    const answer = await postReport(plugin, APP, uplinkReport({ bytes: [7, 1, 2, 3], fCntUp: 40 }), { asId: AS_ID, asKey: AS_KEY });
    expect(answer.status).toBe(200);

    const link = page.getByRole('link', { name: DEVICE });
    await link.waitFor(WAIT);
    const row = page.getByRole('row').filter({ has: link });
    expect(await textOf(row.locator('.badge-network'))).toBe('ThingPark');
    expect(await textOf(row)).toContain(`DevAddr ${DEV_ADDR}`);
    expect(await textOf(row)).toContain(APP);
    await shot(page, 'desktop-14-thingpark-devices');
    await expectAccessible(page, 'desktop ThingPark devices');

    await link.click();
    const ids = page.getByRole('region', { name: 'Identifiers' });
    await ids.waitFor(WAIT);
    expect(await textOf(ids)).toContain('NetworkThingPark');
    expect(await textOf(ids)).toContain(`Network device ID${DEVICE}`);
    expect(await textOf(ids)).toContain(`DevEUI${DEVICE}`);
    expect(await textOf(ids)).toContain(`DevAddr${DEV_ADDR}`);
    expect(await textOf(ids)).not.toContain('TTS');
    expect(await textOf(page.locator('.page-header .badge-network'))).toBe('ThingPark');

    await page.getByRole('textbox', { name: 'Downlink data' }).fill('{"level": 5}');
    await page.getByRole('button', { name: 'Send downlink' }).click();
    await expect.poll(() => lrc.requests.length, WAIT).toBe(1);
    expect(lrc.requests[0]).toMatchObject({ tokenOk: true, query: { DevEUI: DEVICE, Payload: '05', AS_ID } });

    const history = page.getByRole('list', { name: 'Downlinks' });
    await expect.poll(() => textOf(history), WAIT).toContain('PENDING');
    await history.getByRole('button').first().click();
    await history.getByText('Sent to ThingPark').waitFor(WAIT);
    expect(await textOf(history)).toContain('"Payload": "05"');
    expect(await textOf(history.locator('.badge-network'))).toBe('ThingPark');
    await page.evaluate(() => window.scrollTo(0, 0));
    await shot(page, 'desktop-15-thingpark-device');
    await history.scrollIntoViewIfNeeded();
    await shot(page, 'desktop-15b-thingpark-downlink');
    await expectAccessible(page, 'desktop ThingPark device with downlink history');
  });

  it('replaces the tunnel key: a new key entered is sent, and never shown again', async () => {
    await open(`#/profiles/${APP}/webhook`);
    const connection = page.getByRole('region', { name: 'ThingPark connection' });
    const key = connection.getByLabel('Tunnel key (AS key)');
    await key.waitFor(WAIT);
    await key.fill('abc');
    await page.getByRole('button', { name: 'Save' }).click();
    await page.getByText('Not saved: one field needs a fix').waitFor(WAIT);
    await connection.getByText('must be 32 hex characters').waitFor();

    await key.fill(NEW_KEY);
    await page.getByRole('button', { name: 'Save' }).click();
    await page.getByText('Saved.').waitFor(WAIT);
    expect(puts.at(-1)!.thingpark).toMatchObject({ as_key: NEW_KEY });
    expect(await storedKey()).toBe(NEW_KEY);
    // The field empties again: the key is stored, not shown.
    expect(await key.inputValue()).toBe('');
    expect(await textOf(connection.locator('.badge'))).toBe('set');
    holdsNoKey(await page.content());
  });

  it('fits a 390 px phone screen: the add form and the ThingPark settings', async () => {
    const phone = await browser.context.newPage();
    consoleWatch.watch(phone);
    await phone.setViewportSize({ width: 390, height: 844 });
    await phone.goto(`${plugin.url}/#/profiles/${APP}/webhook`);
    await signIn(phone, ADMIN_TOKEN);
    await phone.getByRole('region', { name: 'Connect ThingPark' }).getByText(SETUP_URL, { exact: true }).waitFor(WAIT);
    const overflow = () => phone.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    expect(await overflow()).toBeLessThanOrEqual(0);
    await phone.getByRole('region', { name: 'Connect ThingPark' }).scrollIntoViewIfNeeded();
    await shot(phone, 'phone-08-thingpark-settings');
    await expectAccessible(phone, 'phone-08-thingpark-settings');

    await phone.getByRole('button', { name: 'Add application' }).click();
    await phone.getByRole('radio', { name: 'ThingPark' }).check();
    await phone.getByRole('form', { name: 'Add application' }).getByLabel('AS ID').waitFor();
    expect(await overflow()).toBeLessThanOrEqual(0);
    await phone.evaluate(() => window.scrollTo(0, 0));
    await shot(phone, 'phone-09-add-thingpark');
    await expectAccessible(phone, 'phone-09-add-thingpark');
    await phone.close();
  });

  it('never had the tunnel key in an API answer, and logged no console errors', async () => {
    const texts = await Promise.all(answers);
    expect(texts.length).toBeGreaterThan(10);
    for (const text of texts) holdsNoKey(text);
    expect(consoleWatch.unexpected).toEqual([]);
  });
});
