/**
 * Shared pieces of the property-based fuzz suites (test/plugin/fuzz-*.test.ts): a seeded runner,
 * a raw HTTP client (any bytes, any headers, chunked or not, with a time limit), the error-shape
 * check, a read-only view of the plugin's SQLite file to see what a request changed, and the
 * generators of hostile values.
 *
 * FUZZ_SEED=<int> replays a run (the seed is printed with every failure); FUZZ_RUNS_SCALE=<n>
 * multiplies every property's number of runs (e.g. 10 for a long run, with other seeds);
 * FUZZ_STATS=1 prints how often each status and error code was answered per property.
 */
import { createHash } from 'node:crypto';
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { brotliCompressSync, deflateSync, gzipSync } from 'node:zlib';
import Database from 'better-sqlite3';
import fc from 'fast-check';

// ---------------------------------------------------------------- runner

const DEFAULT_SEED = 20250416;

function intFromEnv(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  const n = Number(raw);
  if (!Number.isSafeInteger(n)) throw new Error(`${name} must be an integer, got '${raw}'`);
  return n;
}

/** The base seed of every property (FUZZ_SEED, else a fixed one). */
export const FUZZ_SEED = intFromEnv('FUZZ_SEED', DEFAULT_SEED);
const RUNS_SCALE = Number(process.env.FUZZ_RUNS_SCALE ?? '1') || 1;

/**
 * Time limit of one fuzz test (vitest's default of 20 s is too short on a loaded machine). A test
 * that vitest gave up on would go on fuzzing in the background and race the next test's snapshots.
 */
export const FUZZ_TEST_TIMEOUT_MS = Math.round(120_000 * Math.max(1, RUNS_SCALE));

/** Runs for a property, scaled by FUZZ_RUNS_SCALE. */
export function runs(n: number): number {
  return Math.max(1, Math.round(n * RUNS_SCALE));
}

/** Each property gets a seed of its own derived from the base seed and its name (FNV-1a). */
function seedFor(name: string): number {
  let h = 0x811c9dc5;
  for (const ch of name) h = Math.imul(h ^ ch.charCodeAt(0), 0x01000193);
  return (FUZZ_SEED ^ h) | 0;
}

/** FUZZ_STATS=1 prints, per property, how often each status and error code was answered (is the fuzzing reaching past validation?). */
const STATS = process.env.FUZZ_STATS === '1';
let answers = new Map<string, number>();

/** Counts one answer for FUZZ_STATS. */
export function countAnswer(res: { status: number; json: unknown }): void {
  if (!STATS) return;
  const body = (res.json as { error?: { code?: unknown; details?: { errors?: { path?: unknown; message?: unknown }[] } }; error_code?: unknown; status?: unknown } | undefined) ?? {};
  const first = body.error?.details?.errors?.[0];
  const where = first ? ` ${String(first.path)} ${String(first.message).slice(0, 40)}` : '';
  const key = `${res.status} ${String(body.error?.code ?? body.error_code ?? body.status ?? '')}${where}`;
  answers.set(key, (answers.get(key) ?? 0) + 1);
}

/** Shrinking stops making requests this long after the first failure (each step is real HTTP). */
const SHRINK_BUDGET_MS = 5_000;
const guard = { failedAt: null as number | null };

/**
 * fc.asyncProperty whose predicate stops running (passes) once the shrink budget after the first
 * failure is spent, so fast-check reports the smallest counterexample found by then. (fast-check's
 * own interruptAfterTimeLimit returns while the predicate is still running: its request would then
 * land in the next property's snapshot.)
 */
export function fuzzProperty<T>(arb: fc.Arbitrary<T>, predicate: (value: T) => Promise<void>): fc.IAsyncPropertyWithHooks<[T]> {
  return fc.asyncProperty(arb, async (value) => {
    if (guard.failedAt !== null && Date.now() - guard.failedAt > SHRINK_BUDGET_MS) return;
    try {
      await predicate(value);
    } catch (err) {
      guard.failedAt ??= Date.now();
      throw err;
    }
  });
}

/**
 * Checks a property with a fixed (or FUZZ_SEED) seed and fails with fast-check's report (the
 * shrunk counterexample, seed and path), what failed, and how to replay it.
 */
export async function checkProperty<T>(name: string, property: fc.IAsyncPropertyWithHooks<[T]>, numRuns: number): Promise<void> {
  const seed = seedFor(name);
  guard.failedAt = null;
  answers = new Map();
  const details = await fc.check(property, { numRuns, seed });
  if (STATS) {
    const lines = [...answers.entries()].sort((a, b) => b[1] - a[1]).map(([k, n]) => `  ${String(n).padStart(4)}  ${k}`);
    // eslint-disable-next-line no-console
    console.log(`answers of '${name}' (${details.numRuns} runs${details.failed ? ', failed' : ''}):\n${lines.join('\n')}`);
  }
  if (details.failed) {
    const cause = details.errorInstance instanceof Error ? details.errorInstance.message : String(details.errorInstance);
    const report = `${fc.defaultReportMessage(details) ?? 'property failed'}\n\nWhat failed (smallest counterexample):\n${cause}`;
    const header = `fuzz property '${name}' failed: base seed ${FUZZ_SEED} (replay with FUZZ_SEED=${FUZZ_SEED}), property seed ${seed}`;
    // eslint-disable-next-line no-console
    console.error(`${header}\n${report}`);
    throw new Error(`${header}\n${report}`);
  }
}

// ---------------------------------------------------------------- raw HTTP

/** Longer than any formatter limit (5 s) plus slack: an answer later than this is a hang. */
export const REQUEST_TIMEOUT_MS = 12_000;

export interface FuzzRequest {
  method: string;
  /** Path and query, already encoded (may hold invalid percent-escapes on purpose). */
  path: string;
  headers?: Record<string, string>;
  body?: Buffer | string;
  /** Send the body chunked (no Content-Length): the plugin's Koa path instead of its webhook intake. */
  chunked?: boolean;
}

export interface FuzzResponse {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
  /** Parsed body, or undefined when it is not JSON. */
  json: unknown;
  ms: number;
}

/**
 * One request on a connection of its own (an early answer such as 413 may close it), bytes exactly
 * as given. An event stream (200 text/event-stream) is answered as soon as its head arrives.
 */
export function send(baseUrl: string, r: FuzzRequest, timeoutMs = REQUEST_TIMEOUT_MS): Promise<FuzzResponse> {
  const url = new URL(baseUrl);
  const started = performance.now();
  const body = r.body === undefined ? undefined : Buffer.isBuffer(r.body) ? r.body : Buffer.from(r.body, 'utf8');
  const headers: Record<string, string> = { ...r.headers };
  if (body !== undefined && !r.chunked) headers['Content-Length'] = String(body.length);
  if (r.chunked) headers['Transfer-Encoding'] = 'chunked';
  return new Promise<FuzzResponse>((resolve, reject) => {
    let done = false;
    const finish = (fn: () => void) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      fn();
    };
    const req = httpRequest(
      { host: url.hostname, port: url.port, method: r.method, path: r.path, headers, agent: false },
      (res) => {
        if (String(res.headers['content-type'] ?? '').startsWith('text/event-stream')) {
          res.destroy();
          req.destroy();
          finish(() => resolve({ status: res.statusCode ?? 0, headers: res.headers, text: '', json: undefined, ms: performance.now() - started }));
          return;
        }
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', (err) => finish(() => reject(err)));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let json: unknown;
          try {
            json = text ? JSON.parse(text) : undefined;
          } catch {
            json = undefined;
          }
          finish(() => resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json, ms: performance.now() - started }));
        });
      },
    );
    const timer = setTimeout(() => {
      req.destroy();
      finish(() => reject(new Error(`no answer within ${timeoutMs} ms (hang): ${r.method} ${r.path.slice(0, 200)}`)));
    }, timeoutMs);
    // Writing may fail after an early answer (413 before the whole body); the answer is what counts.
    req.on('error', (err) => setTimeout(() => finish(() => reject(err)), 50));
    if (body !== undefined && r.chunked) {
      const half = Math.floor(body.length / 2);
      if (half > 0) req.write(body.subarray(0, half));
      if (body.length - half > 0) req.write(body.subarray(half));
      req.end();
    } else {
      req.end(body);
    }
  });
}

// ---------------------------------------------------------------- the error shapes

/** What is wrong with an error answer: the plugin's `{"error": {"code","message","details"}}` or IoTDA's `{"error_code","error_msg"}`. */
export function errorShapeProblem(res: FuzzResponse, shape: 'plugin' | 'iotda' = 'plugin'): string | null {
  const type = String(res.headers['content-type'] ?? '');
  if (!/^application\/json\b/.test(type)) return `content-type is '${type}', not application/json`;
  const body = res.json as Record<string, unknown> | undefined;
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return `body is not a JSON object: ${res.text.slice(0, 300)}`;
  if (shape === 'iotda') {
    const keys = Object.keys(body).sort().join(',');
    if (keys !== 'error_code,error_msg') return `IoTDA error keys are [${keys}]`;
    if (typeof body.error_code !== 'string' || typeof body.error_msg !== 'string') return 'error_code / error_msg are not strings';
    return null;
  }
  if (Object.keys(body).join(',') !== 'error') return `top-level keys are [${Object.keys(body).join(',')}], not [error]`;
  const error = body.error as Record<string, unknown>;
  if (typeof error !== 'object' || error === null || Array.isArray(error)) return 'error is not an object';
  const keys = Object.keys(error).sort().join(',');
  if (keys !== 'code,details,message') return `error keys are [${keys}], not [code,details,message]`;
  if (typeof error.code !== 'string' || error.code === '') return 'error.code is not a non-empty string';
  if (typeof error.message !== 'string') return 'error.message is not a string';
  if (typeof error.details !== 'object' || error.details === null || Array.isArray(error.details)) return 'error.details is not an object';
  return null;
}

// ---------------------------------------------------------------- what a request changed

export interface StoreSnapshot {
  /** Per durable table: row count and a digest of every row. */
  tables: Record<string, { rows: number; digest: string }>;
  eventsMaxId: number;
}

export interface StoredEvent {
  id: number;
  category: string;
  severity: string;
  title: string;
  app_id: string | null;
}

/**
 * The plugin's SQLite file, opened read-only beside the plugin's own connection (WAL: readers see
 * every committed write). "Durable" is every table but `events`: profiles, devices, their
 * properties and credentials, buckets and their rows, dead letters, downlink messages, status
 * notifications, and whatever tables later migrations add (found in sqlite_master, so a new table
 * is watched without touching this file). Events are read separately, since some refusals are
 * events by design (README, security model: the first refused webhook of a minute per profile).
 */
export class StoreWatch {
  private readonly db: Database.Database;
  private readonly tables: { name: string; rows: Database.Statement }[];
  private readonly maxEvent: Database.Statement;
  private readonly newEvents: Database.Statement;
  /** Whether something may still be writing (set after an answer that may leave background work). */
  private unsettled = true;

  constructor(file: string) {
    this.db = new Database(file, { readonly: true, fileMustExist: true });
    // The plugin migrated the file before the harness started: the set of tables is fixed from here on.
    const names = this.db
      .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name <> 'events' ORDER BY name")
      .all() as { name: string }[];
    this.tables = names.map(({ name }) => ({ name, rows: this.db.prepare(`SELECT * FROM "${name}"`).raw(true) }));
    this.maxEvent = this.db.prepare('SELECT COALESCE(MAX(id), 0) AS id FROM events');
    this.newEvents = this.db.prepare('SELECT id, category, severity, title, app_id FROM events WHERE id > ? ORDER BY id');
  }

  snapshot(): StoreSnapshot {
    const tables: StoreSnapshot['tables'] = {};
    for (const t of this.tables) {
      const hash = createHash('sha1');
      let rows = 0;
      for (const row of t.rows.iterate()) {
        hash.update(JSON.stringify(row));
        hash.update('\n');
        rows++;
      }
      tables[t.name] = { rows, digest: hash.digest('hex') };
    }
    return { tables, eventsMaxId: (this.maxEvent.get() as { id: number }).id };
  }

  /** Tables whose rows differ between two snapshots, with their row counts. */
  static changedTables(a: StoreSnapshot, b: StoreSnapshot): string[] {
    const names = new Set([...Object.keys(a.tables), ...Object.keys(b.tables)]);
    const changed: string[] = [];
    for (const n of names) {
      const x = a.tables[n];
      const y = b.tables[n];
      if (!x || !y || x.digest !== y.digest) changed.push(`${n} (${x?.rows ?? 'none'} -> ${y?.rows ?? 'none'} rows)`);
    }
    return changed;
  }

  /** The newest rows of a table (by rowid when it has one), for failure messages. */
  newestRows(table: string, n = 2): string {
    try {
      const rows = this.db.prepare(`SELECT * FROM "${table.split(' ')[0]}" ORDER BY rowid DESC LIMIT ?`).all(n);
      return rows.map((r) => JSON.stringify(r).slice(0, 400)).join('\n');
    } catch {
      return '(no rowid)';
    }
  }

  eventsAfter(id: number): StoredEvent[] {
    return this.newEvents.all(id) as StoredEvent[];
  }

  /** Rows of a table, for checks of a documented side effect. */
  rows<T = Record<string, unknown>>(sql: string, ...params: unknown[]): T[] {
    return this.db.prepare(sql).all(...params) as T[];
  }

  /**
   * Marks that the last answer may have left work behind (a 2xx that wrote: e.g. downlinks sent
   * in the background once an uplink brought credentials), so the next snapshot waits for quiet.
   */
  mayBeBusy(): void {
    this.unsettled = true;
  }

  /** A snapshot once the store is quiet: after a 2xx that wrote, two reads a few ms apart that agree. */
  async settledSnapshot(maxWaitMs = 2000): Promise<StoreSnapshot> {
    let last = this.snapshot();
    if (!this.unsettled) return last;
    const until = Date.now() + maxWaitMs;
    while (Date.now() < until) {
      await new Promise((r) => setTimeout(r, 3));
      const next = this.snapshot();
      if (StoreWatch.changedTables(last, next).length === 0 && next.eventsMaxId === last.eventsMaxId) {
        this.unsettled = false;
        return next;
      }
      last = next;
    }
    return last;
  }

  close(): void {
    this.db.close();
  }
}

// ---------------------------------------------------------------- values

/**
 * A long string shown as `huge(n)` in counterexamples (a 1 MiB string printed in full would bury
 * the report); it serialises as n characters.
 */
export class Huge {
  constructor(
    readonly length: number,
    readonly char = 'x',
  ) {}
  toJSON(): string {
    return this.char.repeat(this.length);
  }
  [fc.toStringMethod](): string {
    return `huge(${this.length}, ${JSON.stringify(this.char)})`;
  }
}

/** Nesting shown as `deep(n)`: n arrays (or objects) around a leaf. */
export class Deep {
  constructor(
    readonly depth: number,
    readonly kind: 'array' | 'object',
  ) {}
  toJSON(): unknown {
    let v: unknown = 1;
    for (let i = 0; i < this.depth; i++) v = this.kind === 'array' ? [v] : { a: v };
    return v;
  }
  [fc.toStringMethod](): string {
    return `deep(${this.depth}, ${this.kind})`;
  }
}

/** Deep-ish copy of a JSON value that keeps Huge/Deep markers. */
export function cloneJson<T>(v: T): T {
  if (v instanceof Huge || v instanceof Deep) return v;
  if (Array.isArray(v)) return v.map(cloneJson) as T;
  if (typeof v === 'object' && v !== null) {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) out[k] = cloneJson(x);
    return out as T;
  }
  return v;
}

const pad = (n: number, w: number) => String(n).padStart(w, '0');

/**
 * RFC 3339 date-times as the schema's `date-time` format takes them, including the corners: leap
 * seconds (second 60), years 0000 and 9999, offsets up to ±23:59, lowercase t/z, a space separator,
 * long fractions. Plus strings that are almost date-times.
 */
export const dateTimeString: fc.Arbitrary<string> = fc.oneof(
  { weight: 3, arbitrary: fc
    .record({
      year: fc.oneof(fc.integer({ min: 0, max: 9999 }), fc.constantFrom(0, 1, 1969, 1970, 2025, 9999)),
      month: fc.integer({ min: 1, max: 12 }),
      day: fc.integer({ min: 1, max: 31 }),
      hour: fc.oneof(fc.integer({ min: 0, max: 23 }), fc.constant(23)),
      minute: fc.oneof(fc.integer({ min: 0, max: 59 }), fc.constant(59)),
      second: fc.oneof(fc.integer({ min: 0, max: 60 }), fc.constant(60)),
      fraction: fc.oneof(fc.constant(''), fc.stringMatching(/^\.[0-9]{1,12}$/)),
      sep: fc.constantFrom('T', 't', ' '),
      zone: fc.oneof(
        fc.constantFrom('Z', 'z', '+00:00', '-00:00', '+23:59', '-23:59', '+01:00'),
        fc.tuple(fc.constantFrom('+', '-'), fc.integer({ min: 0, max: 23 }), fc.integer({ min: 0, max: 59 })).map(([s, h, m]) => `${s}${pad(h, 2)}:${pad(m, 2)}`),
      ),
    })
    .map((d) => `${pad(d.year, 4)}-${pad(d.month, 2)}-${pad(d.day, 2)}${d.sep}${pad(d.hour, 2)}:${pad(d.minute, 2)}:${pad(d.second, 2)}${d.fraction}${d.zone}`) },
  { weight: 2, arbitrary: fc.constantFrom(
    '2025-06-30T23:59:60Z',
    '2016-12-31T23:59:60.999Z',
    '2025-04-16T23:59:60+00:00',
    '0000-01-01T00:00:00Z',
    '0000-01-01T00:00:00+23:59',
    '9999-12-31T23:59:59-23:59',
    '2025-04-16t12:00:00z',
    '2025-04-16 12:00:00Z',
    '2025-02-29T00:00:00Z',
    '2025-04-16T12:00:00',
    '2025-04-16',
    'yesterday',
    '',
  ) },
);

/** Date-times the `date-time` format takes, corners included (leap seconds, years 0000/9999, offsets, lowercase). */
export const validDateTimeString: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(
    '2025-06-30T23:59:60Z',
    '2016-12-31T23:59:60.999999999Z',
    '2025-04-17T00:59:60+01:00',
    '0000-01-01T00:00:00Z',
    '0000-01-01T00:00:00+23:59',
    '9999-12-31T23:59:59-23:59',
    '2025-04-16t12:00:00z',
    '2025-04-16 12:00:00Z',
    '2024-02-29T00:00:00.123456789Z',
  ),
  fc
    .record({ y: fc.integer({ min: 0, max: 9999 }), mo: fc.integer({ min: 1, max: 12 }), d: fc.integer({ min: 1, max: 28 }), h: fc.integer({ min: 0, max: 23 }), mi: fc.integer({ min: 0, max: 59 }), s: fc.integer({ min: 0, max: 59 }) })
    .map((t) => `${pad(t.y, 4)}-${pad(t.mo, 2)}-${pad(t.d, 2)}T${pad(t.h, 2)}:${pad(t.mi, 2)}:${pad(t.s, 2)}Z`),
);

const EXTREME_NUMBERS = [
  0, -0, 1, -1, 0.5, 1.5, -1.5, 2, 15, 223, 224, 255, 256, 2 ** 31 - 1, 2 ** 31, 2 ** 32 - 1, 2 ** 32, 2 ** 53 - 1, 2 ** 53, 2 ** 53 + 2,
  -(2 ** 53), 1e21, 1e300, 1.7976931348623157e308, -1.7976931348623157e308, 5e-324, -5e-324, 8.64e15, 8.64e15 + 1, -8.64e15 - 1,
];

/** Strings a parser or a database may trip on. */
export const nastyString: fc.Arbitrary<string> = fc.oneof(
  fc.string(),
  fc.string({ unit: 'grapheme', maxLength: 40 }),
  fc.string({ unit: 'binary', maxLength: 40 }),
  // lone surrogates (JSON allows them escaped: "\ud800")
  fc.array(fc.integer({ min: 0xd800, max: 0xdfff }), { minLength: 1, maxLength: 4 }).map((cs) => String.fromCharCode(...cs)),
  fc.constantFrom(
    '',
    ' ',
    '\u0000',
    '\u202e\u200b\ufeff',
    '💥🚀',
    '__proto__',
    'constructor',
    'prototype',
    'toString',
    '{name}',
    '{constructor}',
    '%s%n%x',
    "'; DROP TABLE devices; --",
    '\\',
    '"',
    '../../etc/passwd',
    'AOcBkgQQ',
    'AOcBkgQQ=',
    '====',
    '70B3D57ED0051A2B',
    '70b3d57ed0051a2b',
    'eui-70b3d57ed0051a2b',
    'greenhouse-app',
    'default',
    'lorawan-bridge:msg:00000000-0000-0000-0000-000000000000',
    'NaN',
    'Infinity',
    '-1',
    '1e999',
  ),
);

/** JSON objects that break String(), template literals and duck typing (`{"toString": 1}` has no callable toString). */
export const hostileObject: fc.Arbitrary<unknown> = fc.constantFrom(
  { toString: 1 },
  { toString: 1, valueOf: 1 },
  [{ toString: 1 }],
  { toJSON: 1 },
  { length: -1 },
  { then: 1 },
  { constructor: { prototype: 1 } },
);

/** Any value a field of a JSON body could be given. */
export const weirdValue: fc.Arbitrary<unknown> = fc.oneof(
  { depthSize: 'small' },
  fc.constant(null),
  fc.boolean(),
  fc.constantFrom(...EXTREME_NUMBERS),
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  nastyString,
  dateTimeString,
  fc.constantFrom(1000, 70_000, 300_000, 1_100_000).map((n) => new Huge(n)),
  fc.constantFrom(5, 40, 63, 64, 65, 200).chain((d) => fc.constantFrom('array' as const, 'object' as const).map((k) => new Deep(d, k))),
  fc.constant([]),
  fc.constant({}),
  hostileObject,
  fc.jsonValue({ maxDepth: 3 }),
  fc.array(nastyString, { maxLength: 4 }),
  fc.dictionary(nastyString, fc.jsonValue({ maxDepth: 2 }), { maxKeys: 4 }),
);

/** Every path (list of keys) to every node below the root. */
export function pathsOf(value: unknown, prefix: (string | number)[] = [], out: (string | number)[][] = []): (string | number)[][] {
  if (value instanceof Huge || value instanceof Deep) return out;
  if (Array.isArray(value)) {
    value.forEach((v, i) => {
      out.push([...prefix, i]);
      pathsOf(v, [...prefix, i], out);
    });
  } else if (typeof value === 'object' && value !== null) {
    for (const [k, v] of Object.entries(value)) {
      out.push([...prefix, k]);
      pathsOf(v, [...prefix, k], out);
    }
  }
  return out;
}

export type Mutation =
  | { op: 'delete'; at: number }
  | { op: 'set'; at: number; value: unknown }
  | { op: 'add'; at: number; key: string; value: unknown }
  | { op: 'retype'; at: number }
  /** Sets one occurrence (`at`, modulo how many there are) of a named field to a value made for that field. */
  | { op: 'field'; field: string; at: number; value: unknown };

/**
 * Mutations that know the fields: for each named field, values at its own edges (a date-time field
 * gets leap seconds, a port gets 0/255/256, ...). Blind mutations rarely hit one field of a hundred.
 */
export function fieldMutationArb(fields: Record<string, fc.Arbitrary<unknown>>): fc.Arbitrary<Mutation> {
  return fc.oneof(
    ...Object.entries(fields).map(([field, values]) =>
      fc.record({ op: fc.constant('field' as const), field: fc.constant(field), at: fc.nat(), value: values }),
    ),
  );
}

/** One mutation; `at` picks a node (modulo the nodes the body has when it is applied). */
export function mutationArb(extraKeys: readonly string[], values: fc.Arbitrary<unknown> = weirdValue): fc.Arbitrary<Mutation> {
  const key = fc.oneof(fc.constantFrom(...extraKeys), nastyString);
  return fc.oneof(
    fc.record({ op: fc.constant('delete' as const), at: fc.nat() }),
    fc.record({ op: fc.constant('set' as const), at: fc.nat(), value: values }),
    fc.record({ op: fc.constant('add' as const), at: fc.nat(), key, value: values }),
    fc.record({ op: fc.constant('retype' as const), at: fc.nat() }),
  );
}

function retype(v: unknown): unknown {
  if (typeof v === 'number') return String(v);
  if (typeof v === 'string') return /^-?\d+(\.\d+)?$/.test(v) ? Number(v) : [v];
  if (typeof v === 'boolean') return v ? 'true' : 0;
  if (v === null) return 'null';
  if (Array.isArray(v)) return Object.fromEntries(v.map((x, i) => [String(i), x]));
  if (typeof v === 'object') return Object.values(v as object);
  return v;
}

/** Applies mutations to a copy of `base` (the root itself is never replaced: see the arbitrary-JSON properties). */
export function applyMutations<T>(base: T, mutations: readonly Mutation[]): T {
  const body = cloneJson(base);
  for (const m of mutations) {
    if (m.op === 'field') {
      const hits = pathsOf(body).filter((p) => p[p.length - 1] === m.field);
      if (hits.length === 0) continue;
      const path = hits[m.at % hits.length];
      const parent = path.slice(0, -1).reduce<any>((node, k) => node[k], body);
      parent[path[path.length - 1]] = m.value;
      continue;
    }
    const paths = pathsOf(body);
    // `add` may also target the root object
    if (m.op === 'add' && (paths.length === 0 || m.at % (paths.length + 1) === paths.length)) {
      if (typeof body === 'object' && body !== null && !Array.isArray(body)) (body as Record<string, unknown>)[m.key] = m.value;
      continue;
    }
    if (paths.length === 0) continue;
    const path = paths[m.at % paths.length];
    const parent = path.slice(0, -1).reduce<any>((node, k) => node[k], body);
    const last = path[path.length - 1];
    switch (m.op) {
      case 'delete':
        if (Array.isArray(parent)) parent.splice(Number(last), 1);
        else delete parent[last];
        break;
      case 'set':
        parent[last] = m.value;
        break;
      case 'add': {
        const node = parent[last];
        if (Array.isArray(node)) node.push(m.value);
        else if (typeof node === 'object' && node !== null && !(node instanceof Huge) && !(node instanceof Deep)) node[m.key] = m.value;
        else parent[last] = { [m.key]: m.value };
        break;
      }
      case 'retype':
        parent[last] = retype(parent[last]);
        break;
    }
  }
  return body;
}

/**
 * Percent-encodes any string as UTF-8 (lone surrogates become U+FFFD), keeping only RFC 3986
 * unreserved characters: encodeURIComponent throws on lone surrogates.
 */
export function pct(s: string): string {
  let out = '';
  for (const b of Buffer.from(s, 'utf8')) {
    const ch = String.fromCharCode(b);
    out += /[A-Za-z0-9._~-]/.test(ch) ? ch : `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/** JSON text of a value holding Huge/Deep markers. */
export function toJsonText(v: unknown): string {
  return JSON.stringify(v) ?? 'null';
}

/** The first characters of a request body, for assertion messages. */
export function preview(text: string | Buffer | undefined, max = 600): string {
  if (text === undefined) return '(no body)';
  const s = Buffer.isBuffer(text) ? text.toString('utf8') : text;
  return s.length > max ? `${s.slice(0, max)}… (${s.length} chars)` : s;
}

// ---------------------------------------------------------------- how a body is sent

export type Encoding = 'none' | 'identity' | 'gzip' | 'deflate' | 'br' | 'gzip-garbage' | 'x-unknown';

/** Content-Type values: JSON as the plugin takes it, and everything it should refuse cleanly. */
export const JSON_CONTENT_TYPES = ['application/json', 'application/json; charset=utf-8', 'application/json;charset="UTF-8"', 'APPLICATION/JSON'];
export const OTHER_CONTENT_TYPES = [
  '',
  'application/vnd.api+json',
  'application/json; charset=latin1',
  'application/json; charset=utf-16',
  'application/json; charset=x-nonsense',
  'text/plain',
  'text/json',
  'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=xyz',
  'application/octet-stream',
  'application/xml',
  '*/*',
  'json',
  ';;;',
];

/** Content-Type (null: none), Content-Encoding, chunked or not. */
export const transportArb = fc.record({
  contentType: fc.oneof(
    { weight: 6, arbitrary: fc.constantFrom(...JSON_CONTENT_TYPES) },
    { weight: 1, arbitrary: fc.constant(null) },
    { weight: 2, arbitrary: fc.constantFrom(...OTHER_CONTENT_TYPES) },
  ),
  encoding: fc.oneof(
    { weight: 8, arbitrary: fc.constant<Encoding>('none') },
    { weight: 1, arbitrary: fc.constantFrom<Encoding>('identity', 'gzip', 'deflate', 'br', 'gzip-garbage', 'x-unknown') },
  ),
  chunked: fc.boolean(),
});
export type Transport = typeof transportArb extends fc.Arbitrary<infer T> ? T : never;

/** The default transport: plain JSON with a Content-Length. */
export const PLAIN: Transport = { contentType: 'application/json', encoding: 'none', chunked: false };

/** Headers and bytes for a body sent with a transport. */
export function encodeBody(text: string | Buffer, t: Transport): { headers: Record<string, string>; body: Buffer } {
  const raw = Buffer.isBuffer(text) ? text : Buffer.from(text, 'utf8');
  const headers: Record<string, string> = {};
  if (t.contentType !== null) headers['Content-Type'] = t.contentType;
  let body = raw;
  switch (t.encoding) {
    case 'none':
      break;
    case 'identity':
      headers['Content-Encoding'] = 'identity';
      break;
    case 'gzip':
      headers['Content-Encoding'] = 'gzip';
      body = gzipSync(raw);
      break;
    case 'deflate':
      headers['Content-Encoding'] = 'deflate';
      body = deflateSync(raw);
      break;
    case 'br':
      headers['Content-Encoding'] = 'br';
      body = brotliCompressSync(raw);
      break;
    case 'gzip-garbage':
      headers['Content-Encoding'] = 'gzip';
      break;
    case 'x-unknown':
      headers['Content-Encoding'] = 'x-unknown';
      break;
  }
  return { headers, body };
}

/** Bodies that are not JSON, or JSON at the edges of what parsers take. */
export const rawBodyArb: fc.Arbitrary<string | Buffer> = fc.oneof(
  fc.uint8Array({ maxLength: 300 }).map((a) => Buffer.from(a)),
  fc.string({ maxLength: 200 }),
  fc.string({ unit: 'binary', maxLength: 200 }),
  fc.jsonValue({ maxDepth: 3 }).chain((v) =>
    fc.integer({ min: 0, max: 1000 }).map((cut) => {
      const text = JSON.stringify(v) ?? 'null';
      return text.slice(0, Math.min(text.length - 1, cut % Math.max(1, text.length)));
    }),
  ),
  fc.constantFrom(
    '',
    ' ',
    '\n',
    '{',
    '}',
    '{"a":',
    '{"a":1,}',
    "{'a':1}",
    '{a:1}',
    '[1,2',
    'NaN',
    'Infinity',
    '-Infinity',
    'undefined',
    'null',
    'true',
    '0',
    '-0',
    '1e999',
    '-1e999',
    '123456789012345678901234567890',
    '""',
    '"\\ud800"',
    '"\\u0000"',
    '"\\x41"',
    '{"a":1} trailing',
    '{"a":1}{"b":2}',
    '// comment\n{}',
    '{"__proto__":{"polluted":1}}',
    '{"constructor":{"prototype":{"polluted":1}}}',
    '{"end_device_ids":{"__proto__":{"device_id":"x"}}}',
    '{"a":1,"a":2}',
    '\ufeff{}',
    '\ufeff\ufeff{}',
    '\u0000{}',
    'a=1&b=2',
    '<xml/>',
  ),
  fc.constantFrom(65, 1000, 10_000, 100_000).chain((d) =>
    fc.constantFrom('[', '{"a":').map((open) => open.repeat(d) + '1' + (open === '[' ? ']' : '}').repeat(d)),
  ),
  fc.constantFrom(100_000, 10_000).map((d) => '['.repeat(d)),
  fc.constant(Buffer.from([0xff, 0xfe, 0x7b, 0x00, 0x7d, 0x00])), // UTF-16LE BOM + "{}"
  fc.constant(Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xc3, 0x28, 0x22, 0x7d])), // {"a":"<invalid UTF-8>"}
);
