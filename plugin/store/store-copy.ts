import Database from 'better-sqlite3';
import pg from 'pg';
import { migrate } from './pg-migrate.js';
import { SqliteStore } from './sqlite-store.js';

/**
 * Every table of a SQLite data dir, in an order that puts what rows refer to first. `key`: the
 * columns a row is known by in PostgreSQL (a second copy of it is skipped). `rowid`: PostgreSQL's
 * identity column that takes SQLite's rowid, where SQLite has no key of its own but the rowid.
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

export interface TableCopy {
  table: string;
  /** Rows in the SQLite file. */
  source: number;
  /** Of those, written now; the rest were in PostgreSQL already (an earlier run). */
  copied: number;
  /** Rows of the table in PostgreSQL afterwards (more than `source` if others wrote there too). */
  target: number;
}

/**
 * Copies a SQLite data dir's database into PostgreSQL, every table with its ids (so URLs, event
 * cursors and dead letter ids stay), and checks each source row is there by its key. Rows already
 * there are left as they are: a second run copies nothing and checks everything again. The SQLite
 * file is first upgraded to the current schema, so the plugin must not run on it meanwhile.
 */
export async function copySqliteToPostgres(options: { file: string; url: string; now?: () => Date; onTable?: (copy: TableCopy) => void }): Promise<TableCopy[]> {
  const now = options.now ?? (() => new Date());
  await new SqliteStore({ file: options.file, eventCap: Number.MAX_SAFE_INTEGER, now }).close();
  const source = new Database(options.file, { readonly: true, fileMustExist: true });
  const pool = new pg.Pool({ connectionString: options.url, max: 1 });
  try {
    await migrate(pool, now);
    const report: TableCopy[] = [];
    for (const table of TABLES) {
      const copy = await copyTable(source, pool, table);
      options.onTable?.(copy);
      report.push(copy);
    }
    return report;
  } finally {
    source.close();
    await pool.end();
  }
}

async function copyTable(source: Database.Database, pool: pg.Pool, table: (typeof TABLES)[number]): Promise<TableCopy> {
  const targetColumns = new Set(
    (await pool.query<{ column_name: string }>("SELECT column_name FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = $1", [table.name])).rows.map(
      (r) => r.column_name,
    ),
  );
  // A rowid's target column replaces a source column of that name (the ring's per-application seq).
  const sourceColumns = (source.prepare(`PRAGMA table_info(${table.name})`).all() as { name: string }[]).map((c) => c.name).filter((c) => c !== table.rowid);
  const missing = sourceColumns.filter((c) => !targetColumns.has(c));
  if (missing.length > 0) throw new Error(`${table.name}: PostgreSQL has no column ${missing.join(', ')} (its schema is older than this copy)`);
  // SQLite's own order: rowid, or the primary key of a table without one.
  const select = table.rowid
    ? source.prepare(`SELECT rowid AS ${table.rowid}, ${sourceColumns.join(', ')} FROM ${table.name} WHERE rowid > ? ORDER BY rowid LIMIT ${BATCH}`)
    : source.prepare(`SELECT ${sourceColumns.join(', ')} FROM ${table.name} ORDER BY ${table.key.join(', ')} LIMIT ${BATCH} OFFSET ?`);
  const columns = table.rowid ? [table.rowid, ...sourceColumns] : sourceColumns;
  let copied = 0;
  let read = 0;
  let after = 0;
  for (;;) {
    const rows = select.all(table.rowid ? after : read) as Record<string, unknown>[];
    if (rows.length === 0) break;
    read += rows.length;
    if (table.rowid) after = Number(rows[rows.length - 1][table.rowid]);
    const values = rows.flatMap((r) => columns.map((c) => r[c]));
    const tuples = rows.map((_, i) => `(${columns.map((__, j) => `$${i * columns.length + j + 1}`).join(', ')})`);
    const inserted = await pool.query(
      `INSERT INTO ${table.name} (${columns.join(', ')}) OVERRIDING SYSTEM VALUE VALUES ${tuples.join(', ')} ON CONFLICT (${table.key.join(', ')}) DO NOTHING`,
      values,
    );
    copied += inserted.rowCount ?? 0;
    // The check: every row of this batch is in PostgreSQL now, copied now or before.
    const keys = rows.flatMap((r) => table.key.map((k) => r[k]));
    const keyTuples = rows.map((_, i) => `(${table.key.map((__, j) => `$${i * table.key.length + j + 1}`).join(', ')})`);
    const found = await pool.query<{ n: string }>(`SELECT COUNT(*) AS n FROM ${table.name} WHERE (${table.key.join(', ')}) IN (${keyTuples.join(', ')})`, keys);
    if (Number(found.rows[0].n) !== rows.length) throw new Error(`${table.name}: ${rows.length - Number(found.rows[0].n)} rows of a batch are not in PostgreSQL after the copy`);
  }
  // Identities go on after the copied ids, so new rows do not collide with them.
  const identity = (await pool.query<{ column_name: string }>(
    "SELECT column_name FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = $1 AND is_identity = 'YES'",
    [table.name],
  )).rows[0]?.column_name;
  if (identity) {
    await pool.query(`SELECT setval(pg_get_serial_sequence($1, $2), COALESCE((SELECT MAX(${identity}) FROM ${table.name}), 0) + 1, false)`, [table.name, identity]);
  }
  const target = Number((await pool.query<{ n: string }>(`SELECT COUNT(*) AS n FROM ${table.name}`)).rows[0].n);
  return { table: table.name, source: read, copied, target };
}
