/**
 * How deep a parsed JSON value nests. JSON.parse itself takes any depth, but the validators, the
 * store's JSON.stringify and the formatters' input all recurse: a 20,000-deep body overflowed the
 * stack (a 500). Walked with a stack of its own, so any depth costs only its size to check.
 */
import { DomainError } from '../domain-error.js';

export const MAX_JSON_DEPTH = 64;

/** True when `value` nests deeper than `limit` objects or arrays. */
export function nestsDeeperThan(value: unknown, limit: number): boolean {
  // Two parallel stacks and for-in: no allocation per node, as this runs on every webhook.
  const items: object[] = [];
  const depths: number[] = [];
  if (typeof value === 'object' && value !== null) {
    items.push(value);
    depths.push(0);
  }
  while (items.length > 0) {
    const item = items.pop() as Record<string, unknown>;
    const depth = depths.pop() as number;
    if (depth >= limit) return true;
    for (const key in item) {
      const child = item[key];
      if (typeof child === 'object' && child !== null) {
        items.push(child);
        depths.push(depth + 1);
      }
    }
  }
  return false;
}

/** Refuses a body nesting deeper than MAX_JSON_DEPTH: a 400 like any body that is not JSON the plugin takes. */
export function assertJsonDepth(value: unknown): void {
  if (nestsDeeperThan(value, MAX_JSON_DEPTH)) {
    throw new DomainError('invalid', 'invalid_json', `request body is nested deeper than ${MAX_JSON_DEPTH} levels`, { max_depth: MAX_JSON_DEPTH });
  }
}
