/**
 * `POST /api/formatters/examples`: a Device Repository codec (script + codec YAML) run against the
 * YAML's examples in the production sandbox, each judged as TTS's runner judges it; nothing stored.
 */
import { readFileSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runCodecExamples } from '../../plugin/pipeline/codec-examples.js';
import { PluginHarness } from '../helpers/plugin-harness.js';
import { expectError } from '../helpers/tts-bodies.js';

const read = (path: string) => readFileSync(new URL(path, import.meta.url), 'utf8');
const CLIMATE = read('../sandbox/codecs/climate-es5.js');
const CLIMATE_YAML = read('../fixtures/codecs/climate-es5.yaml');
const NORMALIZED_YAML = read('../fixtures/codecs/climate-es5-normalized.yaml');
const NORMALIZER = `
function normalizeUplink(input) {
  return {
    data: {
      air: { temperature: input.data.temperature, relativeHumidity: input.data.humidity, pressure: input.data.pressure },
      battery: input.data.battery_mv / 1000
    }
  };
}`;

/** A one-section YAML of uplink examples, each `input`/`output` given as YAML flow text. */
function uplinkYaml(...examples: { input: string; output: string }[]): string {
  const items = examples.map((e, i) => `    - description: example ${i}\n      input: ${e.input}\n      output: ${e.output}\n`);
  return `uplinkDecoder:\n  fileName: codec.js\n  examples:\n${items.join('')}`;
}

describe('codec examples (POST /api/formatters/examples)', () => {
  let plugin: PluginHarness;
  beforeEach(async () => {
    plugin = await new PluginHarness().start();
  });
  afterEach(async () => {
    await plugin.destroy();
  });

  const run = (body: unknown) => plugin.request('POST', '/api/formatters/examples', { body });

  /** Everything the tool must leave untouched, as the API lists it. */
  const stored = () =>
    Promise.all(['/api/devices', '/api/buckets', '/api/dead-letters', '/api/events?limit=1000'].map(async (path) => (await plugin.request('GET', path)).body));

  it('passes every example of a Device Repository codec, all three sections', async () => {
    const res = await run({ script: CLIMATE, yaml: CLIMATE_YAML });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ ok: true, counts: { passed: 8, failed: 0 } });
    const examples = res.body.examples as { section: string; index: number; ok: boolean }[];
    expect(examples.map((e) => [e.section, e.index, e.ok])).toEqual([
      ['uplinkDecoder', 0, true],
      ['uplinkDecoder', 1, true],
      ['uplinkDecoder', 2, true],
      ['uplinkDecoder', 3, true],
      ['downlinkEncoder', 0, true],
      ['downlinkEncoder', 1, true],
      ['downlinkDecoder', 0, true],
      ['downlinkDecoder', 1, true],
    ]);
    const data = { temperature: 23.1, humidity: 40, pressure: 1012.4, battery_mv: 3700, battery: 100, sensor: 'CS-200' };
    expect(res.body.examples[0]).toEqual({
      section: 'uplinkDecoder',
      index: 0,
      description: 'Temperature, humidity, pressure and battery',
      ok: true,
      // 0x.. in the YAML are numbers (YAML 1.2 core schema)
      input: { fPort: 1, bytes: [0, 231, 80, 39, 140, 14, 116], recvTime: '2025-04-16T12:00:00Z' },
      expected: { data, warnings: [] },
      actual: { data, warnings: [] },
      differences: [],
      logs: [],
      warnings: [],
    });
    expect(res.body.examples[1]).toMatchObject({ ok: true, actual: { warnings: ['low battery'] }, warnings: ['low battery'] });
    // an expected failure passes with the codec's errors, joined as TTS reports them
    expect(res.body.examples[2]).toMatchObject({ ok: true, actual: { errors: ['unknown fPort 2'] }, error: { kind: 'contract', message: 'unknown fPort 2' } });
    expect(res.body.examples[4]).toMatchObject({ ok: true, input: { data: { interval_minutes: 600, led: true } }, actual: { bytes: [1, 2, 88, 1], fPort: 3 } });
    expect(res.body.examples[5]).toMatchObject({
      ok: true,
      expected: { errors: ['interval_minutes must be 1..1440', 'led must be a boolean'] },
      actual: { errors: ['interval_minutes must be 1..1440, led must be a boolean'] },
    });
    expect(res.body.examples[6]).toMatchObject({ ok: true, actual: { data: { interval_minutes: 600, led: true } } });
  });

  it('fails an example whose expected value is wrong, marking the path with both values', async () => {
    const res = await run({ script: CLIMATE, yaml: CLIMATE_YAML.replace('temperature: 23.1', 'temperature: 23.10001') });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ ok: false, counts: { passed: 7, failed: 1 } });
    expect(res.body.examples[0]).toMatchObject({ ok: false, differences: [{ path: '/data/temperature', expected: 23.10001, actual: 23.1 }] });
    expect(res.body.examples[0].error).toBeUndefined();
  });

  it('judges warnings always (none expected means none) and members missing on either side', async () => {
    const yaml = uplinkYaml(
      { input: '{fPort: 1, bytes: [0xFF, 0x38, 0x64, 0x27, 0x10, 0x0B, 0x54]}', output: '{data: {temperature: -20, humidity: 50, pressure: 1000, battery_mv: 2900, battery: 13, sensor: CS-200}}' },
      { input: '{fPort: 1, bytes: [0, 231, 80, 39, 140, 14, 116]}', output: '{data: {temperature: 23.1, humidity: 40, pressure: 1012.4, battery_mv: 3700, battery: 100, dew_point: 9}}' },
    );
    const res = await run({ script: CLIMATE, yaml });
    expect(res.body.examples[0]).toMatchObject({ ok: false, differences: [{ path: '/warnings/0', actual: 'low battery' }] });
    expect(res.body.examples[0].differences[0]).not.toHaveProperty('expected');
    expect(res.body.examples[1].differences).toEqual([
      { path: '/data/dew_point', expected: 9 },
      { path: '/data/sensor', actual: 'CS-200' },
    ]);
  });

  it('passes an expected failure only when the codec fails with exactly those errors', async () => {
    const yaml = uplinkYaml(
      { input: '{fPort: 2, bytes: [1]}', output: "{errors: ['unknown fPort 2']}" },
      { input: '{fPort: 1, bytes: [0, 231, 80, 39, 140, 14, 116]}', output: "{errors: ['unknown fPort 1']}" },
      { input: '{fPort: 2, bytes: [1]}', output: "{errors: ['unknown port']}" },
      { input: '{fPort: 2, bytes: [1]}', output: '{data: {temperature: 1}}' },
    );
    const res = await run({ script: CLIMATE, yaml });
    expect(res.body.counts).toEqual({ passed: 1, failed: 3 });
    const [right, succeeded, otherText, unexpected] = res.body.examples;
    expect(right).toMatchObject({ ok: true, differences: [] });
    // the codec succeeded: no errors, and its data is not judged against an expected failure
    expect(succeeded).toMatchObject({ ok: false, differences: [{ path: '/errors', expected: ['unknown fPort 1'] }] });
    expect(succeeded.actual.data).toMatchObject({ temperature: 23.1 });
    expect(otherText).toMatchObject({ ok: false, differences: [{ path: '/errors', expected: ['unknown port'], actual: ['unknown fPort 2'] }] });
    expect(unexpected).toMatchObject({
      ok: false,
      differences: [
        { path: '/errors', actual: ['unknown fPort 2'] },
        { path: '/data', expected: { temperature: 1 } },
      ],
    });
  });

  it('compares the downlink encoder\'s bytes and fPort, and the downlink decoder\'s data', async () => {
    const yaml = `
downlinkEncoder:
  examples:
    - input: { data: { interval_minutes: 600, led: false } }
      output: { bytes: [1, 2, 88, 1], fPort: 4 }
    - input: { data: { interval_minutes: 1, led: true }, fPort: 9 }
      output: { bytes: [1, 0, 1, 1] }
downlinkDecoder:
  examples:
    - input: { fPort: 3, bytes: [1, 0, 60, 0] }
      output: { data: { interval_minutes: 60, led: true } }
`;
    const res = await run({ script: CLIMATE, yaml });
    const [encoded, portless, decoded] = res.body.examples;
    expect(encoded).toMatchObject({
      section: 'downlinkEncoder',
      description: '',
      ok: false,
      actual: { bytes: [1, 2, 88, 0], fPort: 3 },
      differences: [
        { path: '/bytes/3', expected: 1, actual: 0 },
        { path: '/fPort', expected: 4, actual: 3 },
      ],
    });
    // fPort is judged only when the example gives one
    expect(portless).toMatchObject({ ok: true, input: { fPort: 9 }, actual: { bytes: [1, 0, 1, 1], fPort: 3 } });
    expect(decoded).toMatchObject({ section: 'downlinkDecoder', ok: false, differences: [{ path: '/data/led', expected: true, actual: false }] });
  });

  it('compares normalizedOutput with the measurements the plugin would store', async () => {
    const pass = await run({ script: CLIMATE + NORMALIZER, yaml: NORMALIZED_YAML });
    expect(pass.body).toMatchObject({ ok: true, counts: { passed: 2, failed: 0 } });
    expect(pass.body.examples[0].actual.normalizedOutput).toEqual({
      data: [{ air: { temperature: 23.1, relativeHumidity: 40, pressure: 1012.4 }, battery: 3.7 }],
      warnings: [],
    });

    const wrong = await run({ script: CLIMATE + NORMALIZER, yaml: NORMALIZED_YAML.replace('battery: 3.7', 'battery: 3.6') });
    expect(wrong.body.examples[0]).toMatchObject({ ok: false, differences: [{ path: '/normalizedOutput/data/0/battery', expected: 3.6, actual: 3.7 }] });

    // out of range: dropped with a warning, as it would be before storing
    const invalid = await run({ script: CLIMATE + NORMALIZER.replace('input.data.humidity', 'input.data.humidity * 3'), yaml: NORMALIZED_YAML });
    expect(invalid.body.examples[0]).toMatchObject({
      ok: false,
      differences: [
        { path: '/normalizedOutput/data/0/air/relativeHumidity', expected: 40 },
        { path: '/normalizedOutput/warnings/0', actual: expect.stringContaining('measurement 1: ') },
      ],
    });

    const throwing = await run({ script: `${CLIMATE}\nfunction normalizeUplink(input) { return input.data.nothing.here; }`, yaml: NORMALIZED_YAML });
    expect(throwing.body.examples[0]).toMatchObject({
      ok: false,
      actual: { data: { temperature: 23.1 }, normalizedOutput: { warnings: [] } },
      error: { kind: 'runtime' },
    });

    // without a normalizer the decoded data is no measurement: nothing to compare with
    const none = await run({ script: CLIMATE, yaml: NORMALIZED_YAML });
    expect(none.body.examples[0]).toMatchObject({ ok: false, differences: [{ path: '/normalizedOutput', expected: { data: [expect.any(Object)] } }] });
    expect(none.body.examples[0].actual).not.toHaveProperty('normalizedOutput');
  });

  it('fails every example unrun when the script does not compile, as the test tool answers a broken formatter', async () => {
    const res = await run({ script: 'function decodeUplink(input) {\n  return {;\n}', yaml: CLIMATE_YAML });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ ok: false, counts: { passed: 0, failed: 8 } });
    for (const example of res.body.examples) {
      expect(example).toMatchObject({ ok: false, actual: null, differences: [], error: { kind: 'syntax', line: 2 } });
    }
  });

  it('gives an endless loop a timeout per example without hanging, and stops at the run\'s time budget', async () => {
    const loop = 'function decodeUplink(input) { while (true) {} }\nfunction encodeDownlink(input) { for (;;) {} }\nfunction decodeDownlink(input) { while (1) {} }';
    const started = Date.now();
    const res = await run({ script: loop, yaml: CLIMATE_YAML, timeout_ms: 30 });
    expect(Date.now() - started).toBeLessThan(8000);
    expect(res.body.counts).toEqual({ passed: 0, failed: 8 });
    for (const example of res.body.examples) expect(example).toMatchObject({ ok: false, error: { kind: 'timeout' } });

    const topLevel = await run({ script: `while (true) {}\n${CLIMATE}`, yaml: CLIMATE_YAML, timeout_ms: 30 });
    for (const example of topLevel.body.examples) expect(example).toMatchObject({ ok: false, actual: null, error: { kind: 'timeout' } });

    // a budget smaller than one call: the first runs, the rest are failed unrun
    const budget = await runCodecExamples(plugin.app.services, { script: loop, yaml: CLIMATE_YAML, timeout_ms: 30 }, 10);
    expect(budget.examples[0].error?.kind).toBe('timeout');
    for (const example of budget.examples.slice(1)) expect(example).toMatchObject({ ok: false, actual: null, error: { kind: 'limit' } });
  });

  it('uses the profile\'s time limit unless timeout_ms is given', async () => {
    const slow = `function decodeUplink(input) { var end = Date.now() + 60; while (Date.now() < end) {} return { data: { done: true } }; }`;
    const yaml = uplinkYaml({ input: '{fPort: 1, bytes: [1]}', output: '{data: {done: true}}' });
    for (const [appId, timeoutMs] of [['default', 2000], ['hasty-app', 20]] as const) {
      const put = await plugin.request('PUT', `/api/profiles/${appId}`, { body: { formatter: { type: 'none', timeout_ms: timeoutMs } } });
      expect(put.status).toBeLessThan(300);
    }
    expect((await run({ script: slow, yaml })).body.examples[0]).toMatchObject({ ok: true });
    expect((await run({ app_id: 'orchard-app', script: slow, yaml })).body.examples[0]).toMatchObject({ ok: true });
    expect((await run({ app_id: 'hasty-app', script: slow, yaml })).body.examples[0]).toMatchObject({ ok: false, error: { kind: 'timeout' } });
    expect((await run({ app_id: 'hasty-app', script: slow, yaml, timeout_ms: 2000 })).body.examples[0]).toMatchObject({ ok: true });
  });

  it('stores nothing: no device, bucket, dead letter or event, even for failing codecs', async () => {
    const before = await stored();
    await run({ script: CLIMATE, yaml: CLIMATE_YAML });
    await run({ script: 'function decodeUplink() { throw new Error("broken"); }', yaml: CLIMATE_YAML });
    await run({ script: 'function decodeUplink() { while (true) {} }', yaml: CLIMATE_YAML, timeout_ms: 20 });
    expect(await stored()).toEqual(before);
    expect(before[0].items).toEqual([]);
  });

  describe('refuses a codec YAML it cannot run, with 400 invalid_codec and where', () => {
    const refused = async (yaml: string, details: Record<string, unknown>, message?: string) => {
      const res = await run({ script: CLIMATE, yaml });
      expectError(res, 400, 'invalid_codec');
      expect(res.body.error.details).toEqual(details);
      if (message) expect(res.body.error.message).toBe(message);
    };

    it.each(['256', '-1', '1.5', '"1"'])('bytes with %s', async (byte) => {
      const path = 'uplinkDecoder.examples[1].input.bytes';
      const yaml = uplinkYaml({ input: '{fPort: 1, bytes: [1]}', output: '{data: {}}' }, { input: `{fPort: 1, bytes: [1, ${byte}]}`, output: '{data: {}}' });
      await refused(yaml, { path }, `${path} must be an array of integers 0..255`);
    });

    it.each([
      ['an unknown section (a misspelt one would leave its examples unchecked)', 'uplinkDecoders:\n  examples: []\n', { path: 'uplinkDecoders' }],
      ['an unknown key in an example', uplinkYaml({ input: '{fPort: 1, bytes: [1]}', output: '{data: {}}' }).replace('      output:', '      ouput:'), { path: 'uplinkDecoder.examples[0].ouput' }],
      ['normalizedOutput outside uplinkDecoder', 'downlinkDecoder:\n  examples:\n    - input: {fPort: 1, bytes: [1]}\n      output: {data: {}}\n      normalizedOutput: {data: []}\n', { path: 'downlinkDecoder.examples[0].normalizedOutput' }],
      ['fPort 0', uplinkYaml({ input: '{fPort: 0, bytes: [1]}', output: '{data: {}}' }), { path: 'uplinkDecoder.examples[0].input.fPort' }],
      ['an output without data or errors', uplinkYaml({ input: '{fPort: 1, bytes: [1]}', output: '{warnings: []}' }), { path: 'uplinkDecoder.examples[0].output.data' }],
      ['a recvTime that is no time', uplinkYaml({ input: '{fPort: 1, bytes: [1], recvTime: yesterday}', output: '{data: {}}' }), { path: 'uplinkDecoder.examples[0].input.recvTime' }],
      ['no examples at all', 'uplinkDecoder:\n  fileName: codec.js\n', {}],
      ['a list at the top', '- 1\n', {}],
      ['a YAML syntax error', 'uplinkDecoder:\n  examples: [\n', { line: 3, column: 1 }],
      ['a key given twice', 'uplinkDecoder:\n  examples: []\nuplinkDecoder:\n  examples: []\n', { line: 3, column: 1 }],
      ['a complex key', '? [a]\n: 1\n', { line: 1, column: 3 }],
      ['a tag', uplinkYaml({ input: '{fPort: 1, bytes: !!binary AQ==}', output: '{data: {}}' }), { line: 5, column: 32 }],
      ['a second document', uplinkYaml({ input: '{fPort: 1, bytes: [1]}', output: '{data: {}}' }) + '---\na: 1\n', { line: 7, column: 1 }],
    ])('%s', async (_name, yaml, details) => {
      await refused(yaml, details);
    });

    it('more than 200 examples', async () => {
      const many = Array.from({ length: 201 }, () => ({ input: '{fPort: 1, bytes: [1]}', output: '{data: {}}' }));
      await refused(uplinkYaml(...many), { path: 'uplinkDecoder.examples[200]' }, 'the codec YAML has more than 200 examples');
    });

    it('data nested deeper than the plugin\'s JSON limit (by indentation)', async () => {
      const deep = Array.from({ length: 70 }, (_, i) => `${' '.repeat(10 + 2 * i)}k:`).join('\n');
      await refused(uplinkYaml({ input: '{fPort: 1, bytes: [1]}', output: `\n        data:\n${deep} 1` }), { path: 'uplinkDecoder.examples[0]' });
    });
  });

  it('refuses hostile YAML quickly: an alias bomb, deep nesting', async () => {
    let bomb = 'a: &a [x, x, x, x, x, x, x, x, x]\n';
    for (let i = 1; i < 10; i++) bomb += `${'abcdefghij'[i]}: &${'abcdefghij'[i]} [${Array(9).fill(`*${'abcdefghij'[i - 1]}`).join(', ')}]\n`;
    const inputs = [bomb, `uplinkDecoder: ${'['.repeat(60_000)}`, `uplinkDecoder:\n  examples:\n    ${'- '.repeat(30_000)}1\n`, `${'? '.repeat(300)}a\n`];
    for (const yaml of inputs) {
      const started = Date.now();
      const res = await run({ script: CLIMATE, yaml });
      expectError(res, 400, 'invalid_codec');
      expect(Date.now() - started).toBeLessThan(2000);
    }
  });

  it('refuses a YAML over its size limit (400) and a body over the body limit (413)', async () => {
    const long = `# ${'x'.repeat(70 * 1024)}\n${CLIMATE_YAML}`;
    const res = await run({ script: CLIMATE, yaml: long });
    expectError(res, 400, 'invalid_body');
    expect(res.body.error.details.errors).toEqual([{ path: '/yaml', message: expect.stringContaining('65536') }]);
    expectError(await run({ script: CLIMATE, yaml: 'x'.repeat(1100 * 1024) }), 413, 'payload_too_large');
  });

  it.each([
    ['no script', { yaml: CLIMATE_YAML }],
    ['an empty YAML', { script: CLIMATE, yaml: '' }],
    ['an unknown field', { script: CLIMATE, yaml: CLIMATE_YAML, formatter: { type: 'none' } }],
    ['timeout_ms 6000', { script: CLIMATE, yaml: CLIMATE_YAML, timeout_ms: 6000 }],
  ])('refuses a body with %s (400 invalid_body)', async (_name, body) => {
    expectError(await run(body), 400, 'invalid_body');
  });

  it('requires the admin token', async () => {
    const res = await plugin.request('POST', '/api/formatters/examples', { body: { script: CLIMATE, yaml: CLIMATE_YAML }, token: null });
    expect(res.status).toBe(401);
  });
});
