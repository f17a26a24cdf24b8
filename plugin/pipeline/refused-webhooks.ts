import type { Clock } from '../clock.js';
import type { EventLog } from '../events/event-log.js';
import { EventThrottle } from '../events/event-throttle.js';

/**
 * Webhooks refused for a missing or wrong token cost an outsider's flood no durable write per
 * request: per profile whose token was wrong (so at most one key per profile, whatever application
 * ids are sent), the first refusal of each minute is an event, carrying how many were refused since
 * the previous one; the others are only counted. Logs follow the events, so they are bounded too.
 */
export class RefusedWebhooks {
  private readonly throttle = new EventThrottle();
  private total = 0;

  constructor(private readonly deps: { events: EventLog; clock: Clock }) {}

  /** Refusals since start. */
  get count(): number {
    return this.total;
  }

  async refuse(refusal: { appId: string | null; profileId: string; tokenSent: boolean; remoteAddress: string }): Promise<void> {
    this.total++;
    const refused = this.throttle.take(refusal.profileId, this.deps.clock.now().getTime());
    if (refused === null) return;
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
        refused,
      },
    });
  }
}
