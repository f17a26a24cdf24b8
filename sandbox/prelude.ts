/**
 * The in-isolate prelude: the globals formatters see (Buffer, atob/btoa, TextEncoder/TextDecoder,
 * console, module/exports), the lockdown of everything else, and the private bridge the host calls
 * (its operations are named in bridge.ts). Its code is prelude/prelude.js, plain JavaScript
 * type-checked by tsc (`// @ts-check`, JSDoc types; `npm run typecheck`); this module reads it,
 * calls it with its parameters and compiles it for each isolate.
 *
 * It runs once in every fresh context, before any user code, and evaluates to the bridge object,
 * which never becomes reachable from the global scope. Everything the host receives from the bridge
 * is a string built there, so user values and user exceptions never cross the isolate boundary:
 * isolated-vm reads `message`/`stack` of an escaping exception (and of an unhandled rejection, see
 * sync-only.ts) outside the time limit, so a getter there could hold the host thread forever.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import ivm from 'isolated-vm';
import { bufferBundleSource } from './buffer-bundle.js';
import { SCRIPT_FILENAME } from './errors.js';

export interface PreludeLimits {
  maxLogEntries: number;
  maxLogChars: number;
  maxOutputChars: number;
  maxDepth: number;
}

/** Entry points looked up after the user script ran, in the order the bridge expects them. */
const ENTRY_NAMES = ['decodeUplink', 'encodeDownlink', 'decodeDownlink', 'Decoder', 'Encoder', 'normalizeUplink'];

/**
 * Appended to the user script when it is evaluated. The completion value lists the entry points,
 * including top-level `const`/`let` ones that never become global properties. The script alone
 * must compile first, so it cannot leave a comment or string open that swallows this suffix.
 */
const CAPTURE_SUFFIX =
  '\n;[' +
  ENTRY_NAMES.map((name) => `typeof ${name} === "function" ? ${name} : void 0`).join(', ') +
  ', typeof module === "object" && module !== null ? module.exports : void 0]' +
  `\n//# sourceURL=${SCRIPT_FILENAME}`;

/**
 * prelude/prelude.js in the source tree, found from the project root (the nearest folder up with a
 * package.json): the same file whether this module runs from sandbox/ (vitest) or from
 * dist/sandbox/ (formatter processes, the bench), as tsc leaves .js sources out of dist/.
 */
function preludePath(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`package.json not found above ${fileURLToPath(import.meta.url)}`);
    dir = parent;
  }
  return join(dir, 'sandbox', 'prelude', 'prelude.js');
}

let preludeText: string | undefined;

/** The text of prelude/prelude.js: one parenthesized function expression, read once. */
function preludeFunction(): string {
  if (preludeText !== undefined) return preludeText;
  const path = preludePath();
  const text = readFileSync(path, 'utf8').trimEnd();
  // Anything after the function expression (a `;`) would turn the call appended to it into something else.
  if (!text.endsWith('})')) throw new Error(`${path} must end with the "})" closing its function expression`);
  preludeText = text;
  return text;
}

/** compileScriptSync's result with the code-cache fields isolated-vm sets but does not declare. */
type CachedScript = ivm.Script & ivm.CachedDataResult & { cachedDataRejected?: boolean };

/**
 * The prelude of one runtime, compiled in every isolate. The first compilation produces V8's code
 * cache, which later isolates reuse: compiling the ~70 KB prelude drops from ~1.3 ms to ~0.1 ms
 * (a stable alternative to isolate snapshots, which isolated-vm advises against).
 */
export class Prelude {
  readonly source: string;
  private cache: ivm.ExternalCopy<ArrayBuffer> | undefined;

  constructor(limits: PreludeLimits) {
    this.source = preludeSource(limits);
  }

  compile(isolate: ivm.Isolate): ivm.Script {
    const origin = { filename: 'sandbox-prelude.js' };
    if (this.cache) {
      const script = isolate.compileScriptSync(this.source, { ...origin, cachedData: this.cache }) as CachedScript;
      if (!script.cachedDataRejected) return script;
      script.release();
    }
    const script = isolate.compileScriptSync(this.source, { ...origin, produceCachedData: true }) as CachedScript;
    this.cache = script.cachedData;
    return script;
  }
}

/** The prelude called with its parameters: `(<prelude.js>)(globalThis, LIMITS, CAPTURE_SUFFIX, bufferExports)`. */
function preludeSource(limits: PreludeLimits): string {
  return `${preludeFunction()}(globalThis, ${JSON.stringify(limits)}, ${JSON.stringify(CAPTURE_SUFFIX)}, ${bufferBundleSource()})`;
}
