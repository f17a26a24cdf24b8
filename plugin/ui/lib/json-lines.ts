/**
 * Pretty JSON (as JSON.stringify(v, null, 2) prints it) line by line, each line with the JSON
 * Pointer of the value it starts or ends, so that differences found by path can be marked.
 */

export interface JsonLine {
  text: string;
  /** RFC 6901; '' is the whole value. */
  path: string;
}

const pointer = (path: string, key: string | number) => `${path}/${String(key).replace(/~/g, '~0').replace(/\//g, '~1')}`;

export function jsonLines(value: unknown): JsonLine[] {
  const out: JsonLine[] = [];
  const walk = (v: unknown, path: string, depth: number, lead: string, comma: string) => {
    const pad = '  '.repeat(depth);
    const entries: [string | number, unknown][] = Array.isArray(v)
      ? v.map((item, i) => [i, item])
      : typeof v === 'object' && v !== null
        ? Object.entries(v).filter(([, item]) => item !== undefined)
        : [];
    if (entries.length === 0) {
      out.push({ text: `${pad}${lead}${JSON.stringify(v) ?? 'undefined'}${comma}`, path });
      return;
    }
    const [open, close] = Array.isArray(v) ? ['[', ']'] : ['{', '}'];
    out.push({ text: `${pad}${lead}${open}`, path });
    entries.forEach(([key, item], i) => {
      walk(item, pointer(path, key), depth + 1, typeof key === 'string' ? `${JSON.stringify(key)}: ` : '', i < entries.length - 1 ? ',' : '');
    });
    out.push({ text: `${pad}${close}${comma}`, path });
  };
  walk(value, '', 0, '', '');
  return out;
}

/**
 * Whether a line's value is at or under one of the paths. The plugin names a difference of the
 * whole value '/' (its comparison has no '' path), so '/' marks everything.
 */
export function isUnder(path: string, paths: ReadonlySet<string>): boolean {
  if (paths.has('/')) return true;
  for (let p = path; p !== ''; p = p.slice(0, p.lastIndexOf('/'))) if (paths.has(p)) return true;
  return false;
}
