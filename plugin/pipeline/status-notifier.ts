import type { JsonObject } from '../../formatters/contract.js';
import type { Background } from '../background.js';
import type { Clock } from '../clock.js';
import type { EventLog } from '../events/event-log.js';
import type { Profiles } from '../profiles.js';
import { statusNotification } from '../iotda.js';
import type { MessageRecord } from '../store/records.js';
import type { Store } from '../store/store.js';
import { backoffMs } from './downlink.js';

export const MAX_NOTIFICATION_ATTEMPTS = 8;
/** Notifications one delivery pass posts at most. */
const PASS_MAX = 100;

/**
 * Tells the application about every status change, through the profile's notification URL.
 * Notifications wait in the store (an outbox) until the receiver answers 2xx, so retries survive restarts.
 */
export class StatusNotifier {
  private delivering: Promise<void> | null = null;
  private again = false;

  constructor(
    private readonly deps: {
      store: Store;
      profiles: Profiles;
      events: EventLog;
      clock: Clock;
      userAgent: string;
      timeoutMs: number;
      /** How long a claimed notification is this instance's (see claimLeaseMs). */
      leaseMs: number;
      background: Background;
      random?: () => number;
    },
  ) {}

  async onStatusChange(m: MessageRecord): Promise<void> {
    const profile = await this.deps.profiles.resolve(m.appId);
    const url = profile.settings.downlink.status_notification_url;
    if (!url) return;
    await this.deps.store.enqueueNotification(url, statusNotification(m, this.deps.clock.now()));
    this.deps.background.run('status notification', () => this.deliverDue());
  }

  /** Sends what is due; one pass at a time, another right after if more was queued meanwhile. */
  deliverDue(): Promise<void> {
    if (this.delivering) {
      this.again = true;
      return this.delivering;
    }
    this.delivering = (async () => {
      try {
        do {
          this.again = false;
          await this.deliverPass();
        } while (this.again);
      } finally {
        this.delivering = null;
      }
    })();
    return this.delivering;
  }

  private async deliverPass(): Promise<void> {
    const { store, clock, events } = this.deps;
    const dueBefore = clock.now().toISOString();
    // Each claimed right before it is posted, so no lease runs out while earlier ones wait for their receivers.
    for (let i = 0; i < PASS_MAX; i++) {
      const leaseUntil = new Date(clock.now().getTime() + this.deps.leaseMs).toISOString();
      const [n] = await store.claimDueNotifications({ dueBefore, leaseUntil, limit: 1 });
      if (!n) return;
      const error = await this.post(n.url, n.body);
      const attempts = n.attempts + 1;
      if (error === null) {
        await store.rescheduleNotification(n.id, attempts, null);
      } else if (attempts >= MAX_NOTIFICATION_ATTEMPTS) {
        await store.rescheduleNotification(n.id, attempts, null);
        const header = (n.body.notify_data as { header: { app_id: string; device_id: string } }).header;
        await events.record({
          appId: header.app_id,
          deviceId: header.device_id,
          category: 'downlink',
          severity: 'error',
          title: `Status notification given up after ${attempts} attempts: ${error}`,
          details: { url: n.url },
        });
      } else {
        const next = new Date(clock.now().getTime() + backoffMs(attempts, this.deps.random)).toISOString();
        await store.rescheduleNotification(n.id, attempts, next);
      }
    }
  }

  /** null on success, else what went wrong. */
  private async post(url: string, body: JsonObject): Promise<string | null> {
    try {
      const res = await fetch(url, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', 'User-Agent': this.deps.userAgent },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(this.deps.timeoutMs),
        redirect: 'error',
      });
      await res.arrayBuffer().catch(() => undefined);
      return res.ok ? null : `HTTP ${res.status}`;
    } catch (err) {
      return err instanceof Error ? err.message : String(err);
    }
  }
}
