/**
 * How deep a parsed JSON value nests. JSON.parse itself takes any depth, but the validators, the
 * store's JSON.stringify and the formatters' input all recurse: a 20,000-deep body overflowed the
 * stack (a 500). Walked with a stack of its own, so any depth costs only its size to check.
 */
import { HttpError } from './http-error.js';

export const MAX_JSON_DEPTH = 64;

/** True when `value` nests deeper than `limit` objects or arrays. */
export function nestsDeeperThan(value: unknown, limit: number): boolean {
  const pending: [unknown, number][] = [[value, 0]];
  while (pending.length > 0) {
    const [item, depth] = pending.pop() as [unknown, number];
    if (typeof item !== 'object' || item === null) continue;
    if (depth >= limit) return true;
    for (const child of Array.isArray(item) ? item : Object.values(item)) {
      if (typeof child === 'object' && child !== null) pending.push([child, depth + 1]);
    }
  }
  return false;
}

/** Refuses a body nesting deeper than MAX_JSON_DEPTH: a 400 like any body that is not JSON the plugin takes. */
export function assertJsonDepth(value: unknown): void {
  if (nestsDeeperThan(value, MAX_JSON_DEPTH)) {
    throw new HttpError(400, 'invalid_json', `request body is nested deeper than ${MAX_JSON_DEPTH} levels`, { max_depth: MAX_JSON_DEPTH });
  }
}
