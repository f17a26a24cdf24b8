import { afterAll, describe, expect, it } from 'vitest';
import { templateScript } from '../../formatters/templates.js';
import { FormatterRuntime } from '../../sandbox/runtime.js';
import { codec, hex, js, uplink } from './helpers.js';

const runtime = new FormatterRuntime();
afterAll(() => runtime.dispose());

const RECEIVED_AT = '2025-04-16T11:54:13.995136483Z';

describe('climate-es5.js (ES5, undeclared variables, warnings, errors, all three functions)', () => {
  const spec = js(codec('climate-es5.js'));

  it('decodes a reading', async () => {
    const report = await runtime.runUplink('climate', spec, uplink('00 E7 50 27 9B 0D 48', 1));
    expect(report).toMatchObject({
      ok: true,
      output: { temperature: 23.1, humidity: 40, pressure: 1013.9, battery_mv: 3400, battery: 75, sensor: 'CS-200' },
      warnings: [],
    });
  });

  it('keeps warnings with the data', async () => {
    const report = await runtime.runUplink('climate', spec, uplink('FF 9C 64 27 9B 0B 54', 1));
    expect(report.output).toEqual({ temperature: -10, humidity: 50, pressure: 1013.9, battery_mv: 2900, battery: 13, sensor: 'CS-200' });
    expect(report.warnings).toEqual(['low battery']);
  });

  it('fails with the codec errors as a contract error', async () => {
    const report = await runtime.runUplink('climate', spec, uplink('00 E7 50 27 9B 0D 48', 2));
    expect(report).toMatchObject({ ok: false, error: { kind: 'contract', message: 'unknown fPort 2' } });
  });

  it('encodes a downlink with its own fPort', async () => {
    const report = await runtime.runDownlink('climate', spec, { payload: { interval_minutes: 600, led: true }, fPort: 1 });
    expect(report.output).toEqual({ fPort: 3, frmPayload: 'AQJYAQ==' });
  });

  it('joins several errors with ", "', async () => {
    const report = await runtime.runDownlink('climate', spec, { payload: { interval_minutes: 0, led: 'yes' } });
    expect(report.error).toEqual({ kind: 'contract', message: 'interval_minutes must be 1..1440, led must be a boolean' });
  });

  it('decodes a downlink', async () => {
    const report = await runtime.runDecodeDownlink('climate', spec, { bytes: hex('01 02 58 01'), fPort: 3 });
    expect(report.output).toEqual({ interval_minutes: 600, led: true });
    const unknown = await runtime.runDecodeDownlink('climate', spec, { bytes: hex('07'), fPort: 3 });
    expect(unknown.error).toEqual({ kind: 'contract', message: 'unknown command 7' });
  });
});

describe('legacy-parking.js (Decoder / Encoder)', () => {
  const spec = js(codec('legacy-parking.js'));

  it('returns the Decoder value as data', async () => {
    expect((await runtime.runUplink('parking', spec, uplink('03 A5 01 2C', 1))).output).toEqual({
      occupied: true,
      magnet_alarm: true,
      battery_v: 3.3,
      counter: 300,
    });
    expect((await runtime.runUplink('parking', spec, uplink('', 2))).output).toEqual({ heartbeat: true });
  });

  it('returns the Encoder bytes on the requested fPort', async () => {
    const report = await runtime.runDownlink('parking', spec, { payload: { reset: true, sensitivity: 7 }, fPort: 5 });
    expect(report.output).toEqual({ fPort: 5, frmPayload: 'AQc=' });
  });
});

describe('gps-tracker-es2015.js (ES2015+, recvTime as a Date)', () => {
  const spec = js(codec('gps-tracker-es2015.js'));
  const at = { receivedAt: RECEIVED_AT };

  it('decodes a position and dates the fix from recvTime', async () => {
    const report = await runtime.runUplink('gps', spec, uplink('01 03 1F 26 58 00 4A A7 25 00 2D', 1, at));
    expect(report.output).toEqual({
      type: 'position',
      latitude: 52.37308,
      longitude: 4.892453,
      fix_time: '2025-04-16T11:53:28.995Z',
      age_s: 45,
    });
    expect(report.warnings).toEqual([]);
  });

  it('decodes negative coordinates and warns about a stale fix', async () => {
    const report = await runtime.runUplink('gps', spec, uplink('01 02 6D C7 11 FB 97 11 88 02 58', 1, at));
    expect(report.output).toMatchObject({ latitude: 40.748817, longitude: -73.985656, fix_time: '2025-04-16T11:44:13.995Z' });
    expect(report.warnings).toEqual(['stale fix: 600 s old']);
  });

  it('decodes a heartbeat', async () => {
    const report = await runtime.runUplink('gps', spec, uplink('02 00 01 51 80', 1, at));
    expect(report.output).toEqual({ type: 'heartbeat', uptime_s: 86400, uptime_days: 1 });
  });

  it.each([
    ['09', 'unknown message type 9'],
    ['01 00 00', 'truncated position: 2 of 10 bytes'],
  ])('rejects %s', async (bytes, message) => {
    expect((await runtime.runUplink('gps', spec, uplink(bytes, 1, at))).error).toEqual({ kind: 'contract', message });
  });
});

describe('water-meter.js (little endian, alarms as warnings, NaN)', () => {
  const spec = js(codec('water-meter.js'));

  it('decodes a reading with two alarms', async () => {
    const report = await runtime.runUplink('water', spec, uplink('40 E2 01 00 0F 00 05 96 00', 1));
    expect(report.output).toEqual({ volume_m3: 123.456, interval_min: 15, flow_l_per_h: 600, alarms: ['leak', 'tamper'] });
    expect(report.warnings).toEqual(['alarm: leak', 'alarm: tamper']);
  });

  it('keeps warnings when errors fail the decode', async () => {
    const report = await runtime.runUplink('water', spec, uplink('01 02 03', 1));
    expect(report).toMatchObject({
      ok: false,
      error: { kind: 'contract', message: 'payload too short, expected at least 9 bytes' },
      warnings: ['got 3 bytes'],
    });
  });

  it.each([
    ['40 E2 01 00 00 00 00 00 00', 'NaN'],
    ['40 E2 01 00 00 00 00 05 00', 'Infinity'],
  ])('rejects %s: flow is %s', async (bytes, what) => {
    const report = await runtime.runUplink('water', spec, uplink(bytes, 1));
    expect(report.error).toEqual({ kind: 'contract', message: `output.data.flow_l_per_h is ${what}` });
  });
});

describe('door-sensor.js (polyfill, switch, Object.assign, invalid bytes)', () => {
  const spec = js(codec('door-sensor.js'));

  it('decodes events and status frames', async () => {
    expect((await runtime.runUplink('door', spec, uplink('10 01 00 2A'))).output).toEqual({
      type: 'event',
      event: 'opened',
      count: 42,
      raw: '1001002a',
    });
    expect((await runtime.runUplink('door', spec, uplink('20 8C 01'))).output).toEqual({
      type: 'status',
      battery_mv: 3400,
      open: true,
      raw: '208c01',
    });
    expect((await runtime.runUplink('door', spec, uplink('7F'))).error).toEqual({
      kind: 'contract',
      message: 'unsupported frame 0x7f',
    });
  });

  it('encodes a downlink, and rejects bytes outside 0..255', async () => {
    const ok = await runtime.runDownlink('door', spec, { payload: { led_on_open: true, report_hours: 24 } });
    expect(ok.output).toEqual({ fPort: 7, frmPayload: 'MAEY' });
    const bad = await runtime.runDownlink('door', spec, { payload: { report_hours: 300 } });
    expect(bad.error).toEqual({ kind: 'contract', message: 'encodeDownlink output.bytes[2] must be an integer 0..255, got 300' });
  });
});

describe('TTS template', () => {
  const spec = js(templateScript('tts-temperature-humidity'));

  it('round-trips uplink, downlink and decoded downlink', async () => {
    expect((await runtime.runUplink('tts-template', spec, uplink('09 29 1A 0A', 2))).output).toEqual({ temperature: 23.45, humidity: 66.66 });
    const down = await runtime.runDownlink('tts-template', spec, { payload: { enabled: true, frequency: 600, threshold: 7 } });
    expect(down.output).toEqual({ fPort: 10, frmPayload: 'AQJYBw==' });
    const decoded = await runtime.runDecodeDownlink('tts-template', spec, { bytes: hex('01 02 58 07'), fPort: 10 });
    expect(decoded.output).toEqual({ enabled: true, frequency: 600, threshold: 7 });
  });
});

describe('TTS semantics', () => {
  it('runs scripts in sloppy mode: undeclared assignment, this = global, declarations are globals', async () => {
    const spec = js(
      'counter = 0;\n' +
        'function helper() { return 1; }\n' +
        'function decodeUplink(input) {\n' +
        '  counter += helper();\n' +
        '  return { data: { counter: counter, thisIsGlobal: this === globalThis, helperGlobal: typeof globalThis.helper, fnGlobal: typeof globalThis.decodeUplink } };\n' +
        '}',
    );
    await runtime.runUplink('sloppy', spec, uplink('01'));
    const report = await runtime.runUplink('sloppy', spec, uplink('01'));
    expect(report.output).toEqual({ counter: 2, thisIsGlobal: true, helperGlobal: 'function', fnGlobal: 'function' });
  });

  it('finds entry points declared with const at top level', async () => {
    const spec = js('const decodeUplink = ({ fPort }) => ({ data: { port: fPort } });');
    expect((await runtime.runUplink('lexical', spec, uplink('01', 9))).output).toEqual({ port: 9 });
  });

  it('passes bytes as a plain array of numbers, fPort and recvTime', async () => {
    const spec = js(
      'function decodeUplink(input) {\n' +
        '  return { data: { isArray: Array.isArray(input.bytes), typed: input.bytes instanceof Uint8Array, bytes: input.bytes,\n' +
        '    fPort: input.fPort, recvTime: input.recvTime.toISOString(), isDate: input.recvTime instanceof Date } };\n' +
        '}',
    );
    const report = await runtime.runUplink('input', spec, uplink('00 7F 80 FF', 42, { receivedAt: RECEIVED_AT }));
    expect(report.output).toEqual({
      isArray: true,
      typed: false,
      bytes: [0, 127, 128, 255],
      fPort: 42,
      recvTime: '2025-04-16T11:54:13.995Z',
      isDate: true,
    });
  });

  it('passes an empty payload as []', async () => {
    const spec = js('function decodeUplink(input) { return { data: { n: input.bytes.length } }; }');
    expect((await runtime.runUplink('input', spec, uplink('', 1))).output).toEqual({ n: 0 });
  });

  it('rejects NaN and Infinity anywhere in the output', async () => {
    const nested = js('function decodeUplink() { return { data: { list: [1, { deep: NaN }] } }; }');
    expect((await runtime.runUplink('nan', nested, uplink('01'))).error).toEqual({
      kind: 'contract',
      message: 'output.data.list[1].deep is NaN',
    });
    const warningsToo = js('function decodeUplink() { return { data: {}, warnings: [], extra: -Infinity }; }');
    expect((await runtime.runUplink('nan', warningsToo, uplink('01'))).error).toEqual({
      kind: 'contract',
      message: 'output.extra is -Infinity',
    });
  });

  it.each([
    ['{ data: [1] }', 'decodeUplink output.data must be an object, got an array'],
    ['{}', 'decodeUplink output.data must be an object, got undefined'],
    ['"x"', 'decodeUplink must return an object {data, warnings?, errors?}, got a string'],
    ['{ data: {}, errors: "bad" }', 'decodeUplink output.errors must be an array of strings'],
  ])('requires decodeUplink to return {data}: %s', async (value, message) => {
    const report = await runtime.runUplink('shape', js(`function decodeUplink() { return ${value}; }`), uplink('01'));
    expect(report.error).toEqual({ kind: 'contract', message });
  });

  it('accepts typed arrays as encodeDownlink bytes and uses the input fPort when none is returned', async () => {
    const spec = js('function encodeDownlink(input) { return { bytes: new Uint8Array([input.data.a, 2]) }; }');
    expect((await runtime.runDownlink('bytes', spec, { payload: { a: 1 }, fPort: 12 })).output).toEqual({ fPort: 12, frmPayload: 'AQI=' });
  });

  it.each([
    ['[1.5]', 'encodeDownlink output.bytes[0] must be an integer 0..255, got 1.5'],
    ['[-1]', 'encodeDownlink output.bytes[0] must be an integer 0..255, got -1'],
    ['[1, "2"]', 'encodeDownlink output.bytes[1] must be an integer 0..255, got "2"'],
    ['"AQI="', 'encodeDownlink output.bytes must be an array of bytes, got a string'],
  ])('rejects encodeDownlink bytes %s', async (bytes, message) => {
    const report = await runtime.runDownlink('bytes', js(`function encodeDownlink() { return { bytes: ${bytes} }; }`), { payload: {} });
    expect(report.error).toEqual({ kind: 'contract', message });
  });

  it('rejects an encodeDownlink fPort outside 1..223', async () => {
    const report = await runtime.runDownlink('bytes', js('function encodeDownlink() { return { bytes: [], fPort: 0 }; }'), { payload: {} });
    expect(report.error).toEqual({ kind: 'contract', message: 'encodeDownlink output.fPort must be an integer 1..223, got 0' });
  });

  it('names the missing entry point for a direction', async () => {
    const onlyDown = js('function encodeDownlink() { return { bytes: [] }; }');
    expect((await runtime.runUplink('missing', onlyDown, uplink('01'))).error).toEqual({
      kind: 'contract',
      message: 'script defines no uplink function (module.exports.uplink, decodeUplink or Decoder)',
    });
    const onlyUp = js('function Decoder() { return {}; }');
    expect((await runtime.runDownlink('missing', onlyUp, { payload: {} })).error).toEqual({
      kind: 'contract',
      message: 'script defines no downlink function (module.exports.downlink, encodeDownlink or Encoder)',
    });
  });
});
