/**
 * Bounds on what formatter code (or a network speaking for it) writes: an error message or a
 * warning can be any string, and each goes on to dead letters, events and the UI.
 */
import type { FormatterError } from './contract.js';

export const MAX_ERROR_CHARS = 2000;
export const MAX_WARNINGS = 50;
export const MAX_WARNING_CHARS = 1000;

/** The text cut to `max` characters, saying so. */
export function boundText(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max)}… (cut to ${max} characters)`;
}

export function boundError(error: FormatterError): FormatterError {
  return error.message.length <= MAX_ERROR_CHARS ? error : { ...error, message: boundText(error.message, MAX_ERROR_CHARS) };
}

export function boundWarnings(warnings: string[]): string[] {
  const kept = warnings.slice(0, MAX_WARNINGS).map((w) => boundText(w, MAX_WARNING_CHARS));
  if (warnings.length > MAX_WARNINGS) kept.push(`… ${warnings.length - MAX_WARNINGS} more warnings dropped (limit ${MAX_WARNINGS})`);
  return kept;
}
