import { describe, expect, it } from 'vitest';
import { loadConfig, runtimeOptions } from '../../plugin/config.js';
import { FormatterRuntime } from '../../sandbox/runtime.js';
import { js, uplink } from '../sandbox/helpers.js';

describe('formatter isolate settings from the environment', () => {
  it('default to 200 loaded applications, 16 per isolate, 64 MB per isolate', () => {
    expect(runtimeOptions(loadConfig({}))).toEqual({ maxApps: 200, appsPerIsolate: 16, memoryLimitMb: 64 });
  });

  it('take PLUGIN_MAX_APPS, PLUGIN_APPS_PER_ISOLATE and PLUGIN_ISOLATE_MEMORY_MB', async () => {
    const options = runtimeOptions(loadConfig({ PLUGIN_MAX_APPS: '50', PLUGIN_APPS_PER_ISOLATE: '1', PLUGIN_ISOLATE_MEMORY_MB: '16' }));
    expect(options).toEqual({ maxApps: 50, appsPerIsolate: 1, memoryLimitMb: 16 });
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
  ])('refuse %s=%s, naming the variable', (name, value) => {
    expect(() => loadConfig({ [name]: value })).toThrow(new RegExp(`^invalid configuration: ${name} `));
  });
});
