/**
 * FormatterRuntime options and their defaults.
 */

export interface RuntimeOptions {
  /** Applications whose formatters stay loaded (LRU); the least recently used one is unloaded. Default 200. */
  maxApps?: number;
  /** Applications sharing one isolate, each in contexts of its own; 1 gives each its own isolate. Default 16. */
  appsPerIsolate?: number;
  /** Heap limit of each isolate in MB, shared by its applications (isolated-vm minimum 8). Default 64. */
  memoryLimitMb?: number;
  /** Per-call time limit when a spec gives none (or a non-positive one). Default 100 ms. */
  defaultTimeoutMs?: number;
  /** Upper bound for a spec's timeoutMs. Default 5000 ms. */
  maxTimeoutMs?: number;
  /** Largest accepted script, in UTF-8 bytes. Default 256 KiB. */
  maxScriptBytes?: number;
  /** Console entries kept per call. Default 50. */
  maxLogEntries?: number;
  /** Characters kept per console entry. Default 2000. */
  maxLogChars?: number;
  /** Largest formatter output, in JSON characters: what one stored document may weigh. Default 64 KiB. */
  maxOutputChars?: number;
  /** Compiled script versions kept per application isolate (one context each). Default 4. */
  maxScriptsPerApp?: number;
}

export type ResolvedOptions = Required<RuntimeOptions>;

const DEFAULTS: ResolvedOptions = {
  maxApps: 200,
  appsPerIsolate: 16,
  memoryLimitMb: 64,
  defaultTimeoutMs: 100,
  maxTimeoutMs: 5000,
  maxScriptBytes: 256 * 1024,
  maxLogEntries: 50,
  maxLogChars: 2000,
  maxOutputChars: 64 * 1024,
  maxScriptsPerApp: 4,
};

export function resolveOptions(options: RuntimeOptions): ResolvedOptions {
  const resolved = { ...DEFAULTS };
  for (const key of Object.keys(DEFAULTS) as (keyof ResolvedOptions)[]) {
    const value = options[key];
    if (value === undefined) continue;
    if (!Number.isInteger(value) || value < 1) throw new RangeError(`RuntimeOptions.${key} must be a positive integer`);
    resolved[key] = value;
  }
  if (resolved.memoryLimitMb < 8) throw new RangeError('RuntimeOptions.memoryLimitMb must be at least 8 (isolated-vm minimum)');
  // Scripts are evaluated from a string, which isolated-vm refuses above 1/8 of the heap limit.
  if (resolved.maxScriptBytes > (resolved.memoryLimitMb * 1024 * 1024) / 8 - 4096) {
    throw new RangeError('RuntimeOptions.maxScriptBytes must stay below 1/8 of memoryLimitMb');
  }
  return resolved;
}

/** The time limit for one call: the spec's, clamped to the maximum; the default when unset. */
export function callTimeout(options: ResolvedOptions, specTimeoutMs: number): number {
  if (!Number.isFinite(specTimeoutMs) || specTimeoutMs <= 0) return options.defaultTimeoutMs;
  return Math.min(Math.ceil(specTimeoutMs), options.maxTimeoutMs);
}
