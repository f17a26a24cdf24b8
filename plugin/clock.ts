/** Injected time source, so tests can move time (TTL expiry, retries, connection timeouts). */
export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };
