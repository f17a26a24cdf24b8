import { execFile, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { freePort, LoopbackServer } from './loopback.js';

const execFileAsync = promisify(execFile);

const PG_ROOT = '/usr/lib/postgresql';
const RUNUSER = '/usr/sbin/runuser';
const SETPRIV = '/usr/bin/setpriv';
const START_TIMEOUT_MS = 20_000;
const STOP_TIMEOUT_MS = 5_000;
/** Another process may take the free port before the server binds it: start again on another. */
const START_ATTEMPTS = 3;
// logged once the server takes connections
const READY = /database system is ready to accept connections/;
/** Linux reports CPU times in clock ticks of 1/100 s on every architecture Node runs on. */
const TICK_MS = 10;

/** The bin dir of the highest PostgreSQL version installed the Debian way, and that version. */
function binDir(): { bin: string; major: number } {
  const versions = existsSync(PG_ROOT)
    ? readdirSync(PG_ROOT)
        .filter((v) => existsSync(join(PG_ROOT, v, 'bin', 'postgres')) && existsSync(join(PG_ROOT, v, 'bin', 'initdb')))
        .sort((a, b) => Number.parseFloat(b) - Number.parseFloat(a))
    : [];
  if (versions.length === 0) throw new Error(`no PostgreSQL server under ${PG_ROOT}/*/bin: apt-get install postgresql (Debian's package)`);
  return { bin: join(PG_ROOT, versions[0], 'bin'), major: Number.parseFloat(versions[0]) };
}

/** uid/gid of user `postgres` when we are root (the server refuses to run as root), null otherwise. */
async function serverOwner(): Promise<{ uid: number; gid: number } | null> {
  if (process.getuid?.() !== 0) return null;
  try {
    const id = async (flag: string) => Number((await execFileAsync('id', [flag, 'postgres'])).stdout.trim());
    return { uid: await id('-u'), gid: await id('-g') };
  } catch (err) {
    throw new Error(`as root the server runs as user "postgres", which is missing (apt-get install postgresql): ${String(err)}`);
  }
}

/** A process's parent and its own and its reaped children's CPU time, clock ticks (/proc/<pid>/stat). */
function procStat(pid: number | string): { ppid: number; ticks: number; childTicks: number } | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces: count fields after its closing parenthesis.
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { ppid: Number(f[1]), ticks: Number(f[11]) + Number(f[12]), childTicks: Number(f[13]) + Number(f[14]) };
  } catch {
    return null;
  }
}

export interface PostgresOptions {
  /**
   * 'fast' (the default, for tests' throwaway clusters): fsync, synchronous_commit and
   * full_page_writes off, small shared buffers. 'durable' (the bench): PostgreSQL's own defaults
   * (fsync and synchronous_commit on: every commit waits for its WAL flush), what users run.
   */
  settings?: 'fast' | 'durable';
}

/** A server to make databases on: its superuser URL and major version. */
export interface PostgresServerRef {
  url: string;
  major: number;
}

let databasesMade = 0;

/** A new empty database on `server` (its name: `prefix`, a counter and random hex); its URL. */
export async function createDatabaseOn(server: PostgresServerRef, prefix = 'test'): Promise<string> {
  if (!/^[a-z_][a-z0-9_]*$/.test(prefix)) throw new Error(`database name prefix ${JSON.stringify(prefix)}: lower case letters, digits and _ only`);
  const name = `${prefix}_${++databasesMade}_${randomBytes(4).toString('hex')}`;
  const client = new pg.Client({ connectionString: server.url });
  await client.connect();
  try {
    // The name is made here from a checked prefix, a counter and hex digits: nothing to escape.
    // FILE_COPY (15+) copies the small template faster than logging it page by page.
    await client.query(`CREATE DATABASE ${name}${server.major >= 15 ? ' STRATEGY FILE_COPY' : ''}`);
  } finally {
    await client.end();
  }
  const url = new URL(server.url);
  url.pathname = `/${name}`;
  return url.toString();
}

/** Servers not stopped yet: shut down (SIGQUIT) and their temp dirs removed when this process exits. */
const running = new Set<Postgres>();
process.once('exit', () => {
  for (const server of running) server.abandon();
});

/**
 * A real PostgreSQL server on loopback, for the tests and the bench: a fresh cluster in a temp dir
 * of its own, trust auth, a free port. As root it runs as user `postgres` (initdb and pg_ctl through
 * runuser). It is our child, with a parent-death signal: no server outlives the process that
 * started it. Tests take one per file and a database per test; the bench one for its PostgreSQL rows.
 */
export class Postgres {
  private server: LoopbackServer | null = null;
  /** Everything the server wrote to stderr (its log). */
  get log(): string {
    return this.server?.log ?? '';
  }
  private child: ChildProcess | null = null;
  private exited: Promise<void> = Promise.resolve();

  private constructor(
    private readonly bin: string,
    readonly major: number,
    private readonly dir: string,
    private readonly owner: { uid: number; gid: number } | null,
    private readonly settings: 'fast' | 'durable',
    private port = 0,
  ) {}

  /** Why no server can be started here (its binaries are missing), or null. */
  static missing(): string | null {
    try {
      binDir();
    } catch (err) {
      return err instanceof Error ? err.message : String(err);
    }
    return existsSync(SETPRIV) ? null : `${SETPRIV} is missing (apt-get install util-linux)`;
  }

  static async start(options: PostgresOptions = {}): Promise<Postgres> {
    const { bin, major } = binDir();
    const owner = await serverOwner();
    const server = new Postgres(bin, major, mkdtempSync(join(tmpdir(), 'postgres-')), owner, options.settings ?? 'fast');
    running.add(server);
    try {
      if (owner) chownSync(server.dir, owner.uid, owner.gid);
      // --no-sync: initdb's own final flush only; the server's settings are launch()'s.
      await server.as(join(bin, 'initdb'), ['-D', server.dataDir, '-U', 'postgres', '-A', 'trust', '-E', 'UTF8', '--locale=C.UTF-8', '--no-sync', '--no-instructions']);
      for (let attempt = 1; ; attempt++) {
        server.port = await freePort();
        try {
          await server.launch();
          break;
        } catch (err) {
          if (attempt >= START_ATTEMPTS || !/could not bind|Address already in use/i.test(server.log)) throw err;
        }
      }
    } catch (err) {
      await server.stop();
      throw err;
    }
    return server;
  }

  get url(): string {
    return `postgres://postgres@127.0.0.1:${this.port}/postgres`;
  }

  /** The postmaster's pid while it runs (setpriv execs it: our child's pid). */
  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** A new empty database (its name: `prefix`, a counter and random hex); its URL. */
  createDatabase(prefix = 'test'): Promise<string> {
    return createDatabaseOn({ url: this.url, major: this.major }, prefix);
  }

  /**
   * CPU time of the whole server so far, ms (Linux /proc): the postmaster's own, every live process
   * it started (backends, checkpointer, WAL writer, autovacuum…: its children by ppid), and those
   * that ended, which the kernel adds to the postmaster's children's times once it reaps them.
   * Null when it is not running or /proc cannot tell.
   */
  cpuMs(): number | null {
    const child = this.child;
    const pid = child?.pid;
    if (!child || pid === undefined || child.exitCode !== null || child.signalCode !== null) return null;
    const postmaster = procStat(pid);
    if (!postmaster) return null;
    let ticks = postmaster.ticks + postmaster.childTicks;
    for (const entry of readdirSync('/proc')) {
      if (entry.charCodeAt(0) > 57 || entry.charCodeAt(0) < 48) continue;
      const s = procStat(entry);
      if (s?.ppid === pid) ticks += s.ticks;
    }
    return ticks * TICK_MS;
  }

  /** Immediate shutdown (no checkpoint: the data goes anyway), then removes the temp dir. */
  async stop(): Promise<void> {
    const child = this.child;
    if (child && child.exitCode === null && child.signalCode === null) {
      await this.as(join(this.bin, 'pg_ctl'), ['-D', this.dataDir, '-m', 'immediate', '-w', 'stop']).catch(() => child.kill('SIGQUIT'));
      const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
      await this.exited;
      clearTimeout(timer);
    }
    this.child = null;
    rmSync(this.dir, { recursive: true, force: true });
    running.delete(this);
  }

  /**
   * On this process's exit (synchronous: no waiting): SIGQUIT, the server's immediate shutdown (its
   * backends end with it), and the temp dir removed.
   */
  abandon(): void {
    const child = this.child;
    if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGQUIT');
    rmSync(this.dir, { recursive: true, force: true });
    running.delete(this);
  }

  private get dataDir(): string {
    return join(this.dir, 'data');
  }

  /** Runs a PostgreSQL tool as user postgres when we are root (runuser), directly otherwise. */
  private async as(file: string, args: string[]): Promise<void> {
    try {
      if (this.owner) await execFileAsync(RUNUSER, ['-u', 'postgres', '--', file, ...args]);
      else await execFileAsync(file, args);
    } catch (err) {
      const e = err as { stderr?: string; message: string };
      throw new Error(`${file} failed: ${e.stderr || e.message}`);
    }
  }

  /**
   * Starts the server as our child (not daemonized by pg_ctl start): the kernel sends it SIGQUIT
   * (immediate shutdown) when the process that started it dies, however it dies, so no server
   * outlives a run.
   */
  private async launch(): Promise<void> {
    const settings: Record<string, string> = {
      listen_addresses: '127.0.0.1',
      port: String(this.port),
      unix_socket_directories: this.dir,
      max_connections: '200',
      logging_collector: 'off',
      // Speed over durability: a crash may lose or corrupt the data, which a test throws away anyway.
      ...(this.settings === 'fast' ? { fsync: 'off', synchronous_commit: 'off', full_page_writes: 'off', shared_buffers: '32MB' } : {}),
    };
    const args = ['-D', this.dataDir, ...Object.entries(settings).flatMap(([k, v]) => ['-c', `${k}=${v}`])];
    const server = new LoopbackServer(join(this.bin, 'postgres'), args, { deathSignal: 'QUIT', owner: this.owner });
    this.server = server;
    this.child = server.child;
    this.exited = server.exited;
    try {
      await server.ready('postgres', this.port, READY, START_TIMEOUT_MS);
    } catch (err) {
      if (server.child.exitCode !== null || server.child.signalCode !== null) this.child = null;
      throw err;
    }
  }
}
