import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { buildManifest } from '../../plugin/manifest.js';
import { ProfileSettingsSchema } from '../../plugin/schemas/profile.js';
import { PluginHarness } from '../helpers/plugin-harness.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const PACKAGE = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { name: string; version: string };
/** As JSON carries it (TypeBox's symbol keys dropped). */
const asJson = (v: unknown): unknown => JSON.parse(JSON.stringify(v));

describe('health and manifest (no auth)', () => {
  let plugin: PluginHarness;
  beforeEach(async () => {
    plugin = await new PluginHarness().start();
  });
  afterEach(async () => {
    await plugin.destroy();
  });

  it('GET /healthz answers {status: ok, version} and the formatter processes\' counters without a token', async () => {
    const res = await plugin.request('GET', '/healthz', { token: null });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      status: 'ok',
      version: PACKAGE.version,
      details: {
        formatters: {
          processes: 2,
          running: expect.any(Number),
          starts: expect.any(Number),
          restarts: 0,
          spare: false,
          kills: 0,
          crashes: 0,
          resent: 0,
          suspended: 0,
          suspensions: 0,
          isolated: 0,
        },
        // MQTT connections by state: counts only, no application names without a token.
        mqtt: { connected: 0, connecting: 0, error: 0, disabled: 0 },
      },
    });
  });

  it('GET /manifest.json serves buildManifest() without a token, with the package version', async () => {
    const res = await plugin.request('GET', '/manifest.json', { token: null });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    expect(res.body).toEqual(asJson(buildManifest()));
    expect(res.body.version).toBe(PACKAGE.version);
    expect(res.body.name).toBe(PACKAGE.name);
  });

  it('the manifest settings schema is ProfileSettingsSchema, serialized', async () => {
    const res = await plugin.request('GET', '/manifest.json', { token: null });
    expect(res.body.settings.schema).toEqual(asJson(ProfileSettingsSchema));
    // the defaults the README documents are in the published schema
    expect(res.body.settings.schema.properties.uplink.properties.connection_timeout_min.default).toBe(10);
    expect(res.body.settings.schema.properties.formatter.properties.timeout_ms).toMatchObject({ default: 100, maximum: 5000 });
  });

  it('the manifest lists every webhook path the plugin accepts', async () => {
    const res = await plugin.request('GET', '/manifest.json', { token: null });
    const paths: string[] = res.body.endpoints.webhooks.paths;
    expect(paths).toEqual(expect.arrayContaining(['/uplink', '/tts/webhook', '/tts/webhook/uplink-message', '/tts/webhook/join-accept']));
    // each advertised path is really served (401 without a token, not 404)
    for (const path of paths) {
      const r = await plugin.request('POST', path, { body: {}, token: null });
      expect(r.status, path).toBe(401);
    }
  });
});

describe('manifest.json on disk', () => {
  it('exists at the project root and deep-equals buildManifest() (run `npm run manifest` after changing it)', () => {
    const file = join(ROOT, 'manifest.json');
    expect(existsSync(file), 'manifest.json is missing at the project root').toBe(true);
    const onDisk = JSON.parse(readFileSync(file, 'utf8')) as { version: string; settings: { schema: unknown } };
    expect(onDisk).toEqual(asJson(buildManifest()));
    expect(onDisk.version).toBe(PACKAGE.version);
    expect(onDisk.settings.schema).toEqual(asJson(ProfileSettingsSchema));
  });
});
