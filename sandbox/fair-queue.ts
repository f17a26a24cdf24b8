/**
 * Which calls a formatter process gets next. A process runs its calls one at a time, so one
 * application's slow calls would make every application behind them wait. Each application may
 * have about BUDGET_MS of estimated work in the process at once (always at least one call); its
 * other calls wait here, and the applications take turns. Fast formatters still go in big batches.
 */
import { LRUCache } from 'lru-cache';

const BUDGET_MS = 5;
/** What a call of an application not seen yet is expected to take. */
const FIRST_ESTIMATE_MS = 1;

export class FairQueue<T extends { readonly app: string }> {
  private readonly waiting = new Map<string, T[]>();
  private readonly inside = new Map<string, number>();
  /** How long each application's calls take: the last one if slower, else a slow average. */
  private readonly estimates = new LRUCache<string, number>({ max: 10_000 });
  private count = 0;

  get size(): number {
    return this.count;
  }

  add(item: T): void {
    const queue = this.waiting.get(item.app);
    if (queue) queue.push(item);
    else this.waiting.set(item.app, [item]);
    this.count++;
  }

  /** The calls that may go in now, the applications taking turns. */
  take(): T[] {
    const out: T[] = [];
    let admitted = true;
    while (admitted && this.waiting.size > 0) {
      admitted = false;
      for (const [app, queue] of this.waiting) {
        const calls = this.inside.get(app) ?? 0;
        if (calls > 0 && calls * (this.estimates.get(app) ?? FIRST_ESTIMATE_MS) >= BUDGET_MS) continue;
        out.push(queue.shift() as T);
        this.inside.set(app, calls + 1);
        this.count--;
        admitted = true;
        if (queue.length === 0) this.waiting.delete(app);
      }
    }
    return out;
  }

  /** A call of `app` that was taken has ended, after `durationMs` of work. */
  done(app: string, durationMs: number): void {
    const calls = (this.inside.get(app) ?? 1) - 1;
    if (calls > 0) this.inside.set(app, calls);
    else this.inside.delete(app);
    const estimate = this.estimates.get(app) ?? FIRST_ESTIMATE_MS;
    this.estimates.set(app, durationMs >= estimate ? durationMs : estimate * 0.9 + durationMs * 0.1);
  }

  /** Every call still waiting, each application's in order (their process is gone). */
  drain(): T[] {
    const out = [...this.waiting.values()].flat();
    this.waiting.clear();
    this.inside.clear();
    this.count = 0;
    return out;
  }
}
