/**
 * normalizeUplink as The Things Stack runs it (after decodeUplink, `{data}` in, `{data, warnings?,
 * errors?}` out, each measurement validated against the Device Repository's schema), with the
 * plugin's two departures: a failing normalizer leaves the decoded data stored, and unknown or
 * mistyped fields are dropped with a warning instead of failing the uplink.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { FormatterRuntime } from '../../sandbox/runtime.js';
import { FormatterPool } from '../../sandbox/formatter-pool.js';
import { FORMATTER_PROCESS } from '../helpers/formatter-process-entry.js';
import { js, uplink } from './helpers.js';

const runtime = new FormatterRuntime();
afterAll(() => runtime.dispose());

/** A climate sensor: bytes 0-1 temperature in 0.1 °C (signed), byte 2 humidity in 0.5 %. */
const DECODE = `
function decodeUplink(input) {
  var b = input.bytes;
  var t = (b[0] << 8 | b[1]); if (t > 32767) t -= 65536;
  return { data: { temperature: t / 10, humidity: b[2] / 2 }, warnings: b[2] > 200 ? ['humidity sensor saturated'] : [] };
}
`;
const withNormalizer = (body: string) => js(`${DECODE}\nfunction normalizeUplink(input) {\n${body}\n}`);

describe('normalizeUplink present', () => {
  const spec = withNormalizer(`
    return { data: { air: { temperature: input.data.temperature, relativeHumidity: input.data.humidity } } };
  `);

  it('runs after decodeUplink with {data} and reports the measurement beside the data', async () => {
    const report = await runtime.runUplink('norm-present', spec, uplink('00 E7 50'));
    expect(report.ok).toBe(true);
    expect(report.output).toEqual({ temperature: 23.1, humidity: 40 });
    expect(report.normalized).toEqual({ measurements: [{ air: { temperature: 23.1, relativeHumidity: 40 } }], warnings: [] });
  });

  it('drops an out-of-range value with TTS\'s warning and keeps the rest of the measurement', async () => {
    // 0xFA = 250 -> 125 % humidity
    const report = await runtime.runUplink('norm-present', spec, uplink('00 E7 FA'));
    expect(report.warnings).toEqual(['humidity sensor saturated']);
    expect(report.normalized).toEqual({
      measurements: [{ air: { temperature: 23.1 } }],
      warnings: ['measurement 1: `air.relativeHumidity` should be equal or less than `100`'],
    });
  });

  it('is not run when decodeUplink returned errors (the uplink fails as before)', async () => {
    const failing = js(`function decodeUplink() { return { data: {}, errors: ['bad frame'] }; }
      function normalizeUplink() { throw new Error('must not run'); }`);
    const report = await runtime.runUplink('norm-skip', failing, uplink('00'));
    expect(report).toMatchObject({ ok: false, error: { kind: 'contract', message: 'bad frame' } });
    expect(report.normalized).toBeUndefined();
  });

  it('is not run when the network normalized the uplink already', async () => {
    const report = await runtime.runUplink('norm-present', spec, uplink('00 E7 50', 1, { networkNormalized: true }));
    expect(report.output).toEqual({ temperature: 23.1, humidity: 40 });
    expect(report.normalized).toBeUndefined();
  });
});

describe('normalizeUplink failing: the normalization fails, the decoded data stands', () => {
  it('throwing: a runtime error with its line', async () => {
    const spec = js(`${DECODE}\nfunction normalizeUplink(input) {\n  return input.data.nothing.here;\n}`);
    const report = await runtime.runUplink('norm-throw', spec, uplink('00 E7 50'));
    expect(report.ok).toBe(true);
    expect(report.output).toEqual({ temperature: 23.1, humidity: 40 });
    expect(report.normalized?.measurements).toEqual([]);
    expect(report.normalized?.error).toMatchObject({ kind: 'runtime', line: 9 });
    expect(report.normalized?.error?.message).toMatch(/TypeError: Cannot read properties of undefined/);
  });

  it('returning errors: a contract error with them, warnings kept', async () => {
    const spec = withNormalizer(`return { data: { air: { temperature: 1 } }, warnings: ['calibrating'], errors: ['no reference', 'drift'] };`);
    const report = await runtime.runUplink('norm-errors', spec, uplink('00 E7 50'));
    expect(report.ok).toBe(true);
    expect(report.normalized).toEqual({ measurements: [], warnings: ['calibrating'], error: { kind: 'contract', message: 'no reference, drift' } });
  });

  it('returning no object, or data that is neither an object nor an array', async () => {
    const none = await runtime.runUplink('norm-none', withNormalizer('return 42;'), uplink('00 E7 50'));
    expect(none.normalized?.error?.message).toBe('normalizeUplink must return an object {data, warnings?, errors?}, got a number');
    const text = await runtime.runUplink('norm-text', withNormalizer("return { data: 'warm' };"), uplink('00 E7 50'));
    expect(text.normalized?.error?.message).toBe('normalizeUplink output.data must be an object or an array of objects, got a string');
    expect(text.output).toEqual({ temperature: 23.1, humidity: 40 });
  });

  it('returning what is not JSON (NaN, a function): the normalization fails, not the uplink', async () => {
    const report = await runtime.runUplink('norm-nan', withNormalizer('return { data: { air: { temperature: NaN } } };'), uplink('00 E7 50'));
    expect(report.ok).toBe(true);
    expect(report.normalized?.error).toEqual({ kind: 'contract', message: 'normalizeUplink output.data.air.temperature is NaN' });
  });

  it('a normalizer whose output throws when read (toJSON, a getter), or that makes `data` circular: the normalization fails, the data stands', async () => {
    const toJson = await runtime.runUplink('norm-tojson', withNormalizer('return { data: { toJSON: function () { throw new Error("boom"); } } };'), uplink('00 E7 50'));
    expect(toJson).toMatchObject({ ok: true, output: { temperature: 23.1, humidity: 40 } });
    expect(toJson.normalized?.error).toMatchObject({ kind: 'runtime', message: 'Error: boom' });
    const getter = await runtime.runUplink('norm-getter', withNormalizer('return { get data() { throw new Error("boom"); } };'), uplink('00 E7 50'));
    expect(getter).toMatchObject({ ok: true, output: { temperature: 23.1, humidity: 40 } });
    expect(getter.normalized?.error?.message).toBe('Error: boom');
    const cycle = await runtime.runUplink('norm-cycle', withNormalizer('input.data.self = input.data; return { data: { air: { temperature: 1 } } };'), uplink('00 E7 50'));
    expect(cycle).toMatchObject({ ok: true, output: { temperature: 23.1, humidity: 40 } });
    expect(cycle.normalized?.measurements).toEqual([{ air: { temperature: 1 } }]);
  });

  it('decodeUplink returning nothing or NaN fails as it does without a normalizer', async () => {
    const nothing = await runtime.runUplink('norm-nothing', js('function decodeUplink() {}\nfunction normalizeUplink() { return { data: {} }; }'), uplink('00'));
    expect(nothing.error).toEqual({ kind: 'contract', message: 'decodeUplink must return an object {data, warnings?, errors?}, got undefined' });
    const nan = await runtime.runUplink('norm-nan-data', js('function decodeUplink() { return { data: { t: NaN } }; }\nfunction normalizeUplink() { return { data: {} }; }'), uplink('00'));
    expect(nan.error).toEqual({ kind: 'contract', message: 'output.data.t is NaN' });
  });

  it('no data: nothing normalized and no failure (as TTS)', async () => {
    const report = await runtime.runUplink('norm-null', withNormalizer('return { data: null, warnings: [] };'), uplink('00 E7 50'));
    expect(report.normalized).toEqual({ measurements: [], warnings: [] });
  });

  it('an endless normalizer is the uplink\'s timeout (one time limit for both functions)', async () => {
    const report = await runtime.runUplink('norm-loop', withNormalizer('for (;;) {}'), uplink('00 E7 50'));
    expect(report).toMatchObject({ ok: false, error: { kind: 'timeout' } });
  });
});

describe('measurements validated against the normalized payload schema', () => {
  it('an array: one measurement each, numbered from 1 in warnings; empty ones left out', async () => {
    const spec = withNormalizer(`return { data: [
      { time: '2026-12-03T10:00:00Z', air: { temperature: 20.5 } },
      { air: { temperature: -300 } },
      { soil: { moisture: 31, ec: 1.2, pH: 6.5, depth: 20 }, wind: { speed: 3.4, direction: 360 } },
      'not a measurement'
    ] };`);
    const report = await runtime.runUplink('norm-array', spec, uplink('00 E7 50'));
    expect(report.normalized).toEqual({
      measurements: [
        { time: '2026-12-03T10:00:00Z', air: { temperature: 20.5 } },
        { soil: { moisture: 31, ec: 1.2, pH: 6.5, depth: 20 }, wind: { speed: 3.4 } },
      ],
      warnings: [
        'measurement 2: `air.temperature` should be equal or greater than `-273.15`',
        'measurement 3: `wind.direction` should be less than `360`',
        'measurement 4: must be an object, got a string',
      ],
    });
  });

  it('unknown fields and wrong types are dropped with warnings, the valid fields kept', async () => {
    const spec = withNormalizer(`return { data: {
      air: { temperature: '21', relativeHumidity: 45, smell: 'fresh', location: 'indoor' },
      battery: 3.6,
      rain: 2,
      wind: 4,
      time: 'yesterday',
      action: { motion: { detected: true, count: 3 }, contactState: 'ajar' },
      water: { leak: 'no', temperature: { min: 4, max: 'cold' } },
      metering: { water: { total: 1234.5 } },
      position: { latitude: 52.37, longitude: 4.89 }
    } };`);
    const report = await runtime.runUplink('norm-fields', spec, uplink('00 E7 50'));
    expect(report.normalized?.measurements).toEqual([
      {
        air: { relativeHumidity: 45, location: 'indoor' },
        battery: 3.6,
        action: { motion: { detected: true, count: 3 } },
        water: { leak: 'no', temperature: { min: 4 } },
        metering: { water: { total: 1234.5 } },
        position: { latitude: 52.37, longitude: 4.89 },
      },
    ]);
    expect(report.normalized?.warnings).toEqual([
      'measurement 1: invalid field type of `air.temperature`',
      'measurement 1: unknown field `air.smell`',
      'measurement 1: unknown field `rain`',
      'measurement 1: invalid field type of `wind`',
      'measurement 1: `time` is not an RFC 3339 date-time',
      'measurement 1: `action.contactState` should be one of `open`, `closed`',
      'measurement 1: invalid field type of `water.temperature.max`',
    ]);
  });

  it('a prototype key from user code is an unknown field, never a schema entry', async () => {
    const spec = withNormalizer(`return { data: { constructor: 1, toString: 2, air: { hasOwnProperty: 3 } } };`);
    const report = await runtime.runUplink('norm-proto', spec, uplink('00 E7 50'));
    expect(report.normalized?.measurements).toEqual([]);
    expect(report.normalized?.warnings).toEqual([
      'measurement 1: unknown field `constructor`',
      'measurement 1: unknown field `toString`',
      'measurement 1: unknown field `air.hasOwnProperty`',
    ]);
  });

  it('at most 64 measurements per uplink are kept, saying so', async () => {
    const spec = withNormalizer(`var list = []; for (var i = 0; i < 100; i++) list.push({ battery: i }); return { data: list };`);
    const report = await runtime.runUplink('norm-many', spec, uplink('00 E7 50'));
    expect(report.normalized?.measurements).toHaveLength(64);
    expect(report.normalized?.warnings).toEqual(['measurements after the 64th dropped (100 returned)']);
  });

  it('warnings of a hostile normalizer are bounded like every other formatter text', async () => {
    const spec = withNormalizer(`var w = []; for (var i = 0; i < 40; i++) w.push('x'.repeat(1500)); return { data: { foo: 1 }, warnings: w };`);
    const report = await runtime.runUplink('norm-noisy', spec, uplink('00 E7 50'));
    const warnings = report.normalized?.warnings ?? [];
    // 40 of its own and one for the unknown field, cut to 50 with a last line saying so
    expect(warnings).toHaveLength(41);
    expect(warnings[0]).toMatch(/^x{1000}… \(cut to 1000 characters\)$/);
    const flood = await runtime.runUplink('norm-flood', withNormalizer(`var w = []; for (var i = 0; i < 500; i++) w.push('w' + i); return { data: {}, warnings: w };`), uplink('00 E7 50'));
    expect(flood.normalized?.warnings).toHaveLength(51);
    expect(flood.normalized?.warnings[50]).toBe('… 450 more warnings dropped (limit 50)');
    const huge = await runtime.runUplink('norm-huge', withNormalizer(`return { data: {}, warnings: ['x'.repeat(100000)] };`), uplink('00 E7 50'));
    expect(huge.ok).toBe(true);
    expect(huge.normalized?.error).toEqual({ kind: 'contract', message: 'normalizeUplink output is larger than 65536 characters' });
  });
});

describe('no normalizer: decoded data that is a measurement is used as one (as TTS)', () => {
  it('TTS-style decoder returning normalized fields', async () => {
    const spec = js(`function decodeUplink(input) { return { data: { air: { temperature: input.bytes[0] - 40, relativeHumidity: 120 } } }; }`);
    const report = await runtime.runUplink('norm-decoded', spec, uplink('3C'));
    expect(report.normalized).toEqual({
      measurements: [{ air: { temperature: 20 } }],
      warnings: ['measurement 1: `air.relativeHumidity` should be equal or less than `100`'],
    });
  });

  it('Thinger-style and legacy outputs too; anything with an unknown field or a wrong type is not one', async () => {
    const thinger = js(`module.exports.uplink = function () { return { wind: { speed: 5 } }; };`);
    expect((await runtime.runUplink('norm-thinger', thinger, uplink('00'))).normalized?.measurements).toEqual([{ wind: { speed: 5 } }]);
    const legacy = js(`function Decoder(bytes) { return { air: { temperature: 'hot' } }; }`);
    expect((await runtime.runUplink('norm-legacy', legacy, uplink('00'))).normalized).toBeUndefined();
    const vendor = js(`function decodeUplink() { return { data: { temperature: 21.5, air: { temperature: 21.5 } } }; }`);
    expect((await runtime.runUplink('norm-vendor', vendor, uplink('00'))).normalized).toBeUndefined();
  });

  it('a normalizeUplink beside a Thinger uplink is not TTS-style and does not run', async () => {
    const spec = js(`module.exports.uplink = function () { return { t: 1 }; };
      function normalizeUplink() { return { data: { air: { temperature: 1 } } }; }`);
    const report = await runtime.runUplink('norm-thinger-n', spec, uplink('00'));
    expect(report.output).toEqual({ t: 1 });
    expect(report.normalized).toBeUndefined();
  });
});

describe('through the formatter processes (what the plugin runs)', () => {
  it('carries the normalization across the process boundary', async () => {
    const pool = new FormatterPool({ processes: 1, entry: FORMATTER_PROCESS });
    try {
      const spec = withNormalizer('return { data: { air: { temperature: input.data.temperature } }, warnings: ["ok"] };');
      const report = await pool.runUplink('norm-pool', spec, uplink('00 E7 50'));
      expect(report.output).toEqual({ temperature: 23.1, humidity: 40 });
      expect(report.normalized).toEqual({ measurements: [{ air: { temperature: 23.1 } }], warnings: ['ok'] });
      const skipped = await pool.runUplink('norm-pool', spec, uplink('00 E7 50', 1, { networkNormalized: true }));
      expect(skipped.normalized).toBeUndefined();
    } finally {
      await pool.close();
    }
  });
});
