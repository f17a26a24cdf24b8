/**
 * Rules of formatters/ found unpinned by mutation testing: each test names the behaviour it fixes.
 */
import { describe, expect, it } from 'vitest';
import { boundError, boundText, boundWarnings, MAX_ERROR_CHARS, MAX_WARNINGS } from '../../formatters/bounds.js';
import { CayenneLppError, cayenneDownlink, cayenneUplink, decodeCayenneLpp } from '../../formatters/cayennelpp.js';
import type { FormatterError, JsonObject } from '../../formatters/contract.js';
import { decodeDownlinkOutput, downlinkOutput, uplinkOutput } from '../../formatters/javascript-output.js';
import { jsonDifferences, MAX_DIFFERENCES } from '../../formatters/json-diff.js';
import { noneDownlink } from '../../formatters/none.js';
import {
  decodedAsNormalized,
  decodedUplink,
  networkNormalized,
  normalizerOutput,
  parseMeasurements,
  quantityValues,
  unitOf,
} from '../../formatters/normalized-payload.js';
import { failure } from '../../formatters/outcome.js';
import { TEMPLATES, templateScript } from '../../formatters/templates.js';
import { hex, uplink } from './helpers.js';

describe('bounds', () => {
  it('keeps a text of exactly the limit as it is', () => {
    expect(boundText('abcde', 5)).toBe('abcde');
  });

  it('cuts a text one character over the limit, saying so', () => {
    expect(boundText('abcdef', 5)).toBe('abcde… (cut to 5 characters)');
  });

  it('cuts an overlong error message and keeps the rest of the error', () => {
    const error: FormatterError = { kind: 'runtime', message: 'e'.repeat(MAX_ERROR_CHARS + 1), line: 3, column: 7 };
    expect(boundError(error)).toEqual({
      kind: 'runtime',
      message: `${'e'.repeat(MAX_ERROR_CHARS)}… (cut to ${MAX_ERROR_CHARS} characters)`,
      line: 3,
      column: 7,
    });
  });

  it('keeps exactly the maximum number of warnings without a "dropped" note', () => {
    const warnings = Array.from({ length: MAX_WARNINGS }, (_, i) => `w${i}`);
    expect(boundWarnings(warnings)).toEqual(warnings);
  });

  it('says how many warnings were dropped past the maximum', () => {
    const warnings = Array.from({ length: MAX_WARNINGS + 1 }, (_, i) => `w${i}`);
    expect(boundWarnings(warnings)).toEqual([...warnings.slice(0, MAX_WARNINGS), `… 1 more warnings dropped (limit ${MAX_WARNINGS})`]);
  });
});

describe('outcome', () => {
  it('a failure without warnings has none', () => {
    const error: FormatterError = { kind: 'limit', message: 'payload too large' };
    expect(failure(error)).toEqual({ ok: false, error, warnings: [] });
  });

  it.each([1, 223])('accepts fPort %s from encodeDownlink (the application port range edges)', (fPort) => {
    expect(downlinkOutput('tts', { bytes: [1], fPort }, 5)).toEqual({ ok: true, output: { fPort, frmPayload: 'AQ==' }, warnings: [] });
  });

  it.each([
    [0, '0'],
    [224, '224'],
    [1.5, '1.5'],
    ['5', '"5"'],
  ])('refuses fPort %j from encodeDownlink', (fPort, shown) => {
    expect(downlinkOutput('tts', { bytes: [1], fPort }, 5)).toEqual({
      ok: false,
      error: { kind: 'contract', message: `encodeDownlink output.fPort must be an integer 1..223, got ${shown}` },
      warnings: [],
    });
  });
});

describe('json-diff', () => {
  it('reports member paths from the root when no path is given', () => {
    expect(jsonDifferences({ a: 1, b: [1, 2] }, { a: 2, b: [1] })).toEqual([
      { path: '/a', expected: 1, actual: 2 },
      { path: '/b/1', expected: 2, actual: undefined },
    ]);
  });

  it('finds no difference between equal values', () => {
    expect(jsonDifferences({ a: [1, { b: null }] }, { a: [1, { b: null }] })).toEqual([]);
  });

  it('reports two different scalars at the root as "/"', () => {
    expect(jsonDifferences(1, 2)).toEqual([{ path: '/', expected: 1, actual: 2 }]);
  });

  it('escapes "~" and "/" in member names as RFC 6901 says', () => {
    expect(jsonDifferences({ 'a/b': 1, 'c~d': 1 }, { 'a/b': 2, 'c~d': 2 })).toEqual([
      { path: '/a~1b', expected: 1, actual: 2 },
      { path: '/c~0d', expected: 1, actual: 2 },
    ]);
  });

  it('reports null against an object as one difference', () => {
    expect(jsonDifferences(null, { a: 1 })).toEqual([{ path: '/', expected: null, actual: { a: 1 } }]);
    expect(jsonDifferences({ a: { b: 1 } }, { a: null })).toEqual([{ path: '/a', expected: { b: 1 }, actual: null }]);
  });

  it('adds nothing to a list that already holds the maximum number of differences', () => {
    const out = jsonDifferences(
      Array.from({ length: MAX_DIFFERENCES + 10 }, (_, i) => i),
      Array.from({ length: MAX_DIFFERENCES + 10 }, () => -1),
    );
    expect(out).toHaveLength(MAX_DIFFERENCES);
    jsonDifferences('x', 'y', '/warnings', out);
    jsonDifferences({ a: 1 }, { a: 2 }, '/data', out);
    expect(out).toHaveLength(MAX_DIFFERENCES);
    expect(out.some((d) => d.path.startsWith('/warnings') || d.path.startsWith('/data'))).toBe(false);
  });
});

describe('none formatter downlink', () => {
  // Without a requested port the output has no fPort member at all, not one set to undefined.
  it('sends base64 without a requested port with no fPort', () => {
    expect(noneDownlink({ payload: 'AQI=' })).toStrictEqual({ ok: true, output: { frmPayload: 'AQI=' }, warnings: [] });
  });
});

describe('javascript output', () => {
  it('sends an Encoder result without a requested port with no fPort', () => {
    expect(downlinkOutput('legacy', [1, 2], undefined)).toStrictEqual({ ok: true, output: { frmPayload: 'AQI=' }, warnings: [] });
  });

  it('names a missing byte of an Encoder result "undefined"', () => {
    expect(downlinkOutput('legacy', [1, undefined], 2)).toEqual({
      ok: false,
      error: { kind: 'contract', message: 'Encoder result[1] must be an integer 0..255, got undefined' },
      warnings: [],
    });
  });

  it('names Decoder when a legacy uplink script returns no object', () => {
    expect(uplinkOutput('legacy', 'AQI=')).toEqual({
      ok: false,
      error: { kind: 'contract', message: 'Decoder must return a JSON object, got a string' },
      warnings: [],
    });
  });

  it('names decodeDownlink and its shape when it returns no object', () => {
    expect(decodeDownlinkOutput(null)).toEqual({
      ok: false,
      error: { kind: 'contract', message: 'decodeDownlink must return an object {data, warnings?, errors?}, got null' },
      warnings: [],
    });
  });

  it('names encodeDownlink and its shape when it returns no object', () => {
    expect(downlinkOutput('tts', [1, 2], 1)).toEqual({
      ok: false,
      error: { kind: 'contract', message: 'encodeDownlink must return an object {bytes, fPort?, warnings?, errors?}, got an array' },
      warnings: [],
    });
  });
});

describe('Cayenne LPP', () => {
  it('shows its errors as CayenneLppError', () => {
    let thrown: unknown;
    try {
      decodeCayenneLpp(hex('03'));
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(CayenneLppError);
    expect(String(thrown)).toBe('CayenneLppError: truncated Cayenne LPP data at byte 0');
  });

  it('names the type and channel of a record that has its header but no value', () => {
    expect(cayenneUplink(uplink('03 67'))).toEqual({
      ok: false,
      error: { kind: 'contract', message: 'truncated Cayenne LPP temperature on channel 3' },
      warnings: [],
    });
  });

  it('reports an unknown type in a two-byte frame as unknown, not as truncated', () => {
    expect(cayenneUplink(uplink('03 C8'))).toEqual({
      ok: false,
      error: { kind: 'contract', message: 'unknown Cayenne LPP type 200 at byte 1' },
      warnings: [],
    });
  });

  it('lets an error that is no Cayenne LPP format error through instead of blaming the payload', () => {
    const payload: JsonObject = {
      get value_1(): number {
        throw new RangeError('sensor table unavailable');
      },
    };
    expect(() => cayenneDownlink({ payload, fPort: 1 })).toThrow(RangeError);
  });

  it('sends a downlink without a requested port with no fPort', () => {
    expect(cayenneDownlink({ payload: { value_1: 1 } })).toStrictEqual({ ok: true, output: { frmPayload: 'AQBk' }, warnings: [] });
  });
});

describe('templates', () => {
  it('names the unknown template id it was asked for', () => {
    expect(() => templateScript('no-such-template')).toThrow('unknown formatter template no-such-template');
  });

  it('gives each template its own script', () => {
    for (const template of TEMPLATES) expect(templateScript(template.id)).toBe(template.script);
    expect(new Set(TEMPLATES.map((t) => t.id)).size).toBe(TEMPLATES.length);
  });
});

describe('normalized payload: field types', () => {
  it('keeps a boolean field that is a boolean, drops strings and numbers with a warning', () => {
    expect(
      parseMeasurements(
        [{ action: { motion: { detected: true } } }, { action: { motion: { detected: 'yes', count: 2 } } }, { action: { motion: { detected: 1 } } }],
        true,
      ),
    ).toEqual({
      measurements: [{ action: { motion: { detected: true } } }, { action: { motion: { count: 2 } } }],
      warnings: ['measurement 2: invalid field type of `action.motion.detected`', 'measurement 3: invalid field type of `action.motion.detected`'],
    });
  });

  it('keeps water.leak as a boolean or a string, drops a number with a warning', () => {
    expect(parseMeasurements([{ water: { leak: true } }, { water: { leak: 'slow drip' } }, { water: { leak: 1 } }], true)).toEqual({
      measurements: [{ water: { leak: true } }, { water: { leak: 'slow drip' } }],
      warnings: ['measurement 3: invalid field type of `water.leak`'],
    });
  });

  it('keeps an RFC 3339 time, drops a number, a date alone and an impossible date', () => {
    const list = [
      { time: '2024-05-01T12:00:00.5+02:00', battery: 3.6 },
      { time: 1714564800000, battery: 3.6 },
      { time: '2024-05-01', battery: 3.6 },
      { time: '2024-13-45T25:00:00Z', battery: 3.6 },
    ];
    expect(parseMeasurements(list, true)).toEqual({
      measurements: [{ time: '2024-05-01T12:00:00.5+02:00', battery: 3.6 }, { battery: 3.6 }, { battery: 3.6 }, { battery: 3.6 }],
      warnings: [
        'measurement 2: invalid field type of `time`',
        'measurement 3: `time` is not an RFC 3339 date-time',
        'measurement 4: `time` is not an RFC 3339 date-time',
      ],
    });
  });

  it('tells a choice of the wrong type from a string outside the choices', () => {
    expect(parseMeasurements([{ air: { location: 1, temperature: 20 } }, { air: { location: 'attic', temperature: 20 } }], true)).toEqual({
      measurements: [{ air: { temperature: 20 } }, { air: { temperature: 20 } }],
      warnings: ['measurement 1: invalid field type of `air.location`', 'measurement 2: `air.location` should be one of `indoor`, `outdoor`'],
    });
  });

  it('drops a number given as a string or not finite as the wrong type', () => {
    expect(parseMeasurements([{ air: { temperature: '20', relativeHumidity: 40 } }, { battery: Infinity, air: { temperature: 20 } }], true)).toEqual({
      measurements: [{ air: { relativeHumidity: 40 } }, { air: { temperature: 20 } }],
      warnings: ['measurement 1: invalid field type of `air.temperature`', 'measurement 2: invalid field type of `battery`'],
    });
  });

  it('keeps a value equal to the maximum, drops one above it', () => {
    expect(parseMeasurements([{ air: { relativeHumidity: 100 } }, { air: { relativeHumidity: 100.5, temperature: 20 } }], true)).toEqual({
      measurements: [{ air: { relativeHumidity: 100 } }, { air: { temperature: 20 } }],
      warnings: ['measurement 2: `air.relativeHumidity` should be equal or less than `100`'],
    });
  });

  it('in strict mode, refuses a list item that is not an object; leniently, drops it with a warning', () => {
    expect(parseMeasurements([7], false)).toBeNull();
    expect(parseMeasurements([7], true)).toEqual({ measurements: [], warnings: ['measurement 1: must be an object, got a number'] });
  });
});

describe('normalized payload: decoded data taken as a measurement', () => {
  it('takes valid decoded data as a measurement', () => {
    expect(decodedAsNormalized({ battery: 3.6, air: { temperature: 21 } })).toEqual({
      measurements: [{ battery: 3.6, air: { temperature: 21 } }],
      warnings: [],
    });
  });

  it.each([
    ['a wrong type', { battery: 'full', air: { temperature: 20 } }],
    ['a time that is not RFC 3339', { time: 'yesterday', battery: 3.6 }],
    ['an unknown nested field', { air: { temperature: 20, dewPoint: 12 } }],
  ])('does not take decoded data with %s as a measurement', (_, data) => {
    expect(decodedAsNormalized(data)).toBeUndefined();
  });

  it.each([
    ['an empty object', {}],
    ['only an empty group', { soil: {} }],
  ])('does not take %s as a measurement', (_, data: JsonObject) => {
    expect(decodedAsNormalized(data)).toBeUndefined();
  });

  it.each([
    [{ battery: -1, air: { temperature: 20 } }, { air: { temperature: 20 } }, '`battery` should be equal or greater than `0`'],
    [{ wind: { direction: 360, speed: 3 } }, { wind: { speed: 3 } }, '`wind.direction` should be less than `360`'],
    [{ air: { location: 'attic', temperature: 20 } }, { air: { temperature: 20 } }, '`air.location` should be one of `indoor`, `outdoor`'],
  ])('takes %j as a measurement, dropping the value out of range with a warning', (data, kept, warning) => {
    expect(decodedAsNormalized(data)).toEqual({ measurements: [kept], warnings: [`measurement 1: ${warning}`] });
  });
});

describe('normalized payload: normalizeUplink output', () => {
  it('without data gives no measurements and no error, keeping the warnings', () => {
    expect(normalizerOutput({ warnings: ['no reading'] })).toEqual({ measurements: [], warnings: ['no reading'] });
    expect(normalizerOutput({ data: null })).toEqual({ measurements: [], warnings: [] });
  });

  it('with data that is neither an object nor a list fails as a contract error, keeping the warnings', () => {
    expect(normalizerOutput({ data: 5, warnings: ['w'] })).toEqual({
      measurements: [],
      warnings: ['w'],
      error: { kind: 'contract', message: 'normalizeUplink output.data must be an object or an array of objects, got a number' },
    });
  });

  const thrownError = (head: string, stack: string): FormatterError => ({ kind: 'runtime', message: `${head}\n${stack}` });

  it('keeps the decoded data with no measurements when normalizeUplink threw', () => {
    const reply = { decoded: { data: { t: 1 } }, thrown: ['Error: boom', 'at normalizeUplink (line 3)'] };
    expect(decodedUplink('tts', true, reply, thrownError)).toEqual({
      ok: true,
      output: {
        data: { t: 1 },
        normalized: { measurements: [], warnings: [], error: { kind: 'runtime', message: 'Error: boom\nat normalizeUplink (line 3)' } },
      },
      warnings: [],
    });
  });

  it('keeps the decoded data with no measurements when normalizeUplink returned no JSON', () => {
    const reply = { decoded: { data: { t: 1 } }, unfit: 'output is not JSON: a function at data.read' };
    expect(decodedUplink('tts', true, reply, thrownError)).toEqual({
      ok: true,
      output: {
        data: { t: 1 },
        normalized: { measurements: [], warnings: [], error: { kind: 'contract', message: 'normalizeUplink output is not JSON: a function at data.read' } },
      },
      warnings: [],
    });
  });
});

describe('normalized payload: network normalized and stored values', () => {
  it('shows non-string network warnings as JSON', () => {
    expect(networkNormalized([{ air: { temperature: 20 } }], ['plain', 42, { code: 7 }])).toEqual({
      measurements: [{ air: { temperature: 20 } }],
      warnings: ['plain', '42', '{"code":7}'],
    });
  });

  it('stores numbers, booleans and strings by quantity path, not the time', () => {
    const measurement = {
      time: '2024-05-01T12:00:00Z',
      water: { leak: true },
      air: { location: 'indoor', temperature: 21.5 },
      action: { motion: { detected: false } },
    };
    expect(quantityValues(measurement)).toEqual([
      { quantity: 'water.leak', value: true },
      { quantity: 'air.location', value: 'indoor' },
      { quantity: 'air.temperature', value: 21.5 },
      { quantity: 'action.motion.detected', value: false },
    ]);
  });

  it('stores nothing for a leaf that is neither number, boolean nor string', () => {
    expect(quantityValues({ air: { temperature: null, relativeHumidity: 40 }, soil: [] })).toEqual([
      { quantity: 'air.relativeHumidity', value: 40 },
    ]);
  });

  it.each([
    ['air.temperature', '°C'],
    ['water.leak', ''],
    ['air.location', ''],
    ['no.such.quantity', ''],
  ])('gives %s the unit %j', (quantity, unit) => {
    expect(unitOf(quantity)).toBe(unit);
  });
});
