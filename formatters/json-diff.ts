/**
 * Where two JSON values differ, as JSON Pointer paths (RFC 6901) with both sides: what the test
 * tools mark between a stored output and a new one, or an example's expected and actual output.
 */
export interface Difference {
  path: string;
  /** undefined: the member is missing on that side. */
  expected: unknown;
  actual: unknown;
}

/** Differences reported at most; a formatter that changed everything needs no list of all of it. */
export const MAX_DIFFERENCES = 50;

function pointer(path: string, key: string | number): string {
  return `${path}/${String(key).replace(/~/g, '~0').replace(/\//g, '~1')}`;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Numbers equal by value (0 and -0 too), objects by members regardless of order, arrays in order. */
export function jsonDifferences(expected: unknown, actual: unknown, path = '', out: Difference[] = []): Difference[] {
  if (out.length >= MAX_DIFFERENCES) return out;
  if (Array.isArray(expected) && Array.isArray(actual)) {
    const n = Math.max(expected.length, actual.length);
    for (let i = 0; i < n && out.length < MAX_DIFFERENCES; i++) jsonDifferences(expected[i], actual[i], pointer(path, i), out);
    return out;
  }
  if (isObject(expected) && isObject(actual)) {
    const keys = new Set([...Object.keys(expected), ...Object.keys(actual)]);
    for (const key of keys) {
      if (out.length >= MAX_DIFFERENCES) break;
      const a = Object.hasOwn(expected, key) ? expected[key] : undefined;
      const b = Object.hasOwn(actual, key) ? actual[key] : undefined;
      jsonDifferences(a, b, pointer(path, key), out);
    }
    return out;
  }
  if (expected !== actual) out.push({ path: path || '/', expected, actual });
  return out;
}
