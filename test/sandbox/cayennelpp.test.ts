import { afterAll, describe, expect, it } from 'vitest';
import { decodeCayenneDownlink, decodeCayenneLpp, encodeCayenneDownlink } from '../../formatters/cayennelpp.js';
import type { FormatterSpec } from '../../formatters/contract.js';
import { FormatterRuntime } from '../../sandbox/runtime.js';
import { hex, uplink } from './helpers.js';

const runtime = new FormatterRuntime();
afterAll(() => runtime.dispose());
const cayenne: FormatterSpec = { type: 'cayennelpp', script: '', timeoutMs: 100 };

describe('Cayenne LPP uplink', () => {
  it('decodes two temperatures', async () => {
    const report = await runtime.runUplink('lpp', cayenne, uplink('03 67 01 10 05 67 00 FF'));
    expect(report).toMatchObject({ ok: true, output: { temperature_3: 27.2, temperature_5: 25.5 }, warnings: [], logs: [] });
  });

  it('decodes a negative temperature', () => {
    expect(decodeCayenneLpp(hex('07 67 FF 64'))).toEqual({ temperature_7: -15.6 });
  });

  it('decodes GPS as three signed 24-bit values', () => {
    expect(decodeCayenneLpp(hex('0C 88 07 FD 87 00 BE F5 00 08 6A'))).toEqual({
      gps_12: { latitude: 52.3655, longitude: 4.8885, altitude: 21.54 },
    });
    expect(decodeCayenneLpp(hex('01 88 FA D5 00 17 12 9D FF FD DA'))).toEqual({
      gps_1: { latitude: -33.8688, longitude: 151.2093, altitude: -5.5 },
    });
  });

  it('decodes every other type', () => {
    const bytes = hex(
      '01 00 64' + // digital_in_1 100
        '02 01 01' + // digital_out_2 1
        '03 02 FF 9C' + // analog_in_3 -100 / 100
        '04 03 01 F4' + // analog_out_4 500 / 100
        '05 65 01 2C' + // luminosity_5 300
        '06 66 01' + // presence_6 1
        '07 68 61' + // relative_humidity_7 97 / 2
        '08 71 04 D2 FB 2E 03 E8' + // accelerometer_8 1234, -1234, 1000 / 1000
        '09 73 27 7F' + // barometric_pressure_9 10111 / 10
        '0A 86 00 64 FF 9C 27 10', // gyrometer_10 100, -100, 10000 / 100
    );
    expect(decodeCayenneLpp(bytes)).toEqual({
      digital_in_1: 100,
      digital_out_2: 1,
      analog_in_3: -1,
      analog_out_4: 5,
      luminosity_5: 300,
      presence_6: 1,
      relative_humidity_7: 48.5,
      accelerometer_8: { x: 1.234, y: -1.234, z: 1 },
      barometric_pressure_9: 1011.1,
      gyrometer_10: { x: 1, y: -1, z: 100 },
    });
  });

  it('decodes an empty payload to {}', () => {
    expect(decodeCayenneLpp(new Uint8Array())).toEqual({});
  });

  it.each([
    ['01 FE 00', 'unknown Cayenne LPP type 254 at byte 1'],
    ['03 67 01 10 05 67 00', 'truncated Cayenne LPP temperature on channel 5'],
    ['03 67 01 10 05', 'truncated Cayenne LPP data at byte 4'],
  ])('fails the whole decode for %s', async (bytes, message) => {
    const report = await runtime.runUplink('lpp', cayenne, uplink(bytes));
    expect(report).toMatchObject({ ok: false, error: { kind: 'contract', message } });
    expect(report.output).toBeUndefined();
  });
});

describe('Cayenne LPP downlink', () => {
  it('encodes value_N as [N, int16(value * 100)]', async () => {
    const report = await runtime.runDownlink('lpp', cayenne, { payload: { value_2: -50.51 }, fPort: 2 });
    // 02 EC 45
    expect(report).toMatchObject({ ok: true, output: { fPort: 2, frmPayload: 'AuxF' }, warnings: [] });
  });

  it('ignores other keys and says which', async () => {
    const report = await runtime.runDownlink('lpp', cayenne, {
      payload: { value_1: 1.5, label: 'x', value_3: 0, value_x: 1, value_4: 'text', value_256: 1 },
    });
    // 01 00 96 | 03 00 00
    expect(report.output).toEqual({ frmPayload: 'AQCWAwAA' });
    expect(report.warnings).toEqual(['ignored keys (not value_N with a number): label, value_x, value_4, value_256']);
    expect(Buffer.from(encodeCayenneDownlink({ value_2: -50.51 }).bytes).toString('hex')).toBe('02ec45');
  });

  it.each([
    ['"AQ=="', 'Cayenne LPP downlink payload must be a JSON object, got a string'],
    ['[1]', 'Cayenne LPP downlink payload must be a JSON object, got an array'],
    ['{"value_1": 400}', 'value_1 = 400 does not fit Cayenne LPP (-327.68..327.67)'],
  ])('rejects %s', async (payload, message) => {
    const report = await runtime.runDownlink('lpp', cayenne, { payload: JSON.parse(payload) as unknown });
    expect(report.error).toEqual({ kind: 'contract', message });
  });

  it('decodes a downlink until 0xFF', async () => {
    const report = await runtime.runDecodeDownlink('lpp', cayenne, { bytes: hex('02 EC 45 FF 01 02 03'), fPort: 2 });
    expect(report.output).toEqual({ value_2: -50.51 });
    expect(decodeCayenneDownlink(hex('01 00 96 03 00 00'))).toEqual({ value_1: 1.5, value_3: 0 });
  });

  it('fails a truncated downlink', async () => {
    const report = await runtime.runDecodeDownlink('lpp', cayenne, { bytes: hex('01 00'), fPort: 2 });
    expect(report.error).toEqual({ kind: 'contract', message: 'truncated Cayenne LPP downlink at byte 0' });
  });

  it('round-trips encode and decode', () => {
    const payload = { value_1: 12.34, value_7: -0.01, value_200: 327.67 };
    expect(decodeCayenneDownlink(encodeCayenneDownlink(payload).bytes)).toEqual(payload);
  });
});
