/**
 * The bridge: the functions of a context the host calls, named in this one table. The prelude
 * (prelude/prelude.js) returns an object with exactly these functions: its JSDoc return type is
 * `Bridge`, so tsc checks the names both ways, and test/sandbox/bridge.test.ts checks the object
 * it really returns. AppSandbox takes a reference to each by these names.
 */
export const BRIDGE_OPS = [
  /** load(source): evaluates the user script in the global scope, replies its entry points or the error. */
  'load',
  /** run(head, ...pieces): one formatter call (see AppSandbox.call), replies the result or the error, with the logs. */
  'run',
  /** drain(): the logs of a call that did not return (timeout), as a JSON array. */
  'drain',
] as const;

export type BridgeOpName = (typeof BRIDGE_OPS)[number];

/**
 * What the prelude returns. Every reply is a string the prelude built: user values and user
 * exceptions never cross the isolate boundary.
 */
export type Bridge = { readonly [Name in BridgeOpName]: (...args: never[]) => string };
