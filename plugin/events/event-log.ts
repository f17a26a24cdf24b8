import type { Logger } from 'pino';
import type { EventInput, EventRecord } from '../store/records.js';
import type { Store } from '../store/store.js';

export type EventListener = (event: EventRecord) => void;

/** Persisted, capped event log plus the live fan-out that feeds Server-Sent Events. */
export class EventLog {
  private readonly listeners = new Set<EventListener>();

  constructor(
    private readonly store: Store,
    private readonly logger: Logger,
  ) {}

  async record(...events: EventInput[]): Promise<EventRecord[]> {
    const stored = await this.store.appendEvents(events);
    this.publish(stored);
    return stored;
  }

  /** For events already stored in another transaction (the uplink write). */
  publish(events: EventRecord[]): void {
    for (const event of events) {
      if (event.severity === 'error' || event.severity === 'warning') {
        this.logger.warn({ app_id: event.appId, device_id: event.deviceId, category: event.category }, event.title);
      }
      for (const listener of this.listeners) listener(event);
    }
  }

  /** For events another instance stored and logged: only the live streams hear of them here. */
  relay(events: EventRecord[]): void {
    for (const event of events) for (const listener of this.listeners) listener(event);
  }

  subscribe(listener: EventListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  get subscriberCount(): number {
    return this.listeners.size;
  }
}
