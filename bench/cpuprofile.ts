import { existsSync, readFileSync } from 'node:fs';
import { SourceMap } from 'node:module';
import { dirname, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The parts of a V8 .cpuprofile (node --cpu-prof) the summary reads. */
interface CpuProfile {
  nodes: {
    id: number;
    callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number };
    children?: number[];
  }[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

export interface HotSpot {
  name: string;
  selfMs: number;
  /** Share of the busy (non-idle) time. */
  selfPct: number;
}

export interface ProfileSummary {
  /** False when the requested window did not fall inside the profile and every sample was used. */
  windowed: boolean;
  totalMs: number;
  idleMs: number;
  busyMs: number;
  functions: HotSpot[];
  files: HotSpot[];
  groups: HotSpot[];
}

const SPECIAL = new Set(['(idle)', '(program)', '(garbage collector)', '(root)']);

function fileOf(url: string, root: string): string {
  if (!url) return '(native)';
  if (url.startsWith('node:')) return url;
  const path = url.startsWith('file://') ? fileURLToPath(url) : url;
  const rel = relative(root, path);
  return rel.startsWith('..') ? path : rel;
}

/** Maps compiled dist/ positions back to the .ts source (tsc writes .js.map files). */
class SourceMaps {
  private readonly maps = new Map<string, SourceMap | null>();

  /** `file:line` of the TypeScript source, or null when there is no map. */
  locate(path: string, line: number, column: number, root: string): string | null {
    let map = this.maps.get(path);
    if (map === undefined) {
      map = null;
      try {
        if (existsSync(`${path}.map`)) map = new SourceMap(JSON.parse(readFileSync(`${path}.map`, 'utf8')));
      } catch {
        map = null;
      }
      this.maps.set(path, map);
    }
    if (!map) return null;
    const entry = map.findEntry(line, column) as { originalSource?: string; originalLine?: number };
    if (!entry.originalSource || entry.originalLine === undefined) return null;
    const source = entry.originalSource.startsWith('file://')
      ? fileURLToPath(entry.originalSource)
      : resolve(dirname(path), entry.originalSource);
    return `${relative(root, source)}:${entry.originalLine + 1}`;
  }
}

/** node_modules/<package>, our own top-level folder (plugin/, sandbox/, ...), node: internals. */
function groupOf(file: string): string {
  if (file.startsWith('node:')) return 'node: internals';
  const nm = file.lastIndexOf('node_modules/');
  if (nm >= 0) {
    const rest = file.slice(nm + 'node_modules/'.length).split('/');
    return `npm ${rest[0].startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0]}`;
  }
  if (file.startsWith('dist/')) return `${file.split('/')[1]}/ (ours)`;
  return file;
}

/**
 * Self time per function, per file and per package/folder, busiest first. With `windowUs`
 * (CLOCK_MONOTONIC microseconds, i.e. process.hrtime.bigint() / 1000n in any process on the
 * machine, the clock V8 stamps samples with) only samples inside the window count.
 */
export function summarizeProfile(file: string, root: string, top = 20, windowUs?: [number, number]): ProfileSummary {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const windowed = windowUs !== undefined && windowUs[0] >= profile.startTime && windowUs[1] <= profile.endTime + 1_000_000;
  const selfUs = new Map<number, number>();
  let t = profile.startTime;
  for (let i = 0; i < profile.samples.length; i++) {
    // timeDeltas[i] is the time since the previous sample; charge the interval to the sample that ends it.
    const dt = Math.max(0, profile.timeDeltas[i] ?? 0);
    t += dt;
    if (windowed && (t < windowUs[0] || t > windowUs[1])) continue;
    selfUs.set(profile.samples[i], (selfUs.get(profile.samples[i]) ?? 0) + dt);
  }
  const fn = new Map<string, number>();
  const files = new Map<string, number>();
  const groups = new Map<string, number>();
  let total = 0;
  let idle = 0;
  const add = (m: Map<string, number>, k: string, v: number) => m.set(k, (m.get(k) ?? 0) + v);
  const maps = new SourceMaps();
  for (const [id, us] of selfUs) {
    const node = byId.get(id);
    if (!node) continue;
    total += us;
    const { functionName, url, lineNumber, columnNumber } = node.callFrame;
    if (functionName === '(idle)') {
      idle += us;
      continue;
    }
    if (SPECIAL.has(functionName)) {
      add(fn, functionName, us);
      add(files, functionName, us);
      add(groups, functionName, us);
      continue;
    }
    const f = fileOf(url, root);
    const source = f.startsWith('dist/') ? maps.locate(resolve(root, f), lineNumber, columnNumber, root) : null;
    add(fn, `${functionName || '(anonymous)'}  ${source ?? `${f}${url ? `:${lineNumber + 1}` : ''}`}`, us);
    add(files, source ? source.replace(/:\d+$/, '') : f, us);
    add(groups, groupOf(f), us);
  }
  const busy = total - idle;
  const list = (m: Map<string, number>): HotSpot[] =>
    [...m.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([name, us]) => ({ name, selfMs: Math.round(us / 100) / 10, selfPct: Math.round((us / busy) * 1000) / 10 }));
  return {
    windowed,
    totalMs: Math.round(total / 1000),
    idleMs: Math.round(idle / 1000),
    busyMs: Math.round(busy / 1000),
    functions: list(fn),
    files: list(files),
    groups: list(groups),
  };
}
