import type Database from 'better-sqlite3';

interface Pending {
  work: () => unknown;
  resolve: (value: unknown) => void;
  reject: (reason: unknown) => void;
}

/**
 * Group commit: the writes queued since the last commit run in one transaction; each caller's
 * promise settles only after that transaction committed and `durable` (the WAL sync) finished.
 * While one sync runs, new writes wait and go into the next transaction, so a busy server makes one
 * commit per sync however many requests arrive (fewer, bigger commits write fewer pages per write).
 * If one write fails, the batch is retried write by write, so it does not take the others down with it.
 */
export class GroupCommit {
  private queue: Pending[] = [];
  private scheduled = false;
  private syncing = false;
  /** Told each WAL sync's duration in seconds (GET /metrics, plugin/metrics/). */
  onSync: ((seconds: number) => void) | null = null;

  constructor(
    private readonly db: Database.Database,
    private readonly durable: () => Promise<void>,
  ) {}

  run<T>(work: () => T): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ work, resolve: resolve as (v: unknown) => void, reject });
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.scheduled || this.syncing || this.queue.length === 0) return;
    this.scheduled = true;
    setImmediate(() => this.flush());
  }

  private flush(): void {
    this.scheduled = false;
    const batch = this.queue;
    this.queue = [];
    const settled: [resolve: (value: unknown) => void, value: unknown][] = [];
    try {
      const values = this.db.transaction(() => batch.map((item) => item.work()))();
      batch.forEach((item, i) => settled.push([item.resolve, values[i]]));
    } catch (err) {
      if (batch.length === 1) {
        batch[0].reject(err);
        this.schedule();
        return;
      }
      // One write failed and rolled the batch back (rare): commit each alone so only that one fails.
      for (const item of batch) {
        try {
          const value = this.db.transaction(item.work)();
          settled.push([item.resolve, value]);
        } catch (itemErr) {
          item.reject(itemErr);
        }
      }
    }
    if (settled.length === 0) return this.schedule();
    this.afterSync(settled, batch.map((item) => item.reject));
  }

  /**
   * Answers once the sync is done. A method of its own so that its callbacks do not keep the batch,
   * with each write's data, while the sync runs (writes kept that long are what the young-generation
   * GC copies and promotes).
   */
  private afterSync(settled: [resolve: (value: unknown) => void, value: unknown][], rejects: ((reason: unknown) => void)[]): void {
    this.syncing = true;
    const started = performance.now();
    this.durable()
      .then(
        () => settled.forEach(([resolve, value]) => resolve(value)),
        // Committed but maybe not on disk: nobody is told it was stored.
        (err: unknown) => rejects.forEach((reject) => reject(err)),
      )
      .finally(() => {
        this.onSync?.((performance.now() - started) / 1000);
        this.syncing = false;
        this.schedule();
      });
  }

  /** Waits until everything queued so far is committed and durable. */
  async drain(): Promise<void> {
    while (this.queue.length > 0 || this.scheduled || this.syncing) {
      await new Promise<void>((r) => setImmediate(r));
    }
  }
}
