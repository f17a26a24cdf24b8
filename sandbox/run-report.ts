/**
 * A RunReport from an outcome, with what user code wrote bounded: an error message or a warning
 * can be any string a formatter makes, and each goes on to dead letters, events and the UI.
 */
import type { FormatterError, LogEntry, RunReport } from '../formatters/contract.js';
import type { Outcome } from '../formatters/outcome.js';

export const MAX_ERROR_CHARS = 2000;
export const MAX_WARNINGS = 50;
export const MAX_WARNING_CHARS = 1000;

/** The text cut to `max` characters, saying so. */
export function boundText(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max)}… (cut to ${max} characters)`;
}

function boundError(error: FormatterError): FormatterError {
  return error.message.length <= MAX_ERROR_CHARS ? error : { ...error, message: boundText(error.message, MAX_ERROR_CHARS) };
}

function boundWarnings(warnings: string[]): string[] {
  const kept = warnings.slice(0, MAX_WARNINGS).map((w) => boundText(w, MAX_WARNING_CHARS));
  if (warnings.length > MAX_WARNINGS) kept.push(`… ${warnings.length - MAX_WARNINGS} more warnings dropped (limit ${MAX_WARNINGS})`);
  return kept;
}

export function runReport<T>(started: number, outcome: Outcome<T>, logs: LogEntry[] = []): RunReport<T> {
  const durationMs = performance.now() - started;
  const warnings = boundWarnings(outcome.warnings);
  if (outcome.ok) return { ok: true, output: outcome.output, logs, warnings, durationMs };
  return { ok: false, error: boundError(outcome.error), logs, warnings, durationMs };
}
