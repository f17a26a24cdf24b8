import { afterAll, describe, expect, it } from 'vitest';
import { templateScript } from '../../formatters/templates.js';
import { FormatterRuntime } from '../../sandbox/runtime.js';
import { fixture, hex, js, uplink } from './helpers.js';

const runtime = new FormatterRuntime();
afterAll(() => runtime.dispose());

const temperatureHumidity = js(templateScript('thinger-temperature-humidity'));
const decodedPayload = js(templateScript('thinger-decoded-payload'));

describe('Thinger template: temperature/humidity uplink, enabled/frequency/threshold downlink', () => {
  it('decodes int16 temperature and uint16 humidity from the base64 payload', async () => {
    const report = await runtime.runUplink('thinger', temperatureHumidity, uplink('09 29 1A 0A', 2));
    expect(report).toMatchObject({ ok: true, output: { temperature: 23.45, humidity: 66.66 }, logs: [], warnings: [] });
    expect(report.durationMs).toBeGreaterThan(0);
  });

  it('decodes a negative temperature', async () => {
    const report = await runtime.runUplink('thinger', temperatureHumidity, uplink('FF 38 00 00', 2));
    expect(report.output).toEqual({ temperature: -2, humidity: 0 });
  });

  it('encodes the downlink as a base64 string, keeping the requested fPort', async () => {
    const report = await runtime.runDownlink('thinger', temperatureHumidity, {
      payload: { enabled: true, frequency: 600, threshold: 7 },
      fPort: 5,
    });
    // 01 | 02 58 (600) | 07
    expect(report).toMatchObject({ ok: true, output: { fPort: 5, frmPayload: 'AQJYBw==' } });
  });

  it('has no decodeDownlink, which is a contract error', async () => {
    const report = await runtime.runDecodeDownlink('thinger', temperatureHumidity, { bytes: hex('01'), fPort: 1 });
    expect(report.error).toEqual({ kind: 'contract', message: 'script defines no decodeDownlink function' });
  });
});

describe('Thinger template: decoded_payload and {f_port, payload}', () => {
  const message = fixture('uplink_message.json');

  it('uses decoded_payload when TTS decoded the uplink', async () => {
    const report = await runtime.runUplink(
      'thinger',
      decodedPayload,
      uplink('00 E7 01 92', 2, { decodedPayload: { temperature: 23.1, humidity: 40.2, battery_mv: 4112 }, message }),
    );
    expect(report.output).toEqual({ temperature: 23.1, humidity: 40.2, decodedBy: 'tts' });
  });

  it('otherwise decodes frm_payload and reads the whole TTS message as second argument', async () => {
    const report = await runtime.runUplink('thinger', decodedPayload, uplink('08 FC 0F A0', 2, { message }));
    expect(report.output).toEqual({ temperature: 23, humidity: 40, fPort: 2, decodedBy: 'script' });
  });

  it('returns {f_port, payload}: raw bytes on that port', async () => {
    const report = await runtime.runDownlink('thinger', decodedPayload, {
      payload: { enabled: true, frequency: 600, threshold: 7 },
      fPort: 1,
    });
    expect(report.output).toEqual({ fPort: 10, frmPayload: 'AQJYBw==' });
  });
});

describe('Thinger downlink forms and contract', () => {
  it('turns any other object into decoded_payload for TTS', async () => {
    const spec = js('module.exports.downlink = function (payload) { return { command: "reboot", delay: payload.delay * 2 }; };');
    const report = await runtime.runDownlink('forms', spec, { payload: { delay: 5 }, fPort: 8 });
    expect(report.output).toEqual({ fPort: 8, decodedPayload: { command: 'reboot', delay: 10 } });
  });

  it('treats {payload} with other keys as decoded_payload', async () => {
    const spec = js('module.exports.downlink = function () { return { payload: "AQ==", confirmed: true }; };');
    const report = await runtime.runDownlink('forms', spec, { payload: null });
    expect(report.output).toEqual({ decodedPayload: { payload: 'AQ==', confirmed: true } });
  });

  it('normalises unpadded base64', async () => {
    const report = await runtime.runDownlink('forms', js('module.exports.downlink = () => "AQJYBw";'), { payload: 1 });
    expect(report.output).toEqual({ frmPayload: 'AQJYBw==' });
  });

  it.each([
    ['"not base64!"', 'downlink returned a string that is not base64'],
    ['{ payload: "%%%" }', 'downlink returned {payload} that is not base64'],
    ['{ payload: "AQ==", f_port: 300 }', 'downlink returned f_port 300; it must be an integer 1..223'],
    ['[1, 2]', 'downlink must return a base64 string or a JSON object, got an array'],
    ['42', 'downlink must return a base64 string or a JSON object, got a number'],
    ['undefined', 'downlink must return a base64 string or a JSON object, got undefined'],
  ])('rejects %s', async (value, message) => {
    const spec = js(`module.exports.downlink = function () { return ${value}; };`);
    const report = await runtime.runDownlink('forms', spec, { payload: {} });
    expect(report).toMatchObject({ ok: false, error: { kind: 'contract', message } });
  });

  it.each([
    ['[1]', 'uplink must return a JSON object, got an array'],
    ['null', 'uplink must return a JSON object, got null'],
    ['"text"', 'uplink must return a JSON object, got a string'],
    ['undefined', 'uplink must return a JSON object, got undefined'],
  ])('requires the uplink to return an object, not %s', async (value, message) => {
    const report = await runtime.runUplink('forms', js(`module.exports.uplink = function () { return ${value}; };`), uplink('01'));
    expect(report.error).toEqual({ kind: 'contract', message });
  });

  it('accepts exports.x = and module.exports = {...}', async () => {
    const viaExports = js('exports.uplink = function (p) { return { p: p }; };');
    const viaObject = js('function up(p) { return { q: p }; }\nmodule.exports = { uplink: up };');
    expect((await runtime.runUplink('forms', viaExports, uplink('0102'))).output).toEqual({ p: 'AQI=' });
    expect((await runtime.runUplink('forms', viaObject, uplink('0102'))).output).toEqual({ q: 'AQI=' });
  });

  it('calls the function with module.exports as this, and the device as second downlink argument', async () => {
    const spec = js(
      'module.exports.prefix = "dev:";\n' +
        'module.exports.downlink = function (payload, device) { return { id: this.prefix + device.device_id, n: payload }; };',
    );
    const report = await runtime.runDownlink('forms', spec, { payload: 3, device: { device_id: 'eui-1' } });
    expect(report.output).toEqual({ decodedPayload: { id: 'dev:eui-1', n: 3 } });
  });

  it('prefers Thinger exports over TTS functions, per direction', async () => {
    const spec = js(
      'module.exports.uplink = function () { return { style: "thinger" }; };\n' +
        'function decodeUplink() { return { data: { style: "tts" } }; }\n' +
        'function encodeDownlink() { return { bytes: [9], fPort: 4 }; }',
    );
    expect((await runtime.runUplink('forms', spec, uplink('01'))).output).toEqual({ style: 'thinger' });
    expect((await runtime.runDownlink('forms', spec, { payload: {} })).output).toEqual({ fPort: 4, frmPayload: 'CQ==' });
  });
});
