import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { accepts, freePort } from './loopback.js';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { processUsage, type ProcessUsage } from '../sandbox/process-usage.js';
import { trackChild } from './children.js';

export const MOSQUITTO = '/usr/sbin/mosquitto';
const SETPRIV = '/usr/bin/setpriv';
const START_TIMEOUT_MS = 10_000;
/** Logged once every listener is open. */
const RUNNING = /mosquitto version \S+ running/;

/** Temp dirs of brokers not stopped yet: removed when the bench exits, however it exits (bar SIGKILL). */
const dirs = new Set<string>();
process.once('exit', () => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});


/**
 * Debian's mosquitto for the bench: one listener on loopback (a free port), anonymous clients
 * allowed (any user name and password is taken), no persistence, its log on stderr (kept). As root
 * it runs as user `mosquitto` from the start (a root mosquitto drops to it by itself, which would
 * clear the parent-death signal set by setpriv), so its temp dir and config belong to that user.
 * killAllChildren() kills it too; setpriv's parent-death signal ends it if the bench is killed.
 */
export class BenchBroker {
  stderr = '';
  private readonly exited: Promise<void>;

  private constructor(
    readonly port: number,
    private readonly dir: string,
    private readonly child: ChildProcess,
  ) {
    this.exited = new Promise((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) resolve();
      child.once('exit', () => resolve());
      child.once('error', (err) => {
        this.stderr += String(err);
        resolve();
      });
    });
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (chunk: string) => {
      this.stderr = (this.stderr + chunk).slice(-8000);
    });
  }

  static available(): boolean {
    return existsSync(MOSQUITTO);
  }

  static async start(): Promise<BenchBroker> {
    if (!BenchBroker.available()) throw new Error(`${MOSQUITTO} is missing: apt-get install mosquitto`);
    let owner: { uid: number; gid: number } | null = null;
    if (process.getuid?.() === 0) {
      const id = (flag: string) => Number(execFileSync('id', [flag, 'mosquitto'], { encoding: 'utf8' }).trim());
      owner = { uid: id('-u'), gid: id('-g') };
    }
    const port = await freePort();
    const dir = mkdtempSync(join(tmpdir(), 'bench-mosquitto-'));
    dirs.add(dir);
    const conf = join(dir, 'mosquitto.conf');
    writeFileSync(conf, [`listener ${port} 127.0.0.1`, 'allow_anonymous true', 'persistence false', 'log_dest stderr', ''].join('\n'), { mode: 0o600 });
    if (owner) {
      chownSync(conf, owner.uid, owner.gid);
      chownSync(dir, owner.uid, owner.gid);
    }
    const [command, args] = existsSync(SETPRIV)
      ? [SETPRIV, ['--pdeathsig', 'KILL', '--', MOSQUITTO, '-c', conf]]
      : [MOSQUITTO, ['-c', conf]];
    const child = spawn(command, args, { stdio: ['ignore', 'ignore', 'pipe'], ...(owner ?? {}) });
    trackChild(child);
    const broker = new BenchBroker(port, dir, child);
    try {
      const deadline = Date.now() + START_TIMEOUT_MS;
      // Its own log line too: a port taken meanwhile by another process would accept as well.
      while (!(RUNNING.test(broker.stderr) && (await accepts(port)))) {
        if (child.exitCode !== null || child.signalCode !== null) throw new Error(`mosquitto exited before listening on ${port}:\n${broker.stderr}`);
        if (Date.now() > deadline) throw new Error(`mosquitto not listening on ${port} after ${START_TIMEOUT_MS} ms:\n${broker.stderr}`);
        await sleep(25);
      }
    } catch (err) {
      await broker.stop();
      throw err;
    }
    return broker;
  }

  get url(): string {
    return `mqtt://127.0.0.1:${this.port}`;
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  /** RSS now and at its peak, and CPU time so far (setpriv execs mosquitto: same pid). */
  usage(): ProcessUsage | undefined {
    return this.child.pid === undefined ? undefined : processUsage(this.child.pid);
  }

  /** SIGTERM (SIGKILL after 3 s), then removes its temp dir. */
  async stop(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 3_000);
    await this.exited;
    clearTimeout(timer);
    rmSync(this.dir, { recursive: true, force: true });
    dirs.delete(this.dir);
  }
}
