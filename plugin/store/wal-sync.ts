import { closeSync, fdatasync, openSync } from 'node:fs';
import { promisify } from 'node:util';

const datasync = promisify(fdatasync);

/**
 * Makes committed WAL frames durable with fdatasync on libuv's thread pool, so the event loop goes
 * on while the disk flushes. With `synchronous = NORMAL` SQLite writes a commit's frames to the WAL
 * without syncing them; syncing the WAL file afterwards gives what `FULL` gives: a commit survives
 * power loss once the sync that started after it is done.
 */
export class WalSync {
  private fd: number | null = null;

  constructor(private readonly walFile: string) {}

  /** Resolves once everything committed before the call is on disk. */
  async sync(): Promise<void> {
    // The WAL file exists from the first commit on and keeps its inode (SQLite rewrites it in place).
    this.fd ??= openSync(this.walFile, 'r');
    await datasync(this.fd);
  }

  close(): void {
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
  }
}
