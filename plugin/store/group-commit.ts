import type Database from 'better-sqlite3';

interface Pending {
  work: () => unknown;
  resolve: (value: unknown) => void;
  reject: (reason: unknown) => void;
}

/**
 * Group commit: every write queued during one turn of the event loop runs in one transaction
 * (one fsync); each caller's promise settles only after that transaction committed. If one write
 * fails, the batch is retried write by write, so it does not take the others down with it.
 */
export class GroupCommit {
  private queue: Pending[] = [];
  private scheduled = false;

  constructor(private readonly db: Database.Database) {}

  run<T>(work: () => T): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ work, resolve: resolve as (v: unknown) => void, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  private flush(): void {
    this.scheduled = false;
    const batch = this.queue;
    this.queue = [];
    if (batch.length === 0) return;
    let values: unknown[];
    try {
      values = this.db.transaction(() => batch.map((item) => item.work()))();
    } catch (err) {
      if (batch.length === 1) {
        batch[0].reject(err);
        return;
      }
      // One write failed and rolled the batch back (rare): commit each alone so only that one fails.
      for (const item of batch) {
        try {
          item.resolve(this.db.transaction(item.work)());
        } catch (itemErr) {
          item.reject(itemErr);
        }
      }
      return;
    }
    batch.forEach((item, i) => item.resolve(values[i]));
  }

  /** Waits until everything queued so far is committed. */
  async drain(): Promise<void> {
    while (this.queue.length > 0 || this.scheduled) {
      await new Promise<void>((r) => setImmediate(r));
    }
  }
}
