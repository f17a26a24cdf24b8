import { DomainError } from '../../domain-error.js';
import type { MqttEndpoint } from '../../mqtt/mqtt-connections.js';
import { MqttInbox, type BrokerMessage, type InboxServices } from '../../mqtt/mqtt-inbox.js';
import type { MqttTransport } from '../../mqtt/mqtt-transports.js';
import type { ReportHandler } from '../../pipeline/reports.js';
import type { ProfileSettings } from '../../schemas/profile.js';
import { devEuiIn, subscriptionOf } from './mqtt-topics.js';
import { networkReportOf } from './normalize.js';
import { REPORT_TYPES, reportOf, THINGPARK_BODY_LIMIT_BYTES, type Report } from './report.js';
import type { ThingparkMqttSettings } from './settings.js';

/** The broker settings of an enabled ThingPark profile that talks MQTT with a password; null otherwise. */
function thingparkMqttOf(settings: ProfileSettings): (ThingparkMqttSettings & { password: string }) | null {
  const tp = settings.network === 'thingpark' && settings.enabled ? settings.thingpark : undefined;
  const mqtt = tp?.transport === 'mqtt' ? tp.mqtt : undefined;
  return mqtt?.password !== undefined ? { ...mqtt, password: mqtt.password } : null;
}

/**
 * A document from the uplink topic as a report: with its root key (`{"DevEUI_uplink": {…}}`, as
 * over HTTP), or, with the connector's sendMetadata, an uplink's fields without one. `json` is the
 * report as JSON text, the root key put back around the latter.
 */
function brokerReportOf(body: unknown, text: string): { report: Report; json: string } {
  const rootless = typeof body === 'object' && body !== null && !REPORT_TYPES.some((t) => Object.hasOwn(body, t)) && Object.hasOwn(body, 'DevEUI');
  return rootless ? { report: reportOf({ DevEUI_uplink: body }), json: `{"DevEUI_uplink":${text}}` } : { report: reportOf(body), json: text };
}

/**
 * ThingPark over MQTT (reference A.4): ThingPark's MQTT connector publishes to the operator's
 * broker, and per ThingPark profile with `transport: 'mqtt'` the plugin is another client of it,
 * subscribed to the uplink topic pattern. No Token, AS_ID or Time: the broker authenticated both
 * clients. A report must be of the device its topic names. Downlinks go out on the same connection
 * (thingpark-network.ts).
 */
export class ThingparkMqtt implements MqttTransport {
  private readonly inbox: MqttInbox;

  constructor(private readonly deps: InboxServices & { reports: ReportHandler }) {
    this.inbox = new MqttInbox({
      label: 'ThingPark',
      maxBytes: THINGPARK_BODY_LIMIT_BYTES,
      ...deps,
      wants: (_appId, settings) => thingparkMqttOf(settings) !== null,
      take: (message) => this.take(message),
    });
  }

  endpointOf(appId: string, settings: ProfileSettings): MqttEndpoint | null {
    const mqtt = thingparkMqttOf(settings);
    if (!mqtt) return null;
    return {
      label: 'ThingPark',
      connection: { url: mqtt.url, username: mqtt.username, password: mqtt.password, ca: mqtt.ca },
      subscriptions: [subscriptionOf(mqtt.uplink_topic)],
      onMessage: (topic, payload) => this.inbox.receive(appId, topic, payload),
    };
  }

  private async take({ topic, text, body, profile }: BrokerMessage): Promise<void> {
    // The inbox took it for this profile because it has MQTT settings.
    const pattern = thingparkMqttOf(profile.settings)!.uplink_topic;
    const topicEui = devEuiIn(pattern, topic);
    if (topicEui === null) throw new DomainError('invalid', 'invalid_topic', `the topic names no DevEUI where ${pattern} has it`);
    const { report, json } = brokerReportOf(body, text);
    const reportEui = String(report.fields.DevEUI).toUpperCase();
    if (reportEui !== topicEui) throw new DomainError('forbidden', 'wrong_device', `a report of DevEUI ${reportEui} on the topic of ${topicEui}`);
    await this.deps.reports.handle(networkReportOf(profile.appId, report, this.deps.clock.now(), json), profile);
  }
}
