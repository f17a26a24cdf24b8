/**
 * Rules found unpinned by mutation testing: each test names the behaviour it fixes.
 */
import { describe, expect, it } from 'vitest';
import { normalizeBase64 } from '../../formatters/base64.js';
import { CayenneLppError, encodeCayenneDownlink } from '../../formatters/cayennelpp.js';
import { downlinkOutput, uplinkOutput } from '../../formatters/javascript-output.js';

const hexOf = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex');

describe('Cayenne LPP downlink: int16 range', () => {
  it('encodes the int16 extremes 327.67 and -327.68 exactly', () => {
    expect(hexOf(encodeCayenneDownlink({ value_1: 327.67, value_2: -327.68 }).bytes)).toBe('017fff028000');
  });

  it.each([327.68, -327.69, 3276.8, -3276.8, 1e6])('refuses %s instead of wrapping it into an int16', (value) => {
    expect(() => encodeCayenneDownlink({ value_1: value })).toThrow(CayenneLppError);
    expect(() => encodeCayenneDownlink({ value_1: value })).toThrow(`value_1 = ${value} does not fit Cayenne LPP (-327.68..327.67)`);
  });
});

describe('Cayenne LPP downlink: channels', () => {
  it('accepts channel 0 and channel 255 as valid edges', () => {
    const { bytes, ignoredKeys } = encodeCayenneDownlink({ value_0: 1, value_255: -1 });
    expect(ignoredKeys).toEqual([]);
    expect(hexOf(bytes)).toBe('000064' + 'ffff9c');
  });

  it('ignores channel 256 rather than wrapping it to channel 0', () => {
    const { bytes, ignoredKeys } = encodeCayenneDownlink({ value_256: 1 });
    expect(ignoredKeys).toEqual(['value_256']);
    expect(bytes.length).toBe(0);
  });

  it.each(['xvalue_3', 'value_3x', 'my_value_3', 'value_3_4', 'value_', 'value_1000'])(
    'does not treat %s as a channel key (value_N is anchored at both ends)',
    (key) => {
      const { bytes, ignoredKeys } = encodeCayenneDownlink({ [key]: 1 });
      expect(ignoredKeys).toEqual([key]);
      expect(bytes.length).toBe(0);
    },
  );
});

describe('javascript output: encodeDownlink / Encoder bytes', () => {
  it('accepts byte 255 from encodeDownlink', () => {
    expect(downlinkOutput('tts', { bytes: [0, 255] }, 3)).toEqual({ ok: true, output: { fPort: 3, frmPayload: 'AP8=' }, warnings: [] });
  });

  it('refuses byte 256 from encodeDownlink', () => {
    expect(downlinkOutput('tts', { bytes: [0, 256] }, 3)).toEqual({
      ok: false,
      error: { kind: 'contract', message: 'encodeDownlink output.bytes[1] must be an integer 0..255, got 256' },
      warnings: [],
    });
  });

  it('accepts byte 255 from a legacy Encoder', () => {
    expect(downlinkOutput('legacy', [255], 2)).toEqual({ ok: true, output: { fPort: 2, frmPayload: '/w==' }, warnings: [] });
  });

  it.each([
    [[256], 'Encoder result[0] must be an integer 0..255, got 256'],
    [[-1], 'Encoder result[0] must be an integer 0..255, got -1'],
    [[1, 1.5], 'Encoder result[1] must be an integer 0..255, got 1.5'],
    [['1'], 'Encoder result[0] must be an integer 0..255, got "1"'],
    [[null], 'Encoder result[0] must be an integer 0..255, got null'],
    [[true], 'Encoder result[0] must be an integer 0..255, got true'],
    [{ bytes: [1] }, 'Encoder result must be an array of bytes, got an object'],
    ['AQ==', 'Encoder result must be an array of bytes, got a string'],
  ])('refuses a legacy Encoder returning the non-byte value %j', (value, message) => {
    expect(downlinkOutput('legacy', value, 2)).toEqual({ ok: false, error: { kind: 'contract', message }, warnings: [] });
  });
});

describe('javascript output: TTS warnings and errors', () => {
  it.each([['a string', 'careful'], ['an object', { text: 'careful' }], ['a number', 7]])(
    'refuses warnings that are %s rather than an array',
    (_, warnings) => {
      expect(uplinkOutput('tts', { data: {}, warnings })).toEqual({
        ok: false,
        error: { kind: 'contract', message: 'decodeUplink output.warnings must be an array of strings' },
        warnings: [],
      });
    },
  );

  it('refuses non-array errors, keeping the warnings', () => {
    expect(uplinkOutput('tts', { data: {}, warnings: ['w'], errors: 'boom' })).toEqual({
      ok: false,
      error: { kind: 'contract', message: 'decodeUplink output.errors must be an array of strings' },
      warnings: ['w'],
    });
  });

  it('shows non-string warnings as JSON and keeps string warnings as they are', () => {
    expect(uplinkOutput('tts', { data: { t: 1 }, warnings: ['plain', 42, { code: 3 }, null] })).toEqual({
      ok: true,
      output: { t: 1 },
      warnings: ['plain', '42', '{"code":3}', 'null'],
    });
  });

  it('shows non-string errors as JSON in the failure message', () => {
    expect(downlinkOutput('tts', { bytes: [1], errors: [404, 'not found', { at: 2 }] }, 1)).toEqual({
      ok: false,
      error: { kind: 'contract', message: '404, not found, {"at":2}' },
      warnings: [],
    });
  });
});

describe('javascript output: Thinger {payload} downlink', () => {
  it('sends {payload} without f_port on the requested fPort', () => {
    expect(downlinkOutput('thinger', { payload: 'AQI' }, 9)).toEqual({ ok: true, output: { fPort: 9, frmPayload: 'AQI=' }, warnings: [] });
  });

  it('sends {payload} without f_port and without a requested fPort with no fPort', () => {
    expect(downlinkOutput('thinger', { payload: 'AQI=' }, undefined)).toEqual({ ok: true, output: { frmPayload: 'AQI=' }, warnings: [] });
  });

  it.each([[123], [[1, 2]], [null], [{ b64: 'AQ==' }]])('treats {payload: %j} (non-string) as decoded_payload', (payload) => {
    expect(downlinkOutput('thinger', { payload }, 4)).toEqual({ ok: true, output: { fPort: 4, decodedPayload: { payload } }, warnings: [] });
  });

  it('treats a string {payload} with keys other than f_port as decoded_payload', () => {
    const value = { payload: 'AQ==', f_port: 10, confirmed: true };
    expect(downlinkOutput('thinger', value, 4)).toEqual({ ok: true, output: { fPort: 4, decodedPayload: value }, warnings: [] });
  });

  it('treats {payload: <non-string>, f_port} as decoded_payload, not as raw bytes', () => {
    const value = { payload: 5, f_port: 10 };
    expect(downlinkOutput('thinger', value, 4)).toEqual({ ok: true, output: { fPort: 4, decodedPayload: value }, warnings: [] });
  });
});

describe('base64 padding, as TTS refuses it', () => {
  it.each(['AB=', 'ABC==', 'AB=C', 'A===', 'AB===', '=', '==', '====', 'AB==C', 'A=B='])('refuses %j', (text) => {
    expect(normalizeBase64(text)).toBeUndefined();
  });

  it.each(['A', 'ABCDE', 'ABCDEFGHI'])('refuses %j: a single leftover character is not a byte', (text) => {
    expect(normalizeBase64(text)).toBeUndefined();
  });

  it.each([
    ['AB==', 'AA=='],
    ['AB', 'AA=='],
    ['ABC=', 'ABA='],
    ['ABC', 'ABA='],
    ['ABCD', 'ABCD'],
    ['', ''],
  ])('accepts %j (correct or omitted padding) as %j', (text, canonical) => {
    expect(normalizeBase64(text)).toBe(canonical);
  });
});
