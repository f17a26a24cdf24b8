import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The project root: the nearest folder up from this file with a package.json (works from src and dist). */
export const PROJECT_ROOT = ((): string => {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error('package.json not found above ' + fileURLToPath(import.meta.url));
    dir = parent;
  }
  return dir;
})();

export const PACKAGE = JSON.parse(readFileSync(join(PROJECT_ROOT, 'package.json'), 'utf8')) as {
  name: string;
  version: string;
  scripts: { start: string };
};

/** The node flags of `npm start`, so the benchmarks and process tests run the plugin as it runs. */
export const START_NODE_FLAGS: readonly string[] = PACKAGE.scripts.start.split(/\s+/).filter((word) => word.startsWith('--'));
