/**
 * Maps what can go wrong in the sandbox to FormatterError: isolated-vm exceptions (compile errors,
 * timeouts, memory-limit disposal) and the failures the in-isolate bridge reports as text.
 */
import type { FormatterError } from '../formatters/contract.js';

/** Name user scripts carry in stack traces and compile errors (see prelude `load`). */
export const SCRIPT_FILENAME = 'formatter.js';

const FRAME = /(?:^|[\s(])formatter\.js:(\d+):(\d+)\)?\s*$/m;
const COMPILE_POSITION = /\s*\[formatter\.js:(\d+):(\d+)\]$/;

function errorText(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}

/** A compile error thrown by `isolate.compileScriptSync`; isolated-vm appends `[file:line:column]`. */
export function syntaxError(err: unknown): FormatterError {
  const text = errorText(err);
  const position = COMPILE_POSITION.exec(text);
  const name = err instanceof Error ? err.name : 'SyntaxError';
  if (!position) return { kind: 'syntax', message: `${name}: ${text}` };
  return {
    kind: 'syntax',
    message: `${name}: ${text.slice(0, position.index)}`,
    line: Number(position[1]),
    column: Number(position[2]),
  };
}

/** A user exception caught inside the isolate: line/column come from its top user-script frame. */
export function runtimeError(message: string, stack: string): FormatterError {
  const frame = FRAME.exec(stack);
  if (!frame) return { kind: 'runtime', message };
  return { kind: 'runtime', message, line: Number(frame[1]), column: Number(frame[2]) };
}

export function timeoutError(timeoutMs: number): FormatterError {
  return { kind: 'timeout', message: `formatter exceeded the time limit of ${timeoutMs} ms` };
}

export function memoryError(memoryLimitMb: number): FormatterError {
  return {
    kind: 'memory',
    message: `formatter exceeded the memory limit of ${memoryLimitMb} MB; its sandbox was reset`,
  };
}

export function contractError(message: string): FormatterError {
  return { kind: 'contract', message };
}

export function limitError(message: string): FormatterError {
  return { kind: 'limit', message };
}

/**
 * Classifies an exception thrown by an isolated-vm call. Only isolated-vm's own errors reach here:
 * the bridge catches every user exception inside the isolate, so no user object is ever read.
 */
export function fromIsolateException(
  err: unknown,
  isolateDisposed: boolean,
  limits: { timeoutMs: number; memoryLimitMb: number },
): FormatterError {
  const text = errorText(err);
  if (isolateDisposed || /memory limit/i.test(text)) return memoryError(limits.memoryLimitMb);
  if (/timed out/i.test(text)) return timeoutError(limits.timeoutMs);
  return { kind: 'runtime', message: `sandbox failure: ${text}` };
}
