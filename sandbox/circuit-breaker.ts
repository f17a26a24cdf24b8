/**
 * Per-application circuit breaker for formatters: after `threshold` timeouts or memory errors in a
 * row, the application's formatter is suspended for a cool-down, which doubles each time it trips
 * again, up to a maximum. After a cool-down one more failure trips it again; a call that ends any
 * other way closes it. Saving a script resumes it at once.
 */
import { LRUCache } from 'lru-cache';
import type { FormatterError } from '../formatters/contract.js';

export interface BreakerOptions {
  /** Timeouts or memory errors in a row that suspend. Default 5. */
  threshold?: number;
  /** First cool-down, ms. Default 60 s. */
  coolDownMs?: number;
  /** Longest cool-down, ms. Default 15 min. */
  maxCoolDownMs?: number;
}

export interface Suspension {
  appId: string;
  /** Epoch ms the cool-down ends. */
  until: number;
  /** Timeouts and memory errors in a row. */
  failures: number;
  lastError: FormatterError;
}

interface State {
  failures: number;
  lastError: FormatterError | null;
  /** How many times it tripped since the last call that ended well. */
  trips: number;
  until: number;
}

/** Failures that say the formatter, not its input, is the problem. */
export function countsAsFailure(error: FormatterError | undefined): error is FormatterError {
  return error !== undefined && (error.kind === 'timeout' || error.kind === 'memory');
}

export class CircuitBreaker {
  private readonly threshold: number;
  private readonly coolDownMs: number;
  private readonly maxCoolDownMs: number;
  /** Applications with failures or a suspension; one that calls well leaves. */
  private readonly states = new LRUCache<string, State>({ max: 10_000 });

  constructor(options: BreakerOptions = {}) {
    this.threshold = options.threshold ?? 5;
    this.coolDownMs = options.coolDownMs ?? 60_000;
    this.maxCoolDownMs = options.maxCoolDownMs ?? 15 * 60_000;
  }

  /** The application's suspension, while its cool-down lasts. */
  suspended(appId: string, now: number): Suspension | undefined {
    const state = this.states.get(appId);
    return state && state.until > now ? this.view(appId, state) : undefined;
  }

  /** Records how a call ended; answers the suspension it starts, if it trips. */
  record(appId: string, error: FormatterError | undefined, now: number): Suspension | undefined {
    if (!countsAsFailure(error)) {
      this.states.delete(appId);
      return undefined;
    }
    const state = this.states.get(appId) ?? { failures: 0, lastError: null, trips: 0, until: 0 };
    state.failures++;
    state.lastError = error;
    this.states.set(appId, state);
    if (state.failures < this.threshold || state.until > now) return undefined;
    state.trips++;
    state.until = now + Math.min(this.maxCoolDownMs, this.coolDownMs * 2 ** Math.min(state.trips - 1, 30));
    return this.view(appId, state);
  }

  /** Lifts a suspension and forgets the failures; true when the application was suspended. */
  resume(appId: string, now: number): boolean {
    const state = this.states.get(appId);
    this.states.delete(appId);
    return state !== undefined && state.until > now;
  }

  /** Every application suspended now. */
  list(now: number): Suspension[] {
    const out: Suspension[] = [];
    for (const [appId, state] of this.states.entries()) if (state.until > now) out.push(this.view(appId, state));
    return out;
  }

  private view(appId: string, state: State): Suspension {
    return { appId, until: state.until, failures: state.failures, lastError: state.lastError ?? { kind: 'timeout', message: '' } };
  }
}
