import { parse as parseJson } from '@hapi/bourne';
import type { Logger } from 'pino';
import type { Clock } from '../../clock.js';
import { DomainError } from '../../domain-error.js';
import type { EventLog } from '../../events/event-log.js';
import { EventThrottle } from '../../events/event-throttle.js';
import type { MqttEndpoint } from '../../mqtt/mqtt-connections.js';
import type { Profiles } from '../../profiles.js';
import type { ProfileSettings } from '../../schemas/profile.js';
import type { TtsWebhooks } from './tts-webhooks.js';

/** What TTS's MQTT server publishes under `v3/{uid}/devices/{dev}/` (TTS reference §4): ApplicationUp JSON. */
const UP_TOPICS = [
  'up',
  'up/normalized',
  'join',
  'down/queued',
  'down/sent',
  'down/ack',
  'down/nack',
  'down/failed',
  'down/invalidated',
  'location/solved',
  'service/data',
];

/** Messages of one connection being processed at once; more are dropped (QoS 0 is at most once anyway). */
const MAX_IN_FLIGHT = 1000;

/**
 * The Things Stack's MQTT server as a transport: per TTS profile with `tts_mqtt`, the plugin is a
 * client of it, subscribed to the application's topics. Every message goes where a webhook goes
 * (TtsWebhooks.fromBroker). Downlinks go out on the same connection (tts-network.ts).
 */
export class TtsMqtt {
  private readonly refusals = new EventThrottle();
  private readonly inFlight = new Map<string, number>();

  constructor(
    private readonly deps: {
      webhooks: TtsWebhooks;
      profiles: Profiles;
      events: EventLog;
      clock: Clock;
      logger: Logger;
    },
  ) {}

  /** The connection a profile wants: an enabled TTS profile whose `tts_mqtt` is on. */
  endpointOf(appId: string, settings: ProfileSettings): MqttEndpoint | null {
    const mqtt = settings.network === 'tts' && settings.enabled ? settings.tts_mqtt : undefined;
    if (!mqtt?.enabled || mqtt.password === undefined) return null;
    const prefix = `v3/${mqtt.username}/devices/+/`;
    return {
      label: 'TTS',
      connection: { url: mqtt.url, username: mqtt.username, password: mqtt.password, ca: mqtt.ca },
      subscriptions: UP_TOPICS.map((t) => prefix + t),
      onMessage: (topic, payload) => this.receive(appId, topic, payload),
    };
  }

  private receive(appId: string, topic: string, payload: Buffer): void {
    const busy = this.inFlight.get(appId) ?? 0;
    if (busy >= MAX_IN_FLIGHT) {
      void this.refused(appId, topic, new DomainError('unavailable', 'overloaded', `more than ${MAX_IN_FLIGHT} messages waiting; this one was dropped`));
      return;
    }
    this.inFlight.set(appId, busy + 1);
    void this.handle(appId, payload)
      .catch((err: unknown) => this.refused(appId, topic, err))
      .finally(() => {
        const left = (this.inFlight.get(appId) ?? 1) - 1;
        if (left > 0) this.inFlight.set(appId, left);
        else this.inFlight.delete(appId);
      });
  }

  private async handle(appId: string, payload: Buffer): Promise<void> {
    const profile = await this.deps.profiles.resolve(appId);
    // Deleted, disabled or moved away from MQTT since the message left the broker.
    if (profile.profileId !== appId || !this.endpointOf(appId, profile.settings)) return;
    const text = payload.toString('utf8');
    let body: unknown;
    try {
      body = parseJson(text, { protoAction: 'error' });
    } catch (err) {
      throw new DomainError('invalid', 'invalid_json', `not JSON: ${err instanceof Error ? err.message.slice(0, 200) : 'unreadable'}`);
    }
    await this.deps.webhooks.fromBroker(body, profile, text);
  }

  /** A message that could not be taken: an event of its application, at most one a minute, counting the rest. */
  private async refused(appId: string, topic: string, err: unknown): Promise<void> {
    const { events, clock, logger } = this.deps;
    if (!(err instanceof DomainError)) logger.error({ err, appId, topic: topic.slice(0, 200) }, 'TTS MQTT message failed');
    const count = this.refusals.take(appId, clock.now().getTime());
    if (count === null) return;
    const reason = err instanceof DomainError ? err.message : 'internal error';
    await events
      .record({
        appId,
        deviceId: null,
        category: 'connection',
        severity: 'warning',
        title: `TTS MQTT message refused: ${reason.slice(0, 300)}`,
        details: { topic: topic.slice(0, 300), code: err instanceof DomainError ? err.code : 'internal', refused: count },
      })
      .catch((recordErr: unknown) => logger.error({ err: recordErr }, 'could not record a refused MQTT message'));
  }
}
