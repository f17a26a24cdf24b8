import { describe, expect, it } from 'vitest';
import { formatterPoolOptions, loadConfig } from '../../plugin/config.js';
import { redactedUrl } from '../../plugin/store/open-store.js';
import { FormatterRuntime } from '../../sandbox/runtime.js';
import { js, uplink } from '../sandbox/helpers.js';

describe('formatter isolate settings from the environment', () => {
  it('default to 200 loaded applications, 16 per isolate, 64 MB per isolate, suspension after 5 failures for 60 s', () => {
    expect(formatterPoolOptions(loadConfig({}))).toEqual({
      maxApps: 200,
      appsPerIsolate: 16,
      memoryLimitMb: 64,
      breaker: { threshold: 5, coolDownMs: 60_000 },
    });
  });

  it('take PLUGIN_FORMATTER_PROCESSES, PLUGIN_FORMATTER_SUSPEND_AFTER and PLUGIN_FORMATTER_SUSPEND_SECONDS', () => {
    const env = { PLUGIN_FORMATTER_PROCESSES: '3', PLUGIN_FORMATTER_SUSPEND_AFTER: '2', PLUGIN_FORMATTER_SUSPEND_SECONDS: '600' };
    expect(formatterPoolOptions(loadConfig(env))).toMatchObject({ processes: 3, breaker: { threshold: 2, coolDownMs: 600_000 } });
  });

  it('take PLUGIN_MAX_APPS, PLUGIN_APPS_PER_ISOLATE and PLUGIN_ISOLATE_MEMORY_MB', async () => {
    const options = formatterPoolOptions(loadConfig({ PLUGIN_MAX_APPS: '50', PLUGIN_APPS_PER_ISOLATE: '1', PLUGIN_ISOLATE_MEMORY_MB: '16' }));
    expect(options).toMatchObject({ maxApps: 50, appsPerIsolate: 1, memoryLimitMb: 16 });
    const runtime = new FormatterRuntime(options);
    try {
      const spec = js('module.exports.uplink = () => ({});');
      for (const app of ['a', 'b']) await runtime.runUplink(app, spec, uplink('01'));
      expect(runtime.stats()).toMatchObject({ apps: 2, isolates: 2 });
    } finally {
      runtime.dispose();
    }
  });

  it.each([
    ['PLUGIN_APPS_PER_ISOLATE', '0'],
    ['PLUGIN_APPS_PER_ISOLATE', 'many'],
    ['PLUGIN_APPS_PER_ISOLATE', '1001'],
    ['PLUGIN_MAX_APPS', '0'],
    ['PLUGIN_ISOLATE_MEMORY_MB', '4'],
    ['PLUGIN_FORMATTER_PROCESSES', '0'],
    ['PLUGIN_FORMATTER_SUSPEND_AFTER', '0'],
    ['PLUGIN_FORMATTER_SUSPEND_SECONDS', 'soon'],
  ])('refuse %s=%s, naming the variable', (name, value) => {
    expect(() => loadConfig({ [name]: value })).toThrow(new RegExp(`^invalid configuration: ${name} `));
  });
});

describe('the store from the environment', () => {
  it('is SQLite in the data dir unless PLUGIN_DATABASE_URL names a PostgreSQL database, with PLUGIN_DATABASE_POOL connections (10)', () => {
    expect(loadConfig({}).databaseUrl).toBeUndefined();
    const config = loadConfig({ PLUGIN_DATABASE_URL: 'postgres://plugin:secret@db.internal:5432/lorawan?sslmode=verify-full', PLUGIN_ADMIN_TOKEN: 'a-shared-admin-token-0123' });
    expect(config).toMatchObject({ databaseUrl: 'postgres://plugin:secret@db.internal:5432/lorawan?sslmode=verify-full', databasePool: 10 });
    expect(loadConfig({ PLUGIN_DATABASE_URL: 'postgresql://db/x', PLUGIN_ADMIN_TOKEN: 'a-shared-admin-token-0123', PLUGIN_DATABASE_POOL: '25' }).databasePool).toBe(25);
  });

  it('refuses another URL scheme, a pool out of 1..200, and PostgreSQL without PLUGIN_ADMIN_TOKEN (each instance would make up its own)', () => {
    const token = { PLUGIN_ADMIN_TOKEN: 'a-shared-admin-token-0123' };
    expect(() => loadConfig({ PLUGIN_DATABASE_URL: 'mysql://db/x', ...token })).toThrow(/PLUGIN_DATABASE_URL/);
    expect(() => loadConfig({ PLUGIN_DATABASE_URL: 'postgres://db/x', PLUGIN_DATABASE_POOL: '0', ...token })).toThrow(/PLUGIN_DATABASE_POOL/);
    expect(() => loadConfig({ PLUGIN_DATABASE_URL: 'postgres://db/x', PLUGIN_DATABASE_POOL: '500', ...token })).toThrow(/PLUGIN_DATABASE_POOL/);
    expect(() => loadConfig({ PLUGIN_DATABASE_URL: 'postgres://db/x' })).toThrow(/PLUGIN_ADMIN_TOKEN is required with PLUGIN_DATABASE_URL/);
  });
});

describe('the database URL in the start line', () => {
  it('shows no password, in the user part or in the query, nor TLS key paths', () => {
    const shown = redactedUrl('postgres://plugin:s3cret@db.internal:5432/lorawan?password=s3cret2&sslmode=verify-full&sslkey=/etc/key.pem&sslpassword=k3y');
    expect(shown).not.toMatch(/s3cret|k3y|key\.pem/);
    expect(shown).toContain('db.internal:5432/lorawan');
    expect(shown).toContain('sslmode=verify-full');
    expect(redactedUrl('not a url')).toBe('postgres://(unparsable URL)');
  });
});
