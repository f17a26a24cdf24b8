import { readdirSync, readFileSync } from 'node:fs';
import ivm from 'isolated-vm';
import { afterAll, describe, expect, it } from 'vitest';
import { BRIDGE_OPS } from '../../sandbox/bridge.js';
import { Prelude } from '../../sandbox/prelude.js';

const isolate = new ivm.Isolate({ memoryLimit: 32 });
afterAll(() => isolate.dispose());

/** The own keys of the object the prelude evaluates to in a fresh context, with the type of each value. */
function bridgeOperations(): Record<string, string> {
  const prelude = new Prelude({ maxLogEntries: 10, maxLogChars: 100, maxOutputChars: 1000, maxDepth: 10 });
  const context = isolate.createContextSync();
  try {
    const bridge = prelude.compile(isolate).runSync(context, { reference: true }) as ivm.Reference<unknown>;
    context.global.setSync('bridge', bridge.derefInto());
    const listed = context.evalSync('JSON.stringify(Reflect.ownKeys(bridge).map((key) => [String(key), typeof bridge[key]]))');
    return Object.fromEntries(JSON.parse(listed as string) as [string, string][]);
  } finally {
    context.release();
  }
}

describe('bridge table', () => {
  it('the prelude returns exactly the operations of BRIDGE_OPS, each a function', () => {
    expect(bridgeOperations()).toEqual(Object.fromEntries(BRIDGE_OPS.map((name) => [name, 'function'])));
  });

  it('every file of the prelude is type-checked (// @ts-check on its first line)', () => {
    const dir = new URL('../../sandbox/prelude/', import.meta.url);
    const files = readdirSync(dir).filter((name) => name.endsWith('.js'));
    expect(files.length).toBeGreaterThan(0);
    for (const name of files) {
      expect(readFileSync(new URL(name, dir), 'utf8').split('\n', 1)[0], name).toBe('// @ts-check');
    }
  });
});
