import { spawn, type ChildProcess } from 'node:child_process';
import { createConnection, createServer, type AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

const SETPRIV = '/usr/bin/setpriv';
const READY_POLL_MS = 25;

/** A TCP port free on loopback now (the brokers and servers the bench and the tests start take one). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Whether something accepts TCP connections on the loopback port. */
export function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/**
 * A server process the bench or a test starts on a loopback port: under setpriv, so the kernel
 * sends it `deathSignal` when the process that started it dies, however it dies (vitest ends its
 * workers with signals, which skip exit handlers); its stderr kept in `log`.
 */
export class LoopbackServer {
  readonly child: ChildProcess;
  log = '';
  readonly exited: Promise<void>;
  private gone = false;

  constructor(command: string, args: string[], options: { deathSignal: 'TERM' | 'QUIT' | 'KILL'; owner?: { uid: number; gid: number } | null }) {
    this.child = spawn(SETPRIV, ['--pdeathsig', options.deathSignal, '--', command, ...args], {
      stdio: ['ignore', 'ignore', 'pipe'],
      ...(options.owner ?? {}),
    });
    this.exited = new Promise((resolve) => {
      const done = () => {
        this.gone = true;
        resolve();
      };
      this.child.once('exit', done);
      this.child.once('error', (err) => {
        this.log += String(err);
        done();
      });
    });
    this.child.stderr?.setEncoding('utf8');
    this.child.stderr?.on('data', (chunk: string) => (this.log += chunk));
  }

  /**
   * Resolves once `line` is in its log and the port accepts (its own log line too: a port taken
   * meanwhile by another process would accept as well); throws with the log if it exits first or
   * is not ready within `timeoutMs`.
   */
  async ready(name: string, port: number, line: RegExp, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!(line.test(this.log) && (await accepts(port)))) {
      if (this.gone) throw new Error(`${name} exited before listening on ${port}:\n${this.log}`);
      if (Date.now() > deadline) throw new Error(`${name} not listening on ${port} after ${timeoutMs} ms:\n${this.log}`);
      await sleep(READY_POLL_MS);
    }
  }
}
