import type { FormatterError, FormatterSpec, JsonObject, RunReport } from '../../formatters/contract.js';
import type { FormatterPool } from '../../sandbox/formatter-pool.js';
import type { Clock } from '../clock.js';
import { DomainError } from '../domain-error.js';
import { bodyValidator } from '../schemas/validate.js';
import { DownlinkRefused, type Network, type NeutralUplink } from '../networks/network.js';
import type { Networks } from '../networks/networks.js';
import type { Profiles } from '../profiles.js';
import { formatterSpec } from '../profiles.js';
import { DEFAULT_PROFILE } from '../schemas/profile.js';
import { ShortUplinkInputSchema, type FormatterTest } from '../schemas/formatter-test.js';
import { formatterCall, measurementOnly } from './uplink.js';

const shortUplink = bodyValidator(ShortUplinkInputSchema, 'invalid_input');

export interface FormatterTestAnswer {
  ok: boolean;
  output: unknown;
  logs: RunReport<unknown>['logs'];
  warnings: string[];
  errors: FormatterError[];
  duration_ms: number;
  /** Uplinks: measurements in TTS's normalized payload vocabulary (null when none), and what was dropped from them. */
  normalized?: JsonObject[] | null;
  normalized_warnings?: string[];
  /** Uplinks: normalizeUplink failed (the output still stands). */
  normalized_error?: FormatterError;
  /** Downlinks: what would be sent to the application's network. */
  network?: string;
  request?: JsonObject;
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

/**
 * The formatter test tool: the application's network normalises the input exactly as its intake
 * does, then the same formatter processes run it with production's limits; nothing is stored.
 */
export async function runFormatterTest(
  deps: { formatters: FormatterPool; profiles: Profiles; networks: Networks; clock: Clock },
  req: FormatterTest,
): Promise<FormatterTestAnswer> {
  const appId = req.app_id ?? DEFAULT_PROFILE;
  const profile = await deps.profiles.resolve(appId);
  const network = deps.networks.get(profile.settings.network);
  const spec: FormatterSpec = req.formatter ? formatterSpec({ ...profile.settings, formatter: req.formatter }) : formatterSpec(profile.settings);

  if (req.direction === 'uplink') {
    const input = req.input as Record<string, unknown> | null;
    if (typeof input !== 'object' || input === null || Array.isArray(input)) {
      throw new DomainError('invalid', 'invalid_input', `uplink input must be a ${network.label} uplink report or {frm_payload|bytes, f_port}`);
    }
    const now = deps.clock.now();
    // The short form becomes the report it stands for, so both forms run the same way.
    const short = 'f_port' in input || 'frm_payload' in input || 'bytes' in input;
    const report: JsonObject = short ? network.reportFor(sampleOf(input, now), appId) : input;
    const uplink = uplinkOfInput(network, report, appId, now);
    if (!uplink) throw new DomainError('invalid', 'invalid_input', `the input is no ${network.label} uplink report`);
    const run = uplink.normalizedOnly ? measurementOnly(uplink) : await deps.formatters.runUplink(appId, spec, formatterCall(uplink), 'test');
    const normalized = uplink.normalized ?? run.normalized;
    return {
      ...answer(run),
      normalized: normalized?.measurements.length ? normalized.measurements : null,
      normalized_warnings: normalized?.warnings ?? [],
      ...(normalized?.error ? { normalized_error: normalized.error } : {}),
    };
  }

  const fPort = req.f_port ?? profile.settings.downlink.f_port ?? undefined;
  const report = await deps.formatters.runDownlink(appId, spec, { payload: req.input, ...(fPort !== undefined ? { fPort } : {}) }, 'test');
  const result = answer(report);
  if (report.ok && report.output) {
    result.network = network.name;
    const options = {
      fPort: report.output.fPort ?? fPort ?? 1,
      priority: profile.settings.downlink.priority,
      confirmed: profile.settings.downlink.confirmed,
      // one of the form it would have; each message gets its own when it is created
      correlationId: network.downlinks.newCorrelationId(),
    };
    try {
      result.request = network.downlinks.build(report.output, options, null);
    } catch (err) {
      if (!(err instanceof DownlinkRefused)) throw err;
      result.ok = false;
      result.errors.push({ kind: 'contract', message: err.message });
    }
  }
  return result;
}

/** The network's normalisation, its refusals told as the test tool's (invalid_input). */
function uplinkOfInput(network: Network, report: JsonObject, appId: string, now: Date): NeutralUplink | null {
  try {
    return network.uplinkOf(report, appId, now);
  } catch (err) {
    if (err instanceof DomainError && err.kind === 'invalid') throw new DomainError('invalid', 'invalid_input', err.message, err.details);
    throw err;
  }
}

function sampleOf(input: Record<string, unknown>, now: Date) {
  const short = shortUplink.parse(input);
  return {
    payload: short.bytes ? Buffer.from(short.bytes).toString('base64') : (short.frm_payload ?? ''),
    fPort: short.f_port,
    ...(short.decoded_payload ? { decodedPayload: short.decoded_payload } : {}),
    receivedAt: short.received_at ?? now.toISOString(),
  };
}
