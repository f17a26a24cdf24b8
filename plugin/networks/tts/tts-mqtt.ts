import { BODY_LIMIT_BYTES } from '../../http/json-body.js';
import type { MqttEndpoint } from '../../mqtt/mqtt-connections.js';
import { MqttInbox, type InboxServices } from '../../mqtt/mqtt-inbox.js';
import type { MqttTransport } from '../../mqtt/mqtt-transports.js';
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

/**
 * The Things Stack's MQTT server as a transport: per TTS profile with `tts_mqtt`, the plugin is a
 * client of it, subscribed to the application's topics. Every message goes where a webhook goes
 * (TtsWebhooks.fromBroker). Downlinks go out on the same connection (tts-network.ts).
 */
export class TtsMqtt implements MqttTransport {
  private readonly inbox: MqttInbox;

  constructor(deps: InboxServices & { webhooks: TtsWebhooks }) {
    const { webhooks, ...rest } = deps;
    this.inbox = new MqttInbox({
      label: 'TTS',
      // As a webhook body.
      maxBytes: BODY_LIMIT_BYTES,
      ...rest,
      wants: (appId, settings) => this.endpointOf(appId, settings) !== null,
      take: ({ body, profile, text }) => webhooks.fromBroker(body, profile, text),
    });
  }

  /** The connection a profile wants: an enabled TTS profile whose `tts_mqtt` is on. */
  endpointOf(appId: string, settings: ProfileSettings): MqttEndpoint | null {
    const mqtt = settings.network === 'tts' && settings.enabled ? settings.tts_mqtt : undefined;
    if (!mqtt?.enabled || mqtt.password === undefined) return null;
    const prefix = `v3/${mqtt.username}/devices/+/`;
    return {
      label: 'TTS',
      connection: { url: mqtt.url, username: mqtt.username, password: mqtt.password, ca: mqtt.ca },
      subscriptions: UP_TOPICS.map((t) => prefix + t),
      onMessage: (topic, payload) => this.inbox.receive(appId, topic, payload),
    };
  }
}
