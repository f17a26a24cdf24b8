import { afterAll, describe, expect, it } from 'vitest';
import type { FormatterSpec } from '../../formatters/contract.js';
import { FormatterRuntime } from '../../sandbox/runtime.js';
import { hex, uplink } from './helpers.js';

const runtime = new FormatterRuntime();
afterAll(() => runtime.dispose());
const none: FormatterSpec = { type: 'none', script: 'ignored', timeoutMs: 100 };

describe('none formatter', () => {
  it('passes decoded_payload through', async () => {
    const decodedPayload = { temperature: 23.1, nested: { ok: true } };
    const report = await runtime.runUplink('none', none, uplink('01 02', 2, { decodedPayload }));
    expect(report).toMatchObject({ ok: true, output: decodedPayload, logs: [], warnings: [] });
  });

  it('reports frm_payload and f_port when TTS did not decode', async () => {
    const report = await runtime.runUplink('none', none, uplink('01 02 FF', 7));
    expect(report.output).toEqual({ frm_payload: 'AQL/', f_port: 7 });
  });

  it('takes a downlink string as base64 frm_payload', async () => {
    expect((await runtime.runDownlink('none', none, { payload: 'AQL/', fPort: 3 })).output).toEqual({ fPort: 3, frmPayload: 'AQL/' });
  });

  it('takes a downlink object as decoded_payload', async () => {
    expect((await runtime.runDownlink('none', none, { payload: { led: 'on' } })).output).toEqual({ decodedPayload: { led: 'on' } });
  });

  it.each([
    ['"not base64!"', 'downlink payload is a string but not base64'],
    ['"AQ L/"', 'downlink payload is a string but not base64'],
    ['"A"', 'downlink payload is a string but not base64'],
    ['42', 'downlink payload must be a base64 string or a JSON object, got a number'],
    ['[1, 2]', 'downlink payload must be a base64 string or a JSON object, got an array'],
    ['null', 'downlink payload must be a base64 string or a JSON object, got null'],
  ])('rejects the downlink payload %s', async (payload, message) => {
    const report = await runtime.runDownlink('none', none, { payload: JSON.parse(payload) as unknown });
    expect(report).toMatchObject({ ok: false, error: { kind: 'contract', message } });
  });

  it('decodes a downlink to frm_payload and f_port', async () => {
    expect((await runtime.runDecodeDownlink('none', none, { bytes: hex('0A0B'), fPort: 4 })).output).toEqual({
      frm_payload: 'Cgs=',
      f_port: 4,
    });
  });

  it('needs no isolate', async () => {
    await runtime.runUplink('none-only', none, uplink('01'));
    expect(runtime.stats()).toMatchObject({ isolates: 0, scripts: 0 });
    expect(runtime.check(none)).toBeNull();
  });
});
