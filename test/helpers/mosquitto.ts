import { execFile, type ChildProcess } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { freePort, LoopbackServer } from '../../bench/loopback.js';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';

const MOSQUITTO = '/usr/sbin/mosquitto';
const MOSQUITTO_PASSWD = '/usr/bin/mosquitto_passwd';
const START_TIMEOUT_MS = 10_000;
const KILL_AFTER_MS = 3_000;
const RELOAD_TIMEOUT_MS = 5_000;
const POLL_MS = 25;
// logged once every listener is open
const RUNNING = /mosquitto version \S+ running/;

/** Under the 'tts' ACL this user reads and writes every topic: the test playing The Things Stack. */
export const TTS_SERVER_USER = 'tts-server';

export interface MosquittoUser {
  username: string;
  password: string;
}

export interface MosquittoOptions {
  users: MosquittoUser[];
  /** A fixed port, e.g. to bring a broker back where a stopped one listened; default: a free one. */
  port?: number;
  /**
   * 'tts' (default): as The Things Stack's MQTT server, user `{app}@{tenant}` reads and writes
   * only `v3/{app}@{tenant}/#`, and `tts-server` everything. 'open': every user everything.
   */
  acl?: 'tts' | 'open';
}

const execFileAsync = promisify(execFile);


/**
 * The uid/gid of user `mosquitto` when we are root, null otherwise. A root mosquitto would drop to
 * that user itself, which clears the parent-death signal (see launch()); so we start it as that
 * user, owning its files (newer 2.0.x warn about files it does not own). As another user it keeps
 * our identity.
 */
async function brokerOwner(): Promise<{ uid: number; gid: number } | null> {
  if (process.getuid?.() !== 0) return null;
  try {
    const id = async (flag: string) => Number((await execFileAsync('id', [flag, 'mosquitto'])).stdout.trim());
    return { uid: await id('-u'), gid: await id('-g') };
  } catch (err) {
    throw new Error(`as root the broker runs as user "mosquitto", which is missing: ${String(err)}`);
  }
}

function aclFile(acl: 'tts' | 'open'): string {
  // `pattern` lines apply to every user, %u being the username
  if (acl === 'open') return 'pattern readwrite #\n';
  return ['pattern readwrite v3/%u/#', '', `user ${TTS_SERVER_USER}`, 'topic readwrite #', ''].join('\n');
}

/**
 * Debian's mosquitto as a real MQTT broker on loopback, authenticating users from a password file
 * and authorising topics from an ACL file, all in a private temp dir.
 */
export class Mosquitto {
  private server: LoopbackServer | null = null;
  /** Everything the current broker process wrote to stderr (its log). */
  get stderr(): string {
    return this.server?.log ?? '';
  }
  private child: ChildProcess | null = null;
  private exited: Promise<void> = Promise.resolve();

  private constructor(
    readonly port: number,
    private readonly dir: string,
    private readonly owner: { uid: number; gid: number } | null,
  ) {}

  static async start(opts: MosquittoOptions): Promise<Mosquitto> {
    if (!existsSync(MOSQUITTO)) throw new Error(`${MOSQUITTO} is missing: apt-get install mosquitto (as .ci/run does)`);
    const owner = await brokerOwner();
    const broker = new Mosquitto(opts.port ?? (await freePort()), mkdtempSync(join(tmpdir(), 'mosquitto-')), owner);
    try {
      await broker.writeFiles(opts);
      await broker.launch();
    } catch (err) {
      await broker.stop();
      throw err;
    }
    return broker;
  }

  get url(): string {
    return `mqtt://127.0.0.1:${this.port}`;
  }

  /** The broker's process id, null while stopped. */
  get pid(): number | null {
    return this.child?.pid ?? null;
  }

  /** Stops the broker (its clients see their connections close) and starts it again on the same port. */
  async restart(): Promise<void> {
    await this.terminate();
    await this.launch();
  }

  /** Adds a user (or changes a password) and has the running broker reload its password file. */
  async addUser(username: string, password: string): Promise<void> {
    await execFileAsync(MOSQUITTO_PASSWD, ['-b', this.path('passwd'), username, password]);
    this.own(this.path('passwd'));
    const reloads = () => this.stderr.split('Reloading config.').length;
    const before = reloads();
    this.child?.kill('SIGHUP');
    // the reload runs in the broker's loop right after this line, before it reads any later CONNECT
    const deadline = Date.now() + RELOAD_TIMEOUT_MS;
    while (reloads() === before) {
      if (Date.now() > deadline) throw new Error(`mosquitto did not reload its config:\n${this.stderr}`);
      await sleep(POLL_MS);
    }
  }

  /** SIGTERM (SIGKILL after 3 s), then removes the temp dir. */
  async stop(): Promise<void> {
    await this.terminate();
    rmSync(this.dir, { recursive: true, force: true });
  }

  private path(name: string): string {
    return join(this.dir, name);
  }

  /** Private to the broker: owned by the user it runs as, no access for others. */
  private own(path: string, mode = 0o600): void {
    chmodSync(path, mode);
    if (this.owner) chownSync(path, this.owner.uid, this.owner.gid);
  }

  private async writeFiles(opts: MosquittoOptions): Promise<void> {
    const [first, ...others] = opts.users;
    if (!first) throw new Error('mosquitto needs at least one user: anonymous clients are refused');
    await execFileAsync(MOSQUITTO_PASSWD, ['-b', '-c', this.path('passwd'), first.username, first.password]);
    for (const user of others) await execFileAsync(MOSQUITTO_PASSWD, ['-b', this.path('passwd'), user.username, user.password]);
    writeFileSync(this.path('acl'), aclFile(opts.acl ?? 'tts'));
    writeFileSync(
      this.path('mosquitto.conf'),
      [
        `listener ${this.port} 127.0.0.1`,
        'allow_anonymous false',
        `password_file ${this.path('passwd')}`,
        `acl_file ${this.path('acl')}`,
        'persistence false',
        'log_dest stderr',
        '',
      ].join('\n'),
    );
    for (const name of ['passwd', 'acl', 'mosquitto.conf']) this.own(this.path(name));
    this.own(this.dir, 0o700);
  }

  private async launch(): Promise<void> {
    const server = new LoopbackServer(MOSQUITTO, ['-c', this.path('mosquitto.conf')], { deathSignal: 'TERM', owner: this.owner });
    this.server = server;
    this.child = server.child;
    this.exited = server.exited;
    await server.ready('mosquitto', this.port, RUNNING, START_TIMEOUT_MS);
  }

  private async terminate(): Promise<void> {
    const child = this.child;
    if (!child) return;
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), KILL_AFTER_MS);
    await this.exited;
    clearTimeout(timer);
    this.child = null;
  }
}
