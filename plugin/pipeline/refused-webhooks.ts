import { LRUCache } from 'lru-cache';
import type { Clock } from '../clock.js';
import type { EventLog } from '../events/event-log.js';

const WINDOW_MS = 60_000;

interface Window {
  startedAt: number;
  /** Refusals in this window after its event. */
  unrecorded: number;
}

/**
 * Webhooks refused for a missing or wrong token cost an outsider's flood no durable write per
 * request: per profile whose token was wrong (so at most one key per profile, whatever application
 * ids are sent), the first refusal of each minute is an event, carrying how many were refused since
 * the previous one; the others are only counted. Logs follow the events, so they are bounded too.
 */
export class RefusedWebhooks {
  private readonly windows = new LRUCache<string, Window>({ max: 10_000 });
  private total = 0;

  constructor(private readonly deps: { events: EventLog; clock: Clock }) {}

  /** Refusals since start. */
  get count(): number {
    return this.total;
  }

  async refuse(refusal: { appId: string | null; profileId: string; tokenSent: boolean; remoteAddress: string }): Promise<void> {
    this.total++;
    const now = this.deps.clock.now().getTime();
    const window = this.windows.get(refusal.profileId);
    if (window && now - window.startedAt < WINDOW_MS) {
      window.unrecorded++;
      return;
    }
    this.windows.set(refusal.profileId, { startedAt: now, unrecorded: 0 });
    await this.deps.events.record({
      appId: refusal.appId,
      deviceId: null,
      category: 'auth',
      severity: 'warning',
      title: refusal.tokenSent ? 'Webhook with wrong token refused' : 'Webhook without token refused',
      details: {
        remote_address: refusal.remoteAddress,
        profile: refusal.profileId,
        // Refused since the previous event of this profile (this one included); later ones in the next minute's event.
        refused: (window?.unrecorded ?? 0) + 1,
      },
    });
  }
}
