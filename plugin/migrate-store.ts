import { resolve, join } from 'node:path';
import { existsSync } from 'node:fs';
import { copySqliteToPostgres } from './store/store-copy.js';

const USAGE =
  'usage: npm run migrate-store -- --from <sqlite data dir> [--to postgres://user:password@host:port/database]\n' +
  '       without --to, the URL is taken from PLUGIN_DATABASE_URL (keeps the password off the command line)';

/**
 * `npm run migrate-store -- --from ./data --to postgres://…` (or the URL in PLUGIN_DATABASE_URL): a
 * SQLite data dir into an empty PostgreSQL database, safe to run again on the same one.
 */
async function main(argv: string[]): Promise<number> {
  const args = new Map<string, string>();
  for (let i = 0; i < argv.length; i += 2) {
    if (!['--from', '--to'].includes(argv[i]) || argv[i + 1] === undefined) {
      process.stderr.write(`${USAGE}\n`);
      return 64;
    }
    args.set(argv[i], argv[i + 1]);
  }
  const from = args.get('--from');
  const to = args.get('--to') ?? process.env.PLUGIN_DATABASE_URL;
  if (!from || !to || !/^postgres(ql)?:\/\//.test(to)) {
    process.stderr.write(`${USAGE}\n`);
    return 64;
  }
  const file = join(resolve(from), 'plugin.db');
  if (!existsSync(file)) {
    process.stderr.write(`no plugin.db in ${resolve(from)}\n`);
    return 66;
  }
  process.stdout.write(`copying ${file} (the plugin must be stopped, on it and on the PostgreSQL database)\n`);
  const report = await copySqliteToPostgres({ file, url: to });
  for (const t of report) {
    process.stdout.write(`  ${t.table.padEnd(20)} ${String(t.source).padStart(9)} rows, ${String(t.copied).padStart(9)} copied now, ${String(t.target).padStart(9)} in PostgreSQL\n`);
  }
  const rows = report.reduce((n, t) => n + t.source, 0);
  const others = report.filter((t) => t.target > t.source);
  if (others.length > 0) {
    process.stdout.write(`note: PostgreSQL holds rows that are not from this file (in ${others.map((t) => t.table).join(', ')})\n`);
  }
  process.stdout.write(`done: all ${rows} rows of ${report.length} tables are in PostgreSQL (checked by key and content); start the plugin with PLUGIN_DATABASE_URL\n`);
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`migrate-store failed: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
