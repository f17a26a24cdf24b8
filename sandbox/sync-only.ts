/**
 * Formatters are synchronous, and the sandbox enforces it: no Promise, no async functions, no
 * import(). Besides being useless to a formatter, promises are a hazard: isolated-vm reads the
 * reason of an unhandled rejection (its getters, its toString) after the call's time limit has
 * ended, so `Promise.reject({ get message() { for (;;); } })` would hold the host thread forever.
 *
 * The prelude deletes Promise and every promise-returning builtin and screens code built from
 * strings; this module screens the script itself before it runs.
 */

/**
 * Each word replaced by a token of the same length that stays valid where the word is harmless
 * (comments, strings, property names, plain identifiers) and is a syntax error where the word
 * would create a promise: `async` as a keyword, `import(...)`, `Promise` as a variable.
 */
const PROBES: readonly [RegExp, string][] = [
  [/\basync\b/g, 'asyn_'],
  [/\bimport\b/g, 'export'],
  [/\bPromise\b/g, 'extends'],
];

export const ASYNC_FEATURE_MESSAGE =
  'formatters must be synchronous: async functions, Promise and import() are not available';

/**
 * The script with those words replaced, when it contains any. If the original compiles but this
 * does not, the script uses async features, and the compile error points at the first use.
 */
export function asyncFeatureProbe(source: string): string | undefined {
  let probe = source;
  for (const [word, replacement] of PROBES) probe = probe.replace(word, replacement);
  return probe === source ? undefined : probe;
}

const WORD = /\b(?:async|import|Promise)\b/g;

/**
 * Where to report the probe's compile error: V8 flags the token after `async`, so the position
 * moves back to the last of the three words before it on that line, when there is one.
 */
export function asyncFeaturePosition(source: string, line: number, column: number): { line: number; column: number } {
  const text = source.split(/\r\n|\r|\n|\u2028|\u2029/)[line - 1] ?? '';
  let found = column;
  for (const match of text.slice(0, column).matchAll(WORD)) found = match.index + 1;
  return { line, column: found };
}
