/**
 * A RunReport from an outcome, with what user code wrote bounded: an error message or a warning
 * can be any string a formatter makes, and each goes on to dead letters, events and the UI.
 */
import type { LogEntry, RunReport, UplinkReport } from '../formatters/contract.js';
import type { DecodedUplink } from '../formatters/normalized-payload.js';
import type { Outcome } from '../formatters/outcome.js';
import { boundError, boundWarnings } from '../formatters/bounds.js';

export function runReport<T>(started: number, outcome: Outcome<T>, logs: LogEntry[] = []): RunReport<T> {
  const durationMs = performance.now() - started;
  const warnings = boundWarnings(outcome.warnings);
  if (outcome.ok) return { ok: true, output: outcome.output, logs, warnings, durationMs };
  return { ok: false, error: boundError(outcome.error), logs, warnings, durationMs };
}

/** An uplink's report: the data as output, its normalization beside it, bounded like the rest. */
export function uplinkReport(report: RunReport<DecodedUplink>): UplinkReport {
  // Built field by field: this runs for every uplink, and object rest/spread costs more.
  const out: UplinkReport = { ok: report.ok, logs: report.logs, warnings: report.warnings, durationMs: report.durationMs };
  if (report.error) out.error = report.error;
  const output = report.output;
  if (!output) return out;
  out.output = output.data;
  const normalized = output.normalized;
  if (normalized) {
    out.normalized = { measurements: normalized.measurements, warnings: boundWarnings(normalized.warnings) };
    if (normalized.error) out.normalized.error = boundError(normalized.error);
  }
  return out;
}
