/**
 * Which calls a formatter process gets next. A process runs its calls one at a time, so one
 * application's slow calls would make every application behind them wait. Each application may
 * have about BUDGET_MS of estimated work in the process at once (always at least one call); its
 * other calls wait here, and the applications take turns. Fast formatters still go in big batches.
 *
 * An application not seen yet is expected to take its whole time limit, until its calls say
 * otherwise: a slow newcomer cannot fill the process before anything is known of it.
 */
import { LRUCache } from 'lru-cache';

const BUDGET_MS = 5;

/** How long each application's calls take: the last one if slower, else halfway to it. Shared by a pool's processes. */
export class CallEstimates {
  private readonly byApp = new LRUCache<string, number>({ max: 10_000 });

  of(app: string, timeoutMs: number): number {
    return this.byApp.get(app) ?? timeoutMs;
  }

  observe(app: string, durationMs: number, timeoutMs: number): void {
    const estimate = this.of(app, timeoutMs);
    this.byApp.set(app, durationMs >= estimate ? durationMs : (estimate + durationMs) / 2);
  }
}

export class FairQueue<T extends { readonly app: string; readonly timeoutMs: number }> {
  private readonly waiting = new Map<string, T[]>();
  private readonly inside = new Map<string, number>();
  private count = 0;

  constructor(private readonly estimates: CallEstimates) {}

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
        if (calls > 0 && calls * this.estimates.of(app, queue[0].timeoutMs) >= BUDGET_MS) continue;
        out.push(queue.shift() as T);
        this.inside.set(app, calls + 1);
        this.count--;
        admitted = true;
        if (queue.length === 0) this.waiting.delete(app);
      }
    }
    return out;
  }

  /** A call that was taken has ended, after `durationMs` of work. */
  done(item: T, durationMs: number): void {
    const calls = (this.inside.get(item.app) ?? 1) - 1;
    if (calls > 0) this.inside.set(item.app, calls);
    else this.inside.delete(item.app);
    this.estimates.observe(item.app, durationMs, item.timeoutMs);
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
