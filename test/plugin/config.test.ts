import { describe, expect, it } from 'vitest';
import { formatterPoolOptions, loadConfig } from '../../plugin/config.js';
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
