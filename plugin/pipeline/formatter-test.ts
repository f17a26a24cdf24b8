import type { FormatterError, FormatterSpec, JsonObject, RunReport } from '../../formatters/contract.js';
import type { FormatterPool } from '../../sandbox/formatter-pool.js';
import type { Clock } from '../clock.js';
import type { Static } from '@sinclair/typebox';
import { HttpError } from '../http/http-error.js';
import { bodyValidator } from '../http/validate.js';
import type { Profiles } from '../profiles.js';
import { formatterSpec } from '../profiles.js';
import { DEFAULT_PROFILE } from '../schemas/profile.js';
import { ShortUplinkInputSchema, type FormatterTest } from '../schemas/formatter-test.js';
import { UplinkMessageSchema } from '../schemas/tts-webhook.js';
import { CORRELATION_PREFIX, ttsDownlinkBody } from './downlink.js';

const shortUplink = bodyValidator(ShortUplinkInputSchema, 'invalid_input');
const ttsUplink = bodyValidator(UplinkMessageSchema, 'invalid_input');

export interface FormatterTestAnswer {
  ok: boolean;
  output: unknown;
  logs: RunReport<unknown>['logs'];
  warnings: string[];
  errors: FormatterError[];
  duration_ms: number;
  tts_request?: JsonObject;
}

function ttsBodyOf(short: Static<typeof ShortUplinkInputSchema>, now: Date): JsonObject {
  const receivedAt = short.received_at ?? now.toISOString();
  return {
    received_at: receivedAt,
    uplink_message: {
      f_port: short.f_port,
      frm_payload: short.bytes ? Buffer.from(short.bytes).toString('base64') : (short.frm_payload ?? ''),
      ...(short.decoded_payload ? { decoded_payload: short.decoded_payload } : {}),
      received_at: receivedAt,
    },
  };
}

function answer(report: RunReport<unknown>): FormatterTestAnswer {
  return {
    ok: report.ok,
    output: report.output ?? null,
    logs: report.logs,
    warnings: report.warnings,
    errors: report.error ? [report.error] : [],
    duration_ms: Math.round(report.durationMs * 1000) / 1000,
  };
}

/** The formatter test tool: same formatter processes, same limits as production; nothing stored. */
export async function runFormatterTest(
  deps: { formatters: FormatterPool; profiles: Profiles; clock: Clock },
  req: FormatterTest,
): Promise<FormatterTestAnswer> {
  const appId = req.app_id ?? DEFAULT_PROFILE;
  const profile = await deps.profiles.resolve(appId);
  const spec: FormatterSpec = req.formatter ? formatterSpec({ ...profile.settings, formatter: req.formatter }) : formatterSpec(profile.settings);

  if (req.direction === 'uplink') {
    const input = req.input as Record<string, unknown> | null;
    if (typeof input !== 'object' || input === null) {
      throw new HttpError(400, 'invalid_input', 'uplink input must be a TTS uplink body or {frm_payload|bytes, f_port}');
    }
    // The short form becomes the TTS body it stands for, so both forms run the same way.
    const message: JsonObject = 'uplink_message' in input ? (input as JsonObject) : ttsBodyOf(shortUplink.parse(input), deps.clock.now());
    const up = ttsUplink.parse(message.uplink_message);
    const call = {
      bytes: new Uint8Array(Buffer.from(up.frm_payload ?? '', 'base64')),
      fPort: up.f_port ?? 0,
      ...(up.decoded_payload ? { decodedPayload: up.decoded_payload } : {}),
      receivedAt: up.received_at ?? (typeof message.received_at === 'string' ? message.received_at : deps.clock.now().toISOString()),
      message,
    };
    return answer(await deps.formatters.runUplink(appId, spec, call, 'test'));
  }

  const fPort = req.f_port ?? profile.settings.downlink.f_port ?? undefined;
  const report = await deps.formatters.runDownlink(appId, spec, { payload: req.input, ...(fPort !== undefined ? { fPort } : {}) }, 'test');
  const result = answer(report);
  if (report.ok && report.output) {
    const port = report.output.fPort ?? fPort ?? 1;
    result.tts_request = ttsDownlinkBody(report.output, {
      fPort: port,
      priority: profile.settings.downlink.priority,
      confirmed: profile.settings.downlink.confirmed,
      correlationId: `${CORRELATION_PREFIX}<assigned when sent>`,
    });
  }
  return result;
}
