import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../../../plugin/project-files.js';

export const DIST_UI = join(PROJECT_ROOT, 'dist', 'ui');

/** What the bundle is built from: the UI sources, the Vite config and the server module whose constants it bundles. */
const SOURCES = [join(PROJECT_ROOT, 'plugin', 'ui'), join(PROJECT_ROOT, 'vite.config.ts'), join(PROJECT_ROOT, 'plugin', 'store', 'records.ts')];

function newestMtime(path: string): number {
  const info = statSync(path);
  if (!info.isDirectory()) return info.mtimeMs;
  return Math.max(info.mtimeMs, ...readdirSync(path).map((name) => newestMtime(join(path, name))));
}

/** Builds dist/ui with Vite when it is missing or older than its sources. */
export function ensureUiBuilt(): void {
  const index = join(DIST_UI, 'index.html');
  if (existsSync(index) && statSync(index).mtimeMs >= Math.max(...SOURCES.map(newestMtime))) return;
  execFileSync(process.execPath, [join(PROJECT_ROOT, 'node_modules', 'vite', 'bin', 'vite.js'), 'build', '--logLevel', 'warn'], {
    cwd: PROJECT_ROOT,
    stdio: 'inherit',
    timeout: 120_000,
  });
}
