import { parse as parseJson } from '@hapi/bourne';
import type { Logger } from 'pino';
import type { Clock } from '../clock.js';
import { DomainError } from '../domain-error.js';
import type { EventLog } from '../events/event-log.js';
import { EventThrottle } from '../events/event-throttle.js';
import type { Profiles, ResolvedProfile } from '../profiles.js';
import { assertJsonDepth } from '../schemas/json-depth.js';
import type { ProfileSettings } from '../schemas/profile.js';

/** Messages of one connection being processed at once; more are dropped (QoS 0 is at most once anyway). */
const MAX_IN_FLIGHT = 1000;
/** Their payload bytes: a message of a connection holds its payload, text and parse while it waits. */
const MAX_IN_FLIGHT_BYTES = 16 * 1024 * 1024;

/** A message from a profile's broker, parsed, for the profile it came in for. */
export interface BrokerMessage {
  topic: string;
  /** The payload as received, for the raw JSON the formatters may read. */
  text: string;
  body: unknown;
  profile: ResolvedProfile;
}

/** What an inbox needs of the plugin, whatever the network. */
export interface InboxServices {
  profiles: Profiles;
  events: EventLog;
  clock: Clock;
  logger: Logger;
}

/**
 * What comes in on one network's MQTT connections, before the network reads it: at most
 * MAX_IN_FLIGHT messages of a connection at once, only for a profile that still wants them, JSON
 * with prototype keys refused and its depth bounded. A message that cannot be taken is an event
 * of its application, at most one a minute counting the rest; never a crash or a disconnect.
 */
export class MqttInbox {
  private readonly refusals = new EventThrottle();
  private readonly inFlight = new Map<string, { messages: number; bytes: number }>();

  constructor(
    private readonly deps: InboxServices & {
      /** "TTS" or "ThingPark", for event titles. */
      label: string;
      /** Largest message taken (its network's report limit); larger ones are refused unread. */
      maxBytes: number;
      /** Whether the profile, as it is now, takes messages on this connection. */
      wants(appId: string, settings: ProfileSettings): boolean;
      take(message: BrokerMessage): Promise<unknown>;
    },
  ) {}

  receive(appId: string, topic: string, payload: Buffer): void {
    const busy = this.inFlight.get(appId) ?? { messages: 0, bytes: 0 };
    if (busy.messages >= MAX_IN_FLIGHT || busy.bytes + payload.length > MAX_IN_FLIGHT_BYTES) {
      const why = `more than ${MAX_IN_FLIGHT} messages or ${MAX_IN_FLIGHT_BYTES / 1024 / 1024} MiB waiting; this one was dropped`;
      void this.refused(appId, topic, new DomainError('unavailable', 'overloaded', why));
      return;
    }
    busy.messages++;
    busy.bytes += payload.length;
    this.inFlight.set(appId, busy);
    const size = payload.length;
    void this.handle(appId, topic, payload)
      .catch((err: unknown) => this.refused(appId, topic, err))
      .finally(() => {
        busy.messages--;
        busy.bytes -= size;
        if (busy.messages === 0) this.inFlight.delete(appId);
      });
  }

  private async handle(appId: string, topic: string, payload: Buffer): Promise<void> {
    if (payload.length > this.deps.maxBytes) throw new DomainError('too_large', 'too_large', `a message of ${payload.length} bytes; the limit is ${this.deps.maxBytes}`);
    const profile = await this.deps.profiles.resolve(appId);
    // Deleted, disabled or moved away from MQTT since the message left the broker.
    if (profile.profileId !== appId || !this.deps.wants(appId, profile.settings)) return;
    const text = payload.toString('utf8');
    let body: unknown;
    try {
      body = parseJson(text, { protoAction: 'error' });
    } catch (err) {
      throw new DomainError('invalid', 'invalid_json', `not JSON: ${err instanceof Error ? err.message.slice(0, 200) : 'unreadable'}`);
    }
    assertJsonDepth(body);
    await this.deps.take({ topic, text, body, profile });
  }

  private async refused(appId: string, topic: string, err: unknown): Promise<void> {
    const { label, events, clock, logger } = this.deps;
    if (!(err instanceof DomainError)) logger.error({ err, appId, topic: topic.slice(0, 200) }, `${label} MQTT message failed`);
    const count = this.refusals.take(appId, clock.now().getTime());
    if (count === null) return;
    const reason = err instanceof DomainError ? err.message : 'internal error';
    await events
      .record({
        appId,
        deviceId: null,
        category: 'connection',
        severity: 'warning',
        title: `${label} MQTT message refused: ${reason.slice(0, 300)}`,
        details: { topic: topic.slice(0, 300), code: err instanceof DomainError ? err.code : 'internal', refused: count },
      })
      .catch((recordErr: unknown) => logger.error({ err: recordErr }, 'could not record a refused MQTT message'));
  }
}
