import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import pg from 'pg';
import { accepts, freePort } from '../../bench/loopback.js';

const execFileAsync = promisify(execFile);

const PG_ROOT = '/usr/lib/postgresql';
const RUNUSER = '/usr/sbin/runuser';
const SETPRIV = '/usr/bin/setpriv';
const START_TIMEOUT_MS = 20_000;
const STOP_TIMEOUT_MS = 5_000;
const POLL_MS = 25;
/** Another process may take the free port before the server binds it: start again on another. */
const START_ATTEMPTS = 3;
// logged once the server takes connections
const READY = /database system is ready to accept connections/;

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

/**
 * A real PostgreSQL server on loopback for tests: a fresh cluster in a temp dir, trust auth, tuned
 * for speed over durability. One per test file; each test takes its own database.
 */
export class Postgres {
  /** Everything the server wrote to stderr (its log). */
  log = '';
  private child: ChildProcess | null = null;
  private exited: Promise<void> = Promise.resolve();
  private databases = 0;

  private constructor(
    private readonly bin: string,
    private readonly major: number,
    private readonly dir: string,
    private readonly owner: { uid: number; gid: number } | null,
    private port = 0,
  ) {}

  static async start(): Promise<Postgres> {
    const { bin, major } = binDir();
    const owner = await serverOwner();
    const server = new Postgres(bin, major, mkdtempSync(join(tmpdir(), 'postgres-')), owner);
    try {
      if (owner) chownSync(server.dir, owner.uid, owner.gid);
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

  /** A new empty database; its URL. */
  async createDatabase(): Promise<string> {
    const name = `test_${++this.databases}_${randomBytes(4).toString('hex')}`;
    const client = new pg.Client({ connectionString: this.url });
    await client.connect();
    try {
      // The name is made here from a counter and hex digits: nothing to escape. FILE_COPY (15+)
      // copies the small template faster than logging it page by page.
      await client.query(`CREATE DATABASE ${name}${this.major >= 15 ? ' STRATEGY FILE_COPY' : ''}`);
    } finally {
      await client.end();
    }
    return `postgres://postgres@127.0.0.1:${this.port}/${name}`;
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
   * (immediate shutdown) when the test process dies, however it dies, so no server outlives a run.
   */
  private async launch(): Promise<void> {
    this.log = '';
    const settings = {
      listen_addresses: '127.0.0.1',
      port: String(this.port),
      unix_socket_directories: this.dir,
      max_connections: '200',
      fsync: 'off',
      synchronous_commit: 'off',
      full_page_writes: 'off',
      shared_buffers: '32MB',
      logging_collector: 'off',
    };
    const args = ['-D', this.dataDir, ...Object.entries(settings).flatMap(([k, v]) => ['-c', `${k}=${v}`])];
    const child = spawn(SETPRIV, ['--pdeathsig', 'QUIT', '--', join(this.bin, 'postgres'), ...args], {
      stdio: ['ignore', 'ignore', 'pipe'],
      ...(this.owner ?? {}),
    });
    this.child = child;
    let gone = false;
    this.exited = new Promise((resolve) => {
      const done = () => {
        gone = true;
        resolve();
      };
      child.once('exit', done);
      child.once('error', (err) => {
        this.log += String(err);
        done();
      });
    });
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (chunk: string) => (this.log += chunk));

    // its own log line too: a port taken meanwhile by another process would accept as well
    const deadline = Date.now() + START_TIMEOUT_MS;
    while (!(READY.test(this.log) && (await accepts(this.port)))) {
      if (gone) {
        this.child = null;
        throw new Error(`postgres exited before listening on ${this.port}:\n${this.log}`);
      }
      if (Date.now() > deadline) throw new Error(`postgres not ready on ${this.port} after ${START_TIMEOUT_MS} ms:\n${this.log}`);
      await sleep(POLL_MS);
    }
  }
}
