import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { START_NODE_FLAGS } from '../../plugin/project-files.js';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const MAIN = join(ROOT, 'dist', 'plugin', 'main.js');

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      if (entry.name !== 'ui' && entry.name !== 'node_modules') newest = Math.max(newest, newestMtime(path));
    } else if (entry.name.endsWith('.ts')) {
      newest = Math.max(newest, statSync(path).mtimeMs);
    }
  }
  return newest;
}

/**
 * dist/plugin/main.js, compiled with `tsc -p tsconfig.json` when it is missing or older than a
 * source file (so the process tests never run a stale build).
 */
export function ensureBuilt(): void {
  const sources = Math.max(...['plugin', 'sandbox', 'formatters'].map((d) => newestMtime(join(ROOT, d))));
  if (existsSync(MAIN) && statSync(MAIN).mtimeMs >= sources) return;
  const tsc = spawnSync(process.execPath, [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.json'], {
    cwd: ROOT,
    encoding: 'utf8',
  });
  // tsc emits even with type errors; what matters here is a fresh main.js
  if (!existsSync(MAIN) || statSync(MAIN).mtimeMs < sources) {
    throw new Error(`building dist failed (tsc exit ${tsc.status}):\n${tsc.stdout}\n${tsc.stderr}`);
  }
}

/** `node … dist/plugin/main.js` with the flags of `npm start`, with its own environment. */
export class PluginProcess {
  readonly child: ChildProcess;
  stdout = '';
  stderr = '';
  readonly exited: Promise<number | null>;
  private readonly listening: Promise<number>;

  constructor(env: Record<string, string>) {
    const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('PLUGIN_'))) as Record<string, string>;
    this.child = spawn(process.execPath, [...START_NODE_FLAGS, MAIN], {
      cwd: ROOT,
      env: { ...clean, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    // collect first: the listeners below read what was collected
    this.child.stdout?.setEncoding('utf8');
    this.child.stderr?.setEncoding('utf8');
    this.child.stdout?.on('data', (chunk: string) => (this.stdout += chunk));
    this.child.stderr?.on('data', (chunk: string) => (this.stderr += chunk));
    this.exited = new Promise((resolve) => this.child.once('exit', (code) => resolve(code)));
    this.listening = new Promise((resolve, reject) => {
      const onData = () => {
        for (const line of this.stdout.split('\n')) {
          if (!line.startsWith('{')) continue;
          try {
            const entry = JSON.parse(line) as { msg?: string; port?: number };
            if (entry.msg === 'plugin listening' && typeof entry.port === 'number') {
              this.child.stdout?.off('data', onData);
              resolve(entry.port);
              return;
            }
          } catch {
            // a partial line; wait for the rest
          }
        }
      };
      this.child.stdout?.on('data', onData);
      void this.exited.then((code) => reject(new Error(`plugin exited (${code}) before listening:\n${this.stdout}\n${this.stderr}`)));
    });
    // awaited by url(); a process that is meant to fail never gets there
    this.listening.catch(() => undefined);
  }

  /** The base URL once the `plugin listening` log line arrived. */
  async url(): Promise<string> {
    return `http://127.0.0.1:${await this.listening}`;
  }

  /** SIGTERM, then the exit code. */
  async stop(): Promise<number | null> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGTERM');
    return this.exited;
  }

  kill(): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
  }
}
