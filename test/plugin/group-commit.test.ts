import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { GroupCommit } from '../../plugin/store/group-commit.js';

/** A WAL sync the test finishes by hand. */
class HeldSync {
  readonly calls: { resolve: () => void; reject: (err: Error) => void }[] = [];
  readonly durable = () => new Promise<void>((resolve, reject) => this.calls.push({ resolve, reject }));
}

const turn = () => new Promise<void>((r) => setImmediate(r));

describe('group commit', () => {
  let dir: string;
  let db: Database.Database;
  let sync: HeldSync;
  let commits: GroupCommit;
  const insert = (v: number) => commits.run(() => db.prepare('INSERT INTO t (v) VALUES (?)').run(v).changes);
  const stored = () => (db.prepare('SELECT v FROM t ORDER BY v').all() as { v: number }[]).map((r) => r.v);

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'plugin-commit-'));
    db = new Database(join(dir, 'db.sqlite'));
    db.pragma('journal_mode = WAL');
    db.exec('CREATE TABLE t (v INTEGER NOT NULL UNIQUE)');
    sync = new HeldSync();
    commits = new GroupCommit(db, sync.durable);
  });
  afterEach(() => {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('answers a write only after the sync that follows its commit', async () => {
    let answered = false;
    const write = insert(1).then(() => (answered = true));
    await turn();
    expect(stored()).toEqual([1]);
    expect(sync.calls).toHaveLength(1);
    await turn();
    expect(answered).toBe(false);
    sync.calls[0].resolve();
    await write;
    expect(answered).toBe(true);
  });

  it('puts the writes that come during a sync into one next commit', async () => {
    const first = insert(1);
    await turn();
    const later = [insert(2), insert(3)];
    await turn();
    later.push(insert(4));
    await turn();
    // nothing more is committed while the first sync runs
    expect(stored()).toEqual([1]);
    sync.calls[0].resolve();
    await first;
    await vi.waitFor(() => expect(stored()).toEqual([1, 2, 3, 4]));
    expect(sync.calls).toHaveLength(2);
    sync.calls[1].resolve();
    expect(await Promise.all(later)).toEqual([1, 1, 1]);
  });

  it('fails the writes whose sync failed, and goes on with the next ones', async () => {
    const lost = insert(1);
    await turn();
    sync.calls[0].reject(new Error('EIO'));
    await expect(lost).rejects.toThrow('EIO');
    const next = insert(2);
    await vi.waitFor(() => expect(sync.calls).toHaveLength(2));
    sync.calls[1].resolve();
    expect(await next).toBe(1);
  });

  it('fails only the write that breaks a batch', async () => {
    await Promise.all([insert(1), turn().then(() => sync.calls[0].resolve())]);
    const results = Promise.allSettled([insert(2), insert(1), insert(3)]);
    await vi.waitFor(() => expect(sync.calls).toHaveLength(2));
    sync.calls[1].resolve();
    expect((await results).map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect(stored()).toEqual([1, 2, 3]);
  });
});
