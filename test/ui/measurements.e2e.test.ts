import { mkdirSync } from 'node:fs';
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
 * The building manager's view: one quantity across devices of two vendors whose formatters
 * differ (a TTS codec with normalizeUplink, a Thinger formatter returning the normalized shape),
 * on the Measurements screen, a device's page and the formatter test tool.
 */

const ARTIFACTS = join(PROJECT_ROOT, 'test', 'artifacts', 'ui');
const WAIT = { timeout: 8000 };
const VENDOR_A = 'vendor-a-app';
const VENDOR_B = 'vendor-b-app';

/** Vendor A ships a Device Repository codec: temperature in 0.1 °C (int16), humidity in 0.5 %. */
const VENDOR_A_CODEC = `function decodeUplink(input) {
  var t = (input.bytes[0] << 8 | input.bytes[1]); if (t > 32767) t -= 65536;
  return { data: { temp_c: t / 10, rh: input.bytes[2] / 2 } };
}

function normalizeUplink(input) {
  return { data: { air: { temperature: input.data.temp_c, relativeHumidity: input.data.rh } } };
}
`;

/** Vendor B's formatter (Thinger style) returns the normalized shape itself: temperature + 40, CO2 / 10, a byte each. */
const VENDOR_B_FORMATTER = `module.exports.uplink = function (payload) {
  var b = Buffer.from(payload, 'base64');
  return { air: { temperature: b[0] - 40, co2: b[1] * 10 } };
};
`;

interface Sensor {
  app: string;
  devEui: string;
  /** One uplink each, oldest first. */
  readings: { temperature: number; other: number }[];
}

/** The plugin's device ids are the DevEUIs (no prefix). Latest values: 22.3, 18.8, 23 and 26 °C; 520 and 620 ppm. */
const SENSORS: Sensor[] = [
  { app: VENDOR_A, devEui: 'A000000000000001', readings: [{ temperature: 21, other: 45 }, { temperature: 21.5, other: 44 }, { temperature: 22.3, other: 43.5 }] },
  { app: VENDOR_A, devEui: 'A000000000000002', readings: [{ temperature: 19, other: 50 }, { temperature: 19.4, other: 51 }, { temperature: 18.8, other: 52.5 }] },
  { app: VENDOR_B, devEui: 'B000000000000001', readings: [{ temperature: 20, other: 450 }, { temperature: 21, other: 480 }, { temperature: 23, other: 520 }] },
  { app: VENDOR_B, devEui: 'B000000000000002', readings: [{ temperature: 24, other: 600 }, { temperature: 25, other: 610 }, { temperature: 26, other: 620 }] },
];
const LATEST_CELSIUS: Record<string, string> = { A000000000000001: '22.3 °C', A000000000000002: '18.8 °C', B000000000000001: '23 °C', B000000000000002: '26 °C' };

/** The bytes each vendor's device sends for a reading (`other` is humidity for vendor A, CO2 for vendor B). */
function bytesOf(app: string, r: Sensor['readings'][number]): number[] {
  if (app === VENDOR_A) {
    const t = Math.round(r.temperature * 10) & 0xffff;
    return [t >> 8, t & 0xff, Math.round(r.other * 2)];
  }
  return [r.temperature + 40, r.other / 10];
}

describe('web UI: normalized measurements across vendors (Chromium, real plugin)', () => {
  let plugin: PluginHarness;
  let browser: Awaited<ReturnType<typeof launchChromium>>;
  let page: Page;
  const consoleWatch = new ConsoleWatch();

  const shot = (p: Page, name: string) => p.screenshot({ path: join(ARTIFACTS, `measurements-${name}.png`) });
  const textOf = async (l: Locator) => (await l.textContent()) ?? '';
  const latestTable = (p: Page) => p.getByRole('region', { name: /^Latest .* by device$/ });
  const deviceRows = (p: Page) => latestTable(p).locator('tbody tr');
  const deviceIdsShown = async (p: Page) => (await latestTable(p).locator('tbody td[data-label="Device"] a').allTextContents()).sort();

  beforeAll(async () => {
    ensureUiBuilt();
    mkdirSync(ARTIFACTS, { recursive: true });
    plugin = await new PluginHarness().start();
    for (const [app, script] of [[VENDOR_A, VENDOR_A_CODEC], [VENDOR_B, VENDOR_B_FORMATTER]]) {
      const put = await plugin.request('PUT', `/api/profiles/${app}`, { body: { formatter: { type: 'javascript', script } } });
      expect(put.status, put.text).toBe(201);
    }
    // Three uplinks per device over the last three hours, devices a few minutes apart.
    for (const [d, sensor] of SENSORS.entries()) {
      for (const [i, reading] of sensor.readings.entries()) {
        const receivedAt = new Date(Date.now() - ((3 - i) * 60 - d * 7) * 60_000).toISOString();
        const body = uplinkBody({ appId: sensor.app, deviceId: `room-${d + 1}`, devEui: sensor.devEui, fCnt: i + 1, bytes: bytesOf(sensor.app, reading), receivedAt });
        const res = await plugin.webhook(body);
        expect(res.status, res.text).toBe(200);
        expect(res.body.status).toBe('stored');
      }
    }
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

  it('plots air temperature of all four devices of both vendors, and lists their latest values in °C', async () => {
    await page.getByRole('link', { name: 'Measurements' }).click();
    expect(await page.evaluate(() => location.hash)).toBe('#/measurements');
    const quantity = page.getByRole('combobox', { name: 'Quantity' });
    // The first quantity a device reported is chosen; measured ones come first, with unit and description.
    await expect.poll(() => quantity.inputValue(), WAIT).toBe('air.temperature');
    const measured = await quantity.locator('optgroup[label="Measured"] option').allTextContents();
    expect(measured).toEqual(['air.temperature (°C) · Air temperature', 'air.relativeHumidity (%) · Relative humidity', 'air.co2 (ppm) · CO2 in the air']);
    expect(await quantity.locator('optgroup[label="Not measured yet"] option', { hasText: 'soil.ec (dS/m) · Soil electrical conductivity' }).count()).toBe(1);

    await quantity.selectOption('air.temperature');
    await page.getByRole('combobox', { name: 'Time range' }).selectOption({ label: 'Last 24 hours' });
    const plot = page.getByRole('img', { name: 'Plot of air.temperature (°C) per device over time' });
    await plot.locator('canvas').waitFor(WAIT);
    expect(await plot.locator('canvas').isVisible()).toBe(true);
    expect((await plot.boundingBox())?.height).toBeGreaterThan(200);

    await expect.poll(() => deviceRows(page).count(), WAIT).toBe(4);
    for (const sensor of SENSORS) {
      const row = deviceRows(page).filter({ has: page.getByRole('link', { name: sensor.devEui }) });
      const text = await textOf(row);
      expect(text).toContain(sensor.app);
      expect(await textOf(row.locator('td[data-label="Latest value"]'))).toBe(LATEST_CELSIUS[sensor.devEui]);
      expect(await textOf(row.locator('td[data-label="Points"]'))).toBe('3');
    }
    expect(await textOf(page.locator('.measurement-chart figcaption'))).toContain('4 devices · 12 values');
    await page.evaluate(() => window.scrollTo(0, 0));
    await shot(page, 'desktop-temperature');
    await expectAccessible(page, 'desktop measurements: air.temperature');
  });

  it('filters by application: only that application’s devices', async () => {
    const app = page.getByRole('combobox', { name: 'Application' });
    expect(await app.locator('option').allTextContents()).toEqual(['All applications', VENDOR_A, VENDOR_B]);
    await app.selectOption(VENDOR_A);
    await expect.poll(() => deviceIdsShown(page), WAIT).toEqual(['A000000000000001', 'A000000000000002']);
    await app.selectOption(VENDOR_B);
    await expect.poll(() => deviceIdsShown(page), WAIT).toEqual(['B000000000000001', 'B000000000000002']);
    expect(await textOf(latestTable(page))).toContain('26 °C');
    await app.selectOption('');
    await expect.poll(() => deviceRows(page).count(), WAIT).toBe(4);
  });

  it('shows CO2 in ppm from vendor B’s devices only; a quantity nobody measured says so', async () => {
    const quantity = page.getByRole('combobox', { name: 'Quantity' });
    await quantity.selectOption('air.co2');
    await page.getByRole('img', { name: 'Plot of air.co2 (ppm) per device over time' }).locator('canvas').waitFor(WAIT);
    await expect.poll(() => deviceIdsShown(page), WAIT).toEqual(['B000000000000001', 'B000000000000002']);
    const values = await latestTable(page).locator('td[data-label="Latest value"]').allTextContents();
    expect(values).toEqual(['520 ppm', '620 ppm']);
    await page.evaluate(() => window.scrollTo(0, 0));
    await shot(page, 'desktop-co2');
    await expectAccessible(page, 'desktop measurements: air.co2');

    // Keyboard only: the quantity picker takes arrow keys.
    await quantity.focus();
    await page.keyboard.press('ArrowUp');
    await expect.poll(() => quantity.inputValue(), WAIT).toBe('air.relativeHumidity');
    await expect.poll(() => deviceIdsShown(page), WAIT).toEqual(['A000000000000001', 'A000000000000002']);

    await quantity.selectOption('water.leak');
    await page.getByText('No water.leak values from any application in the last 24 hours.').waitFor(WAIT);
    expect(await page.getByRole('img', { name: /^Plot of / }).count()).toBe(0);
    expect(await latestTable(page).count()).toBe(0);
    await quantity.selectOption('air.temperature');
    await expect.poll(() => deviceRows(page).count(), WAIT).toBe(4);
  });

  it('shows a vendor A device’s normalized air temperature on its page, next to its decoded data', async () => {
    await latestTable(page).getByRole('link', { name: 'A000000000000001' }).click();
    const plot = page.getByRole('img', { name: 'Plot of air.temperature (°C) over time' });
    await plot.locator('canvas').waitFor(WAIT);
    await page.getByRole('img', { name: 'Plot of air.relativeHumidity (%) over time' }).locator('canvas').waitFor(WAIT);
    // Today's plots of the decoded data stay.
    await page.getByRole('img', { name: 'Plot of temp_c over time' }).locator('canvas').waitFor(WAIT);
    const card = page.locator('.chart-card').filter({ has: plot });
    expect(await textOf(card.locator('.chart-last'))).toBe('22.3');
    await page.evaluate(() => window.scrollTo(0, 0));
    await shot(page, 'desktop-device');
    await expectAccessible(page, 'desktop device with normalized measurements');
  });

  it('shows the normalized measurements in vendor A’s formatter test', async () => {
    await page.evaluate((h) => (location.hash = h), `#/profiles/${VENDOR_A}/payload`);
    await page.getByRole('textbox', { name: 'Formatter script' }).waitFor(WAIT);
    await page.getByRole('textbox', { name: 'Test input' }).fill('{"bytes": [0, 215, 88], "f_port": 1}');
    await page.getByRole('button', { name: 'Run uplink test' }).click();
    const result = page.getByRole('region', { name: 'Test result' });
    await expect.poll(() => textOf(result), WAIT).toContain('Uplink test passed');
    const normalized = result.getByRole('region', { name: 'Normalized measurements' });
    await normalized.waitFor(WAIT);
    expect(JSON.parse(await textOf(normalized))).toEqual([{ air: { temperature: 21.5, relativeHumidity: 44 } }]);
    expect(await textOf(result.getByRole('region', { name: 'Output' }))).toContain('"temp_c": 21.5');
    expect(await result.getByText('Normalization warnings').count()).toBe(0);
    await result.scrollIntoViewIfNeeded();
    await shot(page, 'desktop-test-tool');
    await expectAccessible(page, 'desktop formatter test with normalized measurements');

    // 125 % humidity is out of the schema's range: dropped from the measurement, with a warning.
    await page.getByRole('textbox', { name: 'Test input' }).fill('{"bytes": [0, 215, 250], "f_port": 1}');
    await page.getByRole('button', { name: 'Run uplink test' }).click();
    const warnings = result.getByRole('list', { name: 'Normalization warnings' });
    await warnings.waitFor(WAIT);
    expect(await warnings.getByRole('listitem').allTextContents()).toEqual(['measurement 1: `air.relativeHumidity` should be equal or less than `100`']);
    expect(JSON.parse(await textOf(normalized))).toEqual([{ air: { temperature: 21.5 } }]);
  });

  it('fits a 390 px phone screen', async () => {
    const phone = await browser.context.newPage();
    consoleWatch.watch(phone);
    await phone.setViewportSize({ width: 390, height: 844 });
    await phone.goto(`${plugin.url}/#/measurements`);
    await signIn(phone, ADMIN_TOKEN);
    await phone.getByRole('img', { name: 'Plot of air.temperature (°C) per device over time' }).locator('canvas').waitFor(WAIT);
    await expect.poll(() => deviceRows(phone).count(), WAIT).toBe(4);
    const overflow = () => phone.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    expect(await overflow()).toBeLessThanOrEqual(0);
    await shot(phone, 'phone');
    await latestTable(phone).scrollIntoViewIfNeeded();
    await shot(phone, 'phone-table');
    await expectAccessible(phone, 'phone measurements');
    await phone.close();
  });

  it('logged no console errors in the browser', () => {
    expect(consoleWatch.unexpected).toEqual([]);
  });
});
