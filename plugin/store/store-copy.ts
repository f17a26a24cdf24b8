import Database from 'better-sqlite3';
import pg from 'pg';
import { migrate } from './pg-migrate.js';
import { noNul } from './pg-text.js';
import { SqliteStore } from './sqlite-store.js';

/**
 * Every table of a SQLite data dir, in an order that puts what rows refer to first. `key`: the
 * columns a row is known by in PostgreSQL (a row already there under that key is compared with the
 * SQLite one, not written again). `rowid`: PostgreSQL's identity column that takes SQLite's rowid,
 * where SQLite has no key of its own but the rowid.
 */
const TABLES: readonly { name: string; key: readonly string[]; rowid?: string }[] = [
  { name: 'profiles', key: ['app_id'] },
  { name: 'formatter_versions', key: ['app_id', 'version'] },
  { name: 'devices', key: ['id'] },
  { name: 'device_properties', key: ['device_id', 'name'] },
  { name: 'device_credentials', key: ['device_id'] },
  { name: 'buckets', key: ['id'] },
  { name: 'bucket_rows', key: ['seq'], rowid: 'seq' },
  { name: 'measurements', key: ['seq'], rowid: 'seq' },
  { name: 'dead_letters', key: ['id'] },
  { name: 'events', key: ['id'] },
  { name: 'messages', key: ['device_id', 'message_id'], rowid: 'seq' },
  { name: 'notifications', key: ['id'] },
  { name: 'recent_traffic', key: ['seq'], rowid: 'seq' },
];

/** Rows per INSERT: well under PostgreSQL's 65,535 parameters at a dozen columns. */
const BATCH = 500;
/** How long other sessions of the target database may take to go (one that just closed lingers a moment). */
const SESSIONS_WAIT_MS = 3_000;
/** How long to wait for the SQLite file's lock: a plugin holding the database open holds it for good. */
const SQLITE_LOCK_WAIT_MS = 1_000;

export interface TableCopy {
  table: string;
  /** Rows in the SQLite file. */
  source: number;
  /** Of those, written now; the rest were in PostgreSQL already, equal to the SQLite ones (an earlier run). */
  copied: number;
  /** Rows of the table in PostgreSQL afterwards (more than `source` if others wrote there too). */
  target: number;
}

type Value = string | number | null;
type Db = pg.Pool | pg.PoolClient;

const quote = (name: string): string => `"${name.replaceAll('"', '""')}"`;

/**
 * A SQLite value as the copy writes it: PostgreSQL text cannot hold NUL, so it becomes U+FFFD as
 * PgStore stores it; a BLOB (the plugin writes none) is taken as UTF-8 text.
 */
function toParam(table: string, column: string, v: unknown): Value {
  if (v === null || v === undefined) return null;
  if (typeof v === 'string') return noNul(v);
  if (typeof v === 'number') return v;
  if (typeof v === 'bigint') return v.toString();
  if (v instanceof Uint8Array) return noNul(Buffer.from(v).toString('utf8'));
  throw new Error(`${table}.${column}: a value of type ${typeof v} the copy cannot write`);
}

/** A written value as PostgreSQL gives it back cast to text (node-postgres sends a number as its toString()). */
const asText = (v: Value): string | null => (v === null ? null : String(v));

/** A row's key, for messages: its column names and values (ids, no secrets), shortened. */
function describeKey(key: readonly string[], values: (string | null)[]): string {
  return key.map((k, i) => `${k} = ${values[i] === null ? 'NULL' : JSON.stringify((values[i] as string).length > 80 ? `${(values[i] as string).slice(0, 80)}…` : values[i])}`).join(', ');
}

const EMPTY_TARGET = 'copy into an empty database, or into an earlier copy of this same file';

/**
 * Copies a SQLite data dir's database into PostgreSQL, every table with its ids (so URLs, event
 * cursors and dead letter ids stay), in one PostgreSQL transaction: it all comes over, or nothing.
 * Every source row is read back by its key and compared column by column with what was written;
 * a row that was there already (an earlier run of the same copy) must be equal to the SQLite one,
 * else the copy fails: it copies into an empty database or into an earlier copy of the same file,
 * never merges with another's data. A second run copies nothing and checks everything again.
 *
 * It refuses to start while the SQLite file is open elsewhere (the plugin running on the data dir)
 * or other sessions are connected to the PostgreSQL database (plugin instances), and holds the
 * SQLite file locked, in one transaction (one snapshot), for the whole copy. The SQLite file is
 * first upgraded to the current schema. Identity sequences move forward past the copied ids, never
 * back. `onTable` is called for each table once the copy is committed.
 */
export async function copySqliteToPostgres(options: { file: string; url: string; now?: () => Date; onTable?: (copy: TableCopy) => void }): Promise<TableCopy[]> {
  const now = options.now ?? (() => new Date());
  // Before anything is written anywhere: nobody uses either database.
  lockSqlite(options.file).close();
  const pool = new pg.Pool({ connectionString: options.url, max: 1 });
  let source: Database.Database | undefined;
  try {
    await refuseOtherSessions(pool, 'before');
    await new SqliteStore({ file: options.file, eventCap: Number.MAX_SAFE_INTEGER, now }).close();
    // Held to the end: one snapshot, and a plugin started meanwhile cannot open the file.
    source = lockSqlite(options.file);
    await migrate(pool, now);
    const report = await copyInOneTransaction(source, pool);
    for (const copy of report) options.onTable?.(copy);
    return report;
  } finally {
    if (source) {
      if (source.inTransaction) source.prepare('ROLLBACK').run();
      source.close();
    }
    await pool.end();
  }
}

async function copyInOneTransaction(source: Database.Database, pool: pg.Pool): Promise<TableCopy[]> {
  const client = await pool.connect();
  let broken = false;
  try {
    await client.query('BEGIN');
    try {
      const report: TableCopy[] = [];
      for (const table of TABLES) {
        try {
          report.push(await copyTable(source, client, table));
        } catch (err) {
          // PostgreSQL's own errors do not say which table the copy was at.
          throw err instanceof pg.DatabaseError ? new Error(`${table.name}: ${err.message}`, { cause: err }) : err;
        }
      }
      // Someone who connected during the copy may have written what the copy does not know of.
      await refuseOtherSessions(client, 'during');
      for (const table of TABLES) await sequenceAfterIds(client, table.name);
      await client.query('COMMIT');
      return report;
    } catch (err) {
      await client.query('ROLLBACK').catch(() => (broken = true));
      const message = err instanceof Error ? err.message : String(err);
      throw new Error(`${message} (nothing was copied: the copy is one transaction, rolled back)`, { cause: err });
    }
  } finally {
    client.release(broken);
  }
}

/**
 * The SQLite file opened with an exclusive lock (locking_mode EXCLUSIVE, in a transaction). The
 * plugin keeps its database open in WAL mode, which holds a shared lock on the file as long as it is
 * open, idle or not: the exclusive lock is refused then. A lock is all it sees: a plugin on another
 * host (a network file system) or a file system without working locks goes unnoticed.
 */
function lockSqlite(file: string): Database.Database {
  const db = new Database(file, { fileMustExist: true, timeout: SQLITE_LOCK_WAIT_MS });
  try {
    db.pragma('locking_mode = EXCLUSIVE');
    db.prepare('BEGIN EXCLUSIVE').run();
    return db;
  } catch (err) {
    db.close();
    const code = (err as { code?: unknown }).code;
    if (typeof code === 'string' && (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED'))) {
      throw new Error(`${file} is open in another process or connection: the plugin seems to be running on this data dir; stop it first`, { cause: err });
    }
    throw err;
  }
}

/**
 * Other client sessions connected to the target database (plugin instances, mostly): their writes
 * could collide with the copied rows and ids. One that is just closing may linger a moment: waited for.
 */
async function refuseOtherSessions(db: Db, when: 'before' | 'during'): Promise<void> {
  const deadline = Date.now() + SESSIONS_WAIT_MS;
  for (;;) {
    // In a transaction, pg_stat_activity answers from a snapshot taken at its first use: a fresh one each time.
    await db.query('SELECT pg_stat_clear_snapshot()');
    const others = (
      await db.query<{ pid: number; usename: string | null; application_name: string | null; addr: string | null }>(
        `SELECT pid, usename, application_name, client_addr::text AS addr FROM pg_stat_activity
         WHERE datname = current_database() AND pid <> pg_backend_pid() AND backend_type = 'client backend'`,
      )
    ).rows;
    if (others.length === 0) return;
    if (Date.now() >= deadline) {
      const who = others
        .slice(0, 5)
        .map((s) => `pid ${s.pid}${s.usename ? ` user ${s.usename}` : ''}${s.application_name ? ` application ${JSON.stringify(s.application_name)}` : ''}${s.addr ? ` from ${s.addr}` : ''}`)
        .join('; ');
      throw new Error(
        `${others.length} other session${others.length === 1 ? ' is' : 's are'} connected to the PostgreSQL database${when === 'during' ? ' since the copy began' : ''} (${who}${others.length > 5 ? '; …' : ''}): stop the plugin instances (and anything else connected to this database) first, then run the copy again`,
      );
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function copyTable(source: Database.Database, db: pg.PoolClient, table: (typeof TABLES)[number]): Promise<TableCopy> {
  const targetColumns = new Set(
    (await db.query<{ column_name: string }>('SELECT column_name FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = $1', [table.name])).rows.map(
      (r) => r.column_name,
    ),
  );
  // A rowid's target column replaces a source column of that name (the ring's per-application seq).
  const sourceColumns = (source.prepare(`PRAGMA table_info(${quote(table.name)})`).all() as { name: string }[]).map((c) => c.name).filter((c) => c !== table.rowid);
  const missing = sourceColumns.filter((c) => !targetColumns.has(c));
  if (missing.length > 0) throw new Error(`${table.name}: PostgreSQL has no column ${missing.join(', ')} (its schema is older than this copy)`);
  const columns = table.rowid ? [table.rowid, ...sourceColumns] : sourceColumns;
  const list = (cs: readonly string[]) => cs.map(quote).join(', ');
  // Pages by rowid, or by key (keyset: a page starts after the last key of the one before).
  const selectList = table.rowid ? `rowid AS ${quote(table.rowid)}, ${list(sourceColumns)}` : list(sourceColumns);
  const order = table.rowid ? 'rowid' : list(table.key);
  const firstPage = source.prepare(`SELECT ${selectList} FROM ${quote(table.name)} ORDER BY ${order} LIMIT ${BATCH}`);
  const nextPage = source.prepare(
    `SELECT ${selectList} FROM ${quote(table.name)} WHERE ${table.rowid ? 'rowid > ?' : `(${list(table.key)}) > (${table.key.map(() => '?').join(', ')})`} ORDER BY ${order} LIMIT ${BATCH}`,
  );
  const pageKey = table.rowid ? [table.rowid] : table.key;
  const count = (source.prepare(`SELECT COUNT(*) AS n FROM ${quote(table.name)}`).get() as { n: number }).n;

  const insert = (n: number) =>
    `INSERT INTO ${quote(table.name)} (${list(columns)}) OVERRIDING SYSTEM VALUE VALUES ${Array.from({ length: n }, (_, i) => `(${columns.map((__, j) => `$${i * columns.length + j + 1}`).join(', ')})`).join(', ')} ON CONFLICT DO NOTHING`;
  const readBack = (n: number) =>
    `SELECT ${columns.map((c) => `${quote(c)}::text`).join(', ')} FROM ${quote(table.name)} WHERE (${list(table.key)}) IN (${Array.from({ length: n }, (_, i) => `(${table.key.map((__, j) => `$${i * table.key.length + j + 1}`).join(', ')})`).join(', ')})`;
  const keyIndexes = table.key.map((k) => columns.indexOf(k));

  let copied = 0;
  let read = 0;
  let last: unknown[] | null = null;
  for (;;) {
    const rows = (last === null ? firstPage.raw().all() : nextPage.raw().all(...last)) as unknown[][];
    if (rows.length === 0) break;
    read += rows.length;
    last = pageKey.map((k) => rows[rows.length - 1][columns.indexOf(k)]);
    const values = rows.map((r) => r.map((v, j) => toParam(table.name, columns[j], v)));
    // Conflicts (a row already there under one of its keys) are left as they are, then checked.
    const inserted = await db.query({ text: insert(rows.length), values: values.flat() });
    copied += inserted.rowCount ?? 0;
    // The check: every row is in PostgreSQL now under its key, with the values the copy writes.
    const there = new Map<string, (string | null)[]>();
    const back = await db.query<(string | null)[]>({ text: readBack(rows.length), values: values.flatMap((r) => keyIndexes.map((i) => r[i])), rowMode: 'array' } satisfies pg.QueryArrayConfig);
    for (const row of back.rows) there.set(JSON.stringify(keyIndexes.map((i) => row[i])), row);
    for (const row of values) {
      const want = row.map(asText);
      const key = keyIndexes.map((i) => want[i]);
      const got = there.get(JSON.stringify(key));
      if (!got) {
        throw new Error(
          `${table.name}: the row ${describeKey(table.key, key)} is not in PostgreSQL after the copy (a row there holds one of its unique values): ${EMPTY_TARGET}`,
        );
      }
      const differ = columns.filter((_, j) => got[j] !== want[j]);
      if (differ.length > 0) {
        throw new Error(
          `${table.name}: PostgreSQL already holds the row ${describeKey(table.key, key)}, different from the SQLite file's (${differ.join(', ')}): the database is not empty and not an earlier copy of this file; ${EMPTY_TARGET}`,
        );
      }
    }
  }
  if (read !== count) throw new Error(`${table.name}: ${count - read} rows of the SQLite file have a NULL key, which PostgreSQL cannot take`);
  const target = Number((await db.query<{ n: string }>(`SELECT COUNT(*) AS n FROM ${quote(table.name)}`)).rows[0].n);
  return { table: table.name, source: read, copied, target };
}

/**
 * An identity goes on after the copied ids, so new rows do not collide with them; never backwards
 * (below ids a sequence handed out already, in rows deleted or rolled back since).
 */
async function sequenceAfterIds(db: pg.PoolClient, table: string): Promise<void> {
  const identity = (
    await db.query<{ column_name: string }>(
      "SELECT column_name FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = $1 AND is_identity = 'YES'",
      [table],
    )
  ).rows[0]?.column_name;
  if (!identity) return;
  const sequence = (await db.query<{ s: string | null }>('SELECT pg_get_serial_sequence($1, $2) AS s', [quote(table), identity])).rows[0].s;
  if (!sequence) return;
  // The name as PostgreSQL quotes it; values as text: BIGINT would not fit a number past 2^53.
  const state = (await db.query<{ last_value: string; is_called: boolean }>(`SELECT last_value::text, is_called FROM ${sequence}`)).rows[0];
  const next = BigInt(state.last_value) + (state.is_called ? 1n : 0n);
  const max = (await db.query<{ m: string }>(`SELECT COALESCE(MAX(${quote(identity)}), 0)::text AS m FROM ${quote(table)}`)).rows[0].m;
  const after = BigInt(max) + 1n;
  if (after > next) await db.query('SELECT setval($1::regclass, $2::bigint, false)', [sequence, after.toString()]);
}
