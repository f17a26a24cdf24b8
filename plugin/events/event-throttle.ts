import { LRUCache } from 'lru-cache';

/**
 * What outsiders can repeat at will (refused tokens, refused downlink URLs) is an event at most once
 * a minute per key: the first occurrence of each minute is recorded, with how many came since the
 * previous record; the others are only counted.
 */
export class EventThrottle {
  private readonly windows = new LRUCache<string, { startedAt: number; unrecorded: number }>({ max: 10_000 });

  constructor(private readonly windowMs = 60_000) {}

  /** How many to report now (this one included), or null when this one is only counted. */
  take(key: string, now: number): number | null {
    const window = this.windows.get(key);
    if (window && now - window.startedAt < this.windowMs) {
      window.unrecorded++;
      return null;
    }
    this.windows.set(key, { startedAt: now, unrecorded: 0 });
    return (window?.unrecorded ?? 0) + 1;
  }
}
