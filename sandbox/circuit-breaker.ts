/**
 * Per-application circuit breaker for formatters: after `threshold` timeouts, memory errors or
 * crashes in a row, or `killThreshold` formatter processes killed or crashed by its calls within
 * `killWindowMs` (successes in between or not: each kill costs the process's other applications a
 * wait), the application's formatter is suspended for a cool-down, which doubles each time it trips
 * again, up to a maximum. After a cool-down one more failure trips it again; a call that ends any
 * other way clears the count and the doubling. Saving a new script resumes it at once.
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
  /** Processes killed or crashed by one application's calls that suspend it. Default 3. */
  killThreshold?: number;
  /** Within this time, ms. Default 10 min. */
  killWindowMs?: number;
}

export interface Suspension {
  appId: string;
  /** Epoch ms the cool-down ends. */
  until: number;
  /** Timeouts, memory errors and crashes in a row. */
  failures: number;
  /** Processes its calls killed or crashed within the window. */
  kills: number;
  lastError: FormatterError;
}

interface State {
  failures: number;
  lastError: FormatterError | null;
  /** How many times it tripped since the last call that ended well. */
  trips: number;
  until: number;
  /** When its calls killed or crashed a process, within the window. */
  kills: number[];
}

/** Failures that say the formatter, not its input, is the problem. */
export function countsAsFailure(error: FormatterError | undefined): error is FormatterError {
  return error !== undefined && (error.kind === 'timeout' || error.kind === 'memory' || error.kind === 'crash');
}

export class CircuitBreaker {
  private readonly threshold: number;
  private readonly coolDownMs: number;
  private readonly maxCoolDownMs: number;
  private readonly killThreshold: number;
  private readonly killWindowMs: number;
  /** Applications with failures, kills or a suspension. */
  private readonly states = new LRUCache<string, State>({ max: 10_000 });

  constructor(options: BreakerOptions = {}) {
    this.threshold = options.threshold ?? 5;
    this.coolDownMs = options.coolDownMs ?? 60_000;
    this.maxCoolDownMs = options.maxCoolDownMs ?? 15 * 60_000;
    this.killThreshold = options.killThreshold ?? 3;
    this.killWindowMs = options.killWindowMs ?? 10 * 60_000;
  }

  /** The application's suspension, while its cool-down lasts. */
  suspended(appId: string, now: number): Suspension | undefined {
    const state = this.states.get(appId);
    return state && state.until > now ? this.view(appId, state, now) : undefined;
  }

  /** Records how a call ended (one that ends well lifts no suspension); answers the suspension it starts, if it trips. */
  record(appId: string, error: FormatterError | undefined, now: number): Suspension | undefined {
    const state = this.states.get(appId);
    if (!countsAsFailure(error)) {
      if (!state) return undefined;
      state.failures = 0;
      state.trips = 0;
      state.lastError = null;
      if (state.until <= now && this.liveKills(state, now).length === 0) this.states.delete(appId);
      return undefined;
    }
    const next = this.stateOf(appId, state);
    next.failures++;
    next.lastError = error;
    return next.failures >= this.threshold ? this.trip(appId, next, now) : undefined;
  }

  /** A process was killed or crashed by this application's call; answers the suspension it starts, if it trips. */
  recordKill(appId: string, error: FormatterError, now: number): Suspension | undefined {
    const state = this.stateOf(appId, this.states.get(appId));
    state.kills = [...this.liveKills(state, now), now];
    state.lastError = error;
    return state.kills.length >= this.killThreshold ? this.trip(appId, state, now) : undefined;
  }

  /** Processes this application's calls killed or crashed within the window. */
  recentKills(appId: string, now: number): number {
    const state = this.states.get(appId);
    return state ? this.liveKills(state, now).length : 0;
  }

  private stateOf(appId: string, state: State | undefined): State {
    if (state) return state;
    const created: State = { failures: 0, lastError: null, trips: 0, until: 0, kills: [] };
    this.states.set(appId, created);
    return created;
  }

  private liveKills(state: State, now: number): number[] {
    return state.kills.filter((at) => now - at < this.killWindowMs);
  }

  private trip(appId: string, state: State, now: number): Suspension | undefined {
    if (state.until > now) return undefined;
    state.trips++;
    state.until = now + Math.min(this.maxCoolDownMs, this.coolDownMs * 2 ** Math.min(state.trips - 1, 30));
    return this.view(appId, state, now);
  }

  /** Lifts a suspension (a new script was saved) and forgets the failures; true when it was suspended. */
  resume(appId: string, now: number): boolean {
    const state = this.states.get(appId);
    if (!state) return false;
    const was = state.until > now;
    // The doubling stays: a new script that fails the same way is suspended for longer.
    state.until = 0;
    state.failures = 0;
    state.kills = [];
    return was;
  }

  /** Every application suspended now. */
  list(now: number): Suspension[] {
    const out: Suspension[] = [];
    for (const [appId, state] of this.states.entries()) if (state.until > now) out.push(this.view(appId, state, now));
    return out;
  }

  private view(appId: string, state: State, now: number): Suspension {
    return {
      appId,
      until: state.until,
      failures: state.failures,
      kills: this.liveKills(state, now).length,
      lastError: state.lastError ?? { kind: 'timeout', message: '' },
    };
  }
}
