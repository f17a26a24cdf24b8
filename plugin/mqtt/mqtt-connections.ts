import { createHash, randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import type { Clock } from '../clock.js';
import type { EventLog } from '../events/event-log.js';
import { MqttLink, type Backoff, type LinkState, type LinkStatus } from './mqtt-link.js';
import type { MqttConnection } from './mqtt-settings.js';

/** What one profile's MQTT connection is: where, and what comes in on it. */
export interface MqttEndpoint {
  /** "TTS" or "ThingPark", for event titles. */
  label: string;
  connection: MqttConnection;
  subscriptions: string[];
  onMessage(topic: string, payload: Buffer): void;
}

export const LINK_STATES: readonly LinkState[] = ['connected', 'connecting', 'error', 'disabled'];

/** The largest MQTT packet taken from a broker: a webhook body's limit, plus the topic. */
export const MAX_MQTT_PACKET_BYTES = 1024 * 1024 + 1024;

interface Held {
  link: MqttLink;
  fingerprint: string;
  endpoint: MqttEndpoint;
}

/**
 * The MQTT connections of all profiles, one per profile, opened, replaced and closed as profiles
 * change. Each change of a connection's state is an event of its application.
 */
export class MqttConnections {
  private readonly links = new Map<string, Held>();
  private closed = false;
  /** Distinct per plugin instance: two instances on one broker must not take over each other's session. */
  private readonly instance = randomBytes(4).toString('hex');

  constructor(
    private readonly deps: {
      events: EventLog;
      clock: Clock;
      logger: Logger;
      backoff: Backoff;
      random: () => number;
    },
  ) {}

  /** Makes the profile's connection match `endpoint`: opens, replaces, keeps, or (null) closes it. */
  async set(appId: string, endpoint: MqttEndpoint | null): Promise<void> {
    // A profile save still running when the plugin closes opens nothing after it.
    if (this.closed) endpoint = null;
    const held = this.links.get(appId);
    const fingerprint = endpoint ? fingerprintOf(endpoint) : '';
    if (held && held.fingerprint === fingerprint) {
      // Same broker and topics: keep the connection, take the new handler.
      if (endpoint) held.endpoint = endpoint;
      return;
    }
    if (held) {
      this.links.delete(appId);
      await held.link.stop();
    }
    if (!endpoint || this.closed) return;
    const entry: Held = { fingerprint, endpoint, link: this.newLink(appId, endpoint, () => entry) };
    this.links.set(appId, entry);
    entry.link.start();
  }

  status(appId: string): LinkStatus | null {
    return this.links.get(appId)?.link.status ?? null;
  }

  publish(appId: string, topic: string, payload: string): Promise<void> {
    const held = this.links.get(appId);
    if (!held) return Promise.reject(new Error('the profile has no MQTT connection'));
    return held.link.publish(topic, payload);
  }

  /** How many connections are in each state (for /healthz: counts only, no application names). */
  counts(): Record<LinkState, number> {
    const counts = { connected: 0, connecting: 0, error: 0, disabled: 0 };
    for (const { link } of this.links.values()) counts[link.status.state]++;
    return counts;
  }

  async closeAll(): Promise<void> {
    this.closed = true;
    const all = [...this.links.values()];
    this.links.clear();
    await Promise.all(all.map(({ link }) => link.stop()));
  }

  private newLink(appId: string, endpoint: MqttEndpoint, current: () => Held): MqttLink {
    const { events, clock, logger } = this.deps;
    let last: LinkState | null = null;
    return new MqttLink({
      connection: endpoint.connection,
      // MQTT 3.1.1 servers must take 23 characters; most take more. Ours says whose and which instance.
      clientId: `lwb-${appId.slice(0, 36)}-${this.instance}`,
      subscriptions: endpoint.subscriptions,
      onMessage: (topic, payload) => current().endpoint.onMessage(topic, payload),
      onStatus: (status) => {
        // Only a new state is an event: a broker that keeps refusing is one event, not one per attempt.
        if (status.state === last) return;
        last = status.state;
        if (status.state === 'disabled') return;
        const label = current().endpoint.label;
        const title =
          status.state === 'connected'
            ? `${label} MQTT connected`
            : status.state === 'error'
              ? `${label} MQTT connection refused: ${status.lastError ?? 'unknown error'}`
              : `${label} MQTT reconnecting${status.lastError ? `: ${status.lastError}` : ''}`;
        void events
          .record({
            appId,
            deviceId: null,
            category: 'connection',
            severity: status.state === 'connected' ? 'info' : status.state === 'error' ? 'error' : 'warning',
            title,
            details: { state: status.state, last_error: status.lastError, broker: endpoint.connection.url },
          })
          .catch((err: unknown) => logger.error({ err }, 'could not record an MQTT connection event'));
      },
      now: () => clock.now(),
      random: this.deps.random,
      backoff: this.deps.backoff,
      maxPacketBytes: MAX_MQTT_PACKET_BYTES,
    });
  }
}

/** Everything that needs a new connection when it changes; the password only as a hash. */
function fingerprintOf(e: MqttEndpoint): string {
  const { url, username, password, ca } = e.connection;
  return createHash('sha256').update(JSON.stringify([url, username, password, ca, e.subscriptions])).digest('base64url');
}
