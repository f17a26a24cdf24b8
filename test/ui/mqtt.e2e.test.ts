import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../plugin/project-files.js';
import { Mosquitto } from '../helpers/mosquitto.js';
import { ADMIN_TOKEN, PluginHarness } from '../helpers/plugin-harness.js';
import { expectAccessible } from './helpers/axe.js';
import { ensureUiBuilt } from './helpers/build-ui.js';
import { ConsoleWatch, launchChromium, signIn } from './helpers/chromium.js';

/**
 * MQTT connections set up the way a person does it, against a real broker: a TTS profile's MQTT
 * section filled in with a wrong API key (the broker's refusal shows, live), then the right one
 * (connected), the broker stopped (connecting, with the error) and started again (connected);
 * a ThingPark profile switched to MQTT. Keys and passwords are write-only: no answer holds them.
 */

const ARTIFACTS = join(PROJECT_ROOT, 'test', 'artifacts', 'ui');
const APP = 'vendor-a-app';
const USER = `${APP}@ttn`;
const GOOD = 'NNSXS.GOOD';
const WRONG = 'NNSXS.WRONG';
const TP_APP = 'factory-tp';
const TP_USER = 'lorawan-bridge';
const TP_PASSWORD = 'tp-broker-secret-42';
const SECRETS = [GOOD, WRONG, TP_PASSWORD];
const SECTION = 'MQTT (The Things Stack’s MQTT server)';
/** Long enough for a broker's answer, a backoff step and the event that tells the page. */
const WAIT = { timeout: 10_000 };

describe('web UI: MQTT connections (Chromium, real plugin, mosquitto)', () => {
  let plugin: PluginHarness;
  let broker: Mosquitto;
  let browser: Awaited<ReturnType<typeof launchChromium>>;
  let page: Page;
  const consoleWatch = new ConsoleWatch();
  /** Every profile PUT the page sent, as sent. */
  const puts: { path: string; body: Record<string, any> }[] = [];
  /** The text of every API answer the page read (the event stream aside: it never ends). */
  const answers: Promise<string>[] = [];

  const shot = (p: Page, name: string) => p.screenshot({ path: join(ARTIFACTS, `mqtt-${name}.png`) });
  const textOf = async (l: Locator) => (await l.textContent()) ?? '';
  /** Scrolls a section's top into view, below the phone's sticky navigation. */
  const scrollTo = (l: Locator) => l.evaluate((e) => window.scrollTo(0, e.getBoundingClientRect().top + window.scrollY - (window.innerWidth < 800 ? 120 : 16)));
  const open = (hash: string) => page.evaluate((h) => (location.hash = h), hash);
  const holdsNoSecret = (text: string) => {
    for (const secret of SECRETS) expect(text).not.toContain(secret);
  };
  const section = () => page.getByRole('region', { name: SECTION });
  const status = (within: Locator) => within.getByRole('status');
  const headerBadge = () => page.locator('.profile-network .badge:not(.badge-network)');
  const save = async () => {
    await page.getByRole('button', { name: 'Save', exact: true }).click();
    await page.getByText('Saved.').waitFor(WAIT);
  };

  beforeAll(async () => {
    ensureUiBuilt();
    mkdirSync(ARTIFACTS, { recursive: true });
    broker = await Mosquitto.start({ users: [{ username: USER, password: GOOD }] });
    plugin = await new PluginHarness().start();
    expect((await plugin.request('PUT', `/api/profiles/${APP}`, { body: {} })).status).toBe(201);
    browser = await launchChromium({ width: 1280, height: 800 });
    page = browser.context.pages()[0] ?? (await browser.context.newPage());
    consoleWatch.watch(page);
    page.on('request', (r) => {
      const path = new URL(r.url()).pathname;
      if (r.method() === 'PUT' && path.startsWith('/api/profiles/')) puts.push({ path, body: r.postDataJSON() as Record<string, any> });
    });
    page.on('response', (r) => {
      const path = new URL(r.url()).pathname;
      if (path.startsWith('/api/') && path !== '/api/events/stream') answers.push(r.text().catch(() => ''));
    });
    await page.goto(`${plugin.url}/#/profiles/default/webhook`);
    await signIn(page, ADMIN_TOKEN);
    await page.getByRole('combobox', { name: 'Application' }).waitFor(WAIT);
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await plugin?.destroy();
    await broker?.stop();
  });

  it('offers no MQTT form on the Default profile, and says why', async () => {
    await section().waitFor(WAIT);
    expect(await textOf(section())).toContain('Not for the Default profile');
    expect(await section().getByRole('switch').count()).toBe(0);
    expect(await section().getByRole('textbox').count()).toBe(0);
    expect(await headerBadge().count()).toBe(0);
  });

  it('shows the broker\'s refusal of a wrong API key live, then connects with the right one', async () => {
    await open(`#/profiles/${APP}/webhook`);
    const mqtt = section();
    const on = mqtt.getByRole('switch', { name: 'Connect over MQTT' });
    await on.waitFor(WAIT);
    expect(await on.isChecked()).toBe(false);
    // Nothing saved yet: no state to show, no fields until it is turned on.
    expect(await status(mqtt).count()).toBe(0);
    expect(await mqtt.getByLabel('URL', { exact: true }).count()).toBe(0);
    await on.check();

    const url = mqtt.getByLabel('URL', { exact: true });
    const user = mqtt.getByLabel('User name', { exact: true });
    const key = mqtt.getByLabel('API key', { exact: true });
    expect(await key.getAttribute('type')).toBe('password');
    expect(await key.getAttribute('autocomplete')).toBe('new-password');
    expect(await mqtt.getByLabel('CA certificate').evaluate((e) => e.tagName)).toBe('TEXTAREA');
    expect(await textOf(mqtt)).toContain(`${APP}@ttn`);

    // Empty fields are refused before anything is sent, each next to its field.
    await page.getByRole('button', { name: 'Save', exact: true }).click();
    await page.getByText('Not saved: 3 fields need a fix').waitFor(WAIT);
    expect(await mqtt.locator('.field-error').allTextContents()).toEqual(['URL is required', 'User name is required', 'API key is required']);
    await user.fill('Vendor A');
    expect(await textOf(mqtt.locator('.field-error').nth(1))).toBe('User name must be {app}@{tenant}, e.g. my-app@ttn');
    expect(puts).toEqual([]);

    await url.fill(broker.url);
    await user.fill(USER);
    await key.fill(WRONG);
    await save();
    expect(puts.at(-1)).toEqual({ path: `/api/profiles/${APP}`, body: expect.objectContaining({ tts_mqtt: { enabled: true, url: broker.url, username: USER, ca: null, password: WRONG } }) });

    // The refusal comes as a connection event: the status follows without a reload.
    await expect.poll(() => textOf(status(mqtt)), WAIT).toContain('Error');
    expect(await textOf(status(mqtt))).toMatch(/Last error: .*(not authori[sz]ed|bad user ?name or password)/i);
    expect(await textOf(headerBadge())).toBe('MQTT error');
    // The key is stored, never shown: the field empties and says so.
    expect(await key.inputValue()).toBe('');
    expect(await key.getAttribute('placeholder')).toBe('stored — leave empty to keep');
    holdsNoSecret(await page.content());
    await page.evaluate(() => window.scrollTo(0, 0));
    await shot(page, 'desktop-01-refused-header');
    await scrollTo(mqtt);
    await shot(page, 'desktop-01b-refused');

    await key.fill(GOOD);
    await save();
    expect(puts.at(-1)!.body.tts_mqtt).toMatchObject({ password: GOOD });
    await expect.poll(() => textOf(status(mqtt)), WAIT).toContain('Connected');
    expect(await textOf(status(mqtt))).not.toContain('Last error');
    expect(await textOf(headerBadge())).toBe('MQTT connected');
    await scrollTo(mqtt);
    await shot(page, 'desktop-02-connected');
    await expectAccessible(page, 'desktop TTS profile: Webhook settings with MQTT connected');
  });

  it('shows the broker going away (connecting, with the error and the attempts) and coming back', async () => {
    const mqtt = section();
    const port = broker.port;
    await broker.stop();
    await expect.poll(() => textOf(status(mqtt)), WAIT).toContain('Connecting…');
    expect(await textOf(status(mqtt))).toContain('Last error:');
    // Attempts in the same state raise no event: the page reads them again while it is down.
    await expect.poll(() => textOf(status(mqtt)), WAIT).toMatch(/\d+ failed attempts?/);
    expect(await textOf(headerBadge())).toBe('MQTT connecting…');
    await scrollTo(mqtt);
    await shot(page, 'desktop-03-connecting');

    broker = await Mosquitto.start({ users: [{ username: USER, password: GOOD }], port });
    await expect.poll(() => textOf(status(mqtt)), WAIT).toContain('Connected');
    expect(await textOf(status(mqtt))).not.toMatch(/failed attempt|Last error/);
    expect(await textOf(headerBadge())).toBe('MQTT connected');
  });

  it('fits a 390 px phone screen', async () => {
    const phone = await browser.context.newPage();
    consoleWatch.watch(phone);
    await phone.setViewportSize({ width: 390, height: 844 });
    await phone.goto(`${plugin.url}/#/profiles/${APP}/webhook`);
    await signIn(phone, ADMIN_TOKEN);
    const mqtt = phone.getByRole('region', { name: SECTION });
    await expect.poll(() => textOf(mqtt.getByRole('status')), WAIT).toContain('Connected');
    expect(await phone.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth)).toBeLessThanOrEqual(0);
    await scrollTo(mqtt);
    await shot(phone, 'phone-01-connected');
    await expectAccessible(phone, 'phone TTS profile: Webhook settings with MQTT');
    await phone.close();
  });

  it('turns MQTT off, the key left empty: kept, and the state says Off', async () => {
    const mqtt = section();
    await mqtt.getByRole('switch', { name: 'Connect over MQTT' }).uncheck();
    // Turned off, the settings stay (to turn it on again).
    expect(await mqtt.getByLabel('URL', { exact: true }).inputValue()).toBe(broker.url);
    await save();
    expect(puts.at(-1)!.body.tts_mqtt).toEqual({ enabled: false, url: broker.url, username: USER, ca: null });
    await expect.poll(() => textOf(status(mqtt)), WAIT).toContain('Off');
    expect(await textOf(headerBadge())).toBe('MQTT off');
    expect((await plugin.request('GET', `/api/profiles/${APP}/connection`)).body.state).toBe('disabled');
    expect((await plugin.store.getProfile(APP))?.settings.tts_mqtt?.password).toBe(GOOD);
  });

  it('switches a ThingPark profile to MQTT through a broker: the tunnel key and LRC URL give way to the broker, connected', async () => {
    const tpBroker = await Mosquitto.start({ users: [{ username: TP_USER, password: TP_PASSWORD }], acl: 'open' });
    try {
      const created = await plugin.request('PUT', `/api/profiles/${TP_APP}`, {
        body: { network: 'thingpark', thingpark: { as_id: 'TWA_100002167.1111.AS', as_key: '0123456789abcdef0123456789abcdef', downlink_url: 'https://lrc.example.com/downlink', max_clock_skew_s: 60 } },
      });
      expect(created.status).toBe(201);
      // Created behind the page's back: loaded afresh.
      await open(`#/profiles/${TP_APP}/webhook`);
      await page.reload();
      const connection = page.getByRole('region', { name: 'ThingPark connection' });
      const http = connection.getByRole('radio', { name: 'HTTP tunnel interface' });
      await http.waitFor(WAIT);
      expect(await http.isChecked()).toBe(true);
      expect(await connection.getByLabel('Tunnel key (AS key)').count()).toBe(1);
      expect(await headerBadge().count()).toBe(0);

      await connection.getByRole('radio', { name: 'MQTT through your broker' }).check();
      expect(await connection.getByLabel('Tunnel key (AS key)').count()).toBe(0);
      expect(await connection.getByLabel('LRC downlink URL').count()).toBe(0);
      const uplinkTopic = connection.getByLabel('Uplink topic pattern');
      const downlinkTopic = connection.getByLabel('Downlink topic pattern');
      expect(await uplinkTopic.inputValue()).toBe('mqtt/things/{DevEUI}/uplink');
      expect(await downlinkTopic.inputValue()).toBe('mqtt/things/{DevEUI}/downlink');
      expect(await textOf(connection)).toContain('{DevEUI} stands for each device’s EUI');
      const password = connection.getByLabel('Password', { exact: true });
      expect(await password.getAttribute('type')).toBe('password');

      // One topic both ways, and no broker yet: refused before anything is sent.
      await downlinkTopic.fill('mqtt/things/{DevEUI}/uplink');
      await page.getByRole('button', { name: 'Save', exact: true }).click();
      await page.getByText('Not saved: 4 fields need a fix').waitFor(WAIT);
      expect(await connection.locator('.field-error').allTextContents()).toEqual([
        'Broker URL is required',
        'User name is required',
        'Password is required',
        'Downlink topic pattern must differ from the uplink topic pattern',
      ]);

      await downlinkTopic.fill('mqtt/things/{DevEUI}/downlink');
      await connection.getByLabel('Broker URL').fill(tpBroker.url);
      await connection.getByLabel('User name', { exact: true }).fill(TP_USER);
      await password.fill(TP_PASSWORD);
      await save();
      expect(puts.at(-1)).toEqual({
        path: `/api/profiles/${TP_APP}`,
        body: expect.objectContaining({
          network: 'thingpark',
          thingpark: {
            as_id: 'TWA_100002167.1111.AS',
            transport: 'mqtt',
            downlink_url: 'https://lrc.example.com/downlink',
            max_clock_skew_s: 60,
            mqtt: { url: tpBroker.url, username: TP_USER, ca: null, uplink_topic: 'mqtt/things/{DevEUI}/uplink', downlink_topic: 'mqtt/things/{DevEUI}/downlink', password: TP_PASSWORD },
          },
        }),
      });
      await expect.poll(() => textOf(status(connection)), WAIT).toContain('Connected');
      expect(await textOf(headerBadge())).toBe('MQTT connected');
      expect(await password.inputValue()).toBe('');
      expect(await password.getAttribute('placeholder')).toBe('stored — leave empty to keep');
      // What to set in ThingPark follows: the MQTT connector's topics, not the HTTP destination.
      const setup = page.getByRole('region', { name: 'Connect ThingPark' });
      await setup.getByText('uplinkTopicPattern').waitFor(WAIT);
      expect(await textOf(setup)).toContain('mqtt/things/{DevEUI}/downlink');
      expect(await textOf(setup)).not.toContain('Generic HTTPS');
      holdsNoSecret(await page.content());
      await page.evaluate(() => window.scrollTo(0, 0));
      await shot(page, 'desktop-04-thingpark');
      await scrollTo(connection);
      await shot(page, 'desktop-04b-thingpark-connection');
      await expectAccessible(page, 'desktop ThingPark profile over MQTT: ThingPark settings tab');
    } finally {
      await tpBroker.stop();
    }
    await expect.poll(() => textOf(status(page.getByRole('region', { name: 'ThingPark connection' }))), WAIT).toContain('Connecting…');
  });

  it('lists connection events under their own category', async () => {
    await page.getByRole('link', { name: 'Events' }).click();
    const category = page.getByLabel('Category');
    await category.waitFor(WAIT);
    await category.selectOption('connection');
    await page.getByText('TTS MQTT connected').first().waitFor(WAIT);
    expect(await page.getByText(/TTS MQTT connection refused: .*not authori[sz]ed/i).count()).toBeGreaterThan(0);
  });

  it('never had a key or password in an API answer, and logged no console errors', async () => {
    const texts = await Promise.all(answers);
    expect(texts.length).toBeGreaterThan(10);
    for (const text of texts) holdsNoSecret(text);
    expect(consoleWatch.unexpected).toEqual([]);
  });
});
