import { randomBytes } from 'node:crypto';
import type { DownlinkOutput, JsonObject } from '../../../formatters/contract.js';
import type { MqttConnections } from '../../mqtt/mqtt-connections.js';
import type { ResolvedProfile } from '../../profiles.js';
import type { DeviceRecord } from '../../store/records.js';
import { DownlinkRefused, type DownlinkOptions, type DownlinkTarget, type DownlinkTransport, type Network, type NeutralUplink, type SendOutcome, type UplinkSample } from '../network.js';
import type { LrcClient, LrcConnection } from './lrc-client.js';
import { topicOf } from './mqtt-topics.js';
import { uplinkOf } from './normalize.js';
import { reportOf } from './report.js';

/** The LRC over HTTP, or the downlink topic of the device on the profile's broker. */
type ThingparkTarget = DownlinkTarget & { readonly network: 'thingpark' } & ({ readonly connection: LrcConnection } | { readonly mqtt: { appId: string; topic: string } });

/** Publishes on a profile's MQTT connection. */
type Publish = MqttConnections['publish'];

/** The request kept on a message: the LRC query parameters before AS_ID, Time and Token (added at each send). */
const REQUEST_ORDER = ['DevEUI', 'FPort', 'Payload', 'Confirmed'] as const;

/** A device as ThingPark names it. */
const devEuiOf = (device: DeviceRecord) => device.ids.dev_eui ?? device.ids.network_device_id;

class ThingparkDownlinks implements DownlinkTransport {
  constructor(
    private readonly lrc: LrcClient,
    private readonly publish: Publish,
  ) {}

  /** A 64-bit hex id, as ThingPark's CorrelationID is. */
  newCorrelationId(): string {
    return randomBytes(8).toString('hex').toUpperCase();
  }

  build(out: DownlinkOutput, opts: DownlinkOptions, device: DeviceRecord | null): JsonObject {
    // The tunnel interface takes bytes only: a decoded payload needs a ThingPark driver we do not have.
    if (out.frmPayload === undefined) throw new DownlinkRefused('formatter_needs_bytes', 'ThingPark takes downlinks as bytes: the downlink formatter must return bytes');
    return {
      DevEUI: device?.ids.dev_eui ?? '<DevEUI>',
      FPort: String(opts.fPort),
      Payload: Buffer.from(out.frmPayload, 'base64').toString('hex'),
      ...(opts.confirmed ? { Confirmed: '1' } : {}),
      CorrelationID: opts.correlationId,
    };
  }

  /** The profile holds the connection; a device of a profile without one (deleted, changed) waits. */
  target(device: DeviceRecord, profile: ResolvedProfile): ThingparkTarget | null {
    const tp = profile.settings.network === 'thingpark' ? profile.settings.thingpark : undefined;
    if (tp?.transport === 'mqtt') {
      // The connection is the profile's own: Default never has one.
      if (!tp.mqtt || profile.profileId !== device.appId) return null;
      return { network: 'thingpark', mqtt: { appId: profile.profileId, topic: topicOf(tp.mqtt.downlink_topic, devEuiOf(device)) } };
    }
    if (!tp?.as_key || !tp.downlink_url) return null;
    return { network: 'thingpark', connection: { asId: tp.as_id, asKey: tp.as_key, downlinkUrl: tp.downlink_url } };
  }

  send(target: DownlinkTarget, request: JsonObject, opts: { replace: boolean }): Promise<SendOutcome> {
    const t = target as ThingparkTarget;
    if ('mqtt' in t) return this.publishTo(t.mqtt, mqttDownlink(request, opts.replace));
    const params: [string, string][] = [];
    for (const name of REQUEST_ORDER) if (typeof request[name] === 'string') params.push([name, request[name]]);
    // Replacing the queue = flushing it before this one is queued.
    if (opts.replace) params.push(['FlushDownlinkQueue', '1']);
    const { CorrelationID } = request;
    return this.lrc.send(t.connection, params, typeof CorrelationID === 'string' ? [['CorrelationID', CorrelationID]] : []);
  }

  /** FlushDownlinkQueue without a payload: the queue is emptied and nothing queued. */
  clear(target: DownlinkTarget, device: DeviceRecord): Promise<SendOutcome> {
    const t = target as ThingparkTarget;
    if ('mqtt' in t) return this.publishTo(t.mqtt, { DevEUI_downlink: { DevEUI: devEuiOf(device), FlushDownlinkQueue: '1' } });
    const port = (device.properties.device as { f_port?: number } | undefined)?.f_port;
    return this.lrc.send(t.connection, [
      ['DevEUI', devEuiOf(device)],
      ['FPort', String(port && port >= 1 && port <= 223 ? port : 1)],
      ['FlushDownlinkQueue', '1'],
    ]);
  }

  /** The broker answers nothing about ThingPark: a publish that left is all we learn; DevEUI_downlink_Sent tells the rest. */
  private async publishTo(to: { appId: string; topic: string }, document: JsonObject): Promise<SendOutcome> {
    try {
      await this.publish(to.appId, to.topic, JSON.stringify(document));
      return { ok: true, status: 0 };
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      return { ok: false, status: null, retryable: true, retryAfterMs: null, code: 'thingpark_mqtt_unavailable', message: message.slice(0, 500) };
    }
  }
}

/** A stored request (the LRC's parameters) as the connector's DevEUI_downlink document (reference A.4). */
function mqttDownlink(request: JsonObject, replace: boolean): JsonObject {
  const { DevEUI, FPort, Payload, Confirmed, CorrelationID } = request;
  return {
    DevEUI_downlink: {
      DevEUI,
      FPort: Number(FPort),
      payload_hex: Payload,
      ...(Confirmed === '1' ? { Confirmed: '1' } : {}),
      // Replacing the queue = flushing it before this one is queued, as over HTTP.
      ...(replace ? { FlushDownlinkQueue: '1' } : {}),
      ...(typeof CorrelationID === 'string' ? { CorrelationID } : {}),
    },
  };
}

/**
 * Actility ThingPark: over HTTP (tunnel interface) signed reports in (thingpark-reports.ts) and
 * signed downlink requests out; over MQTT reports from the broker (thingpark-mqtt.ts) and
 * DevEUI_downlink documents published to it.
 */
export class ThingparkNetwork implements Network {
  readonly name = 'thingpark' as const;
  readonly label = 'ThingPark';
  readonly needsReportedCredentials = false;
  readonly downlinks: DownlinkTransport;

  constructor(lrc: LrcClient, publish: Publish) {
    this.downlinks = new ThingparkDownlinks(lrc, publish);
  }

  uplinkOf(report: JsonObject, appId: string, now: Date): NeutralUplink | null {
    const parsed = reportOf(report);
    return parsed.type === 'DevEUI_uplink' ? uplinkOf(appId, parsed, now, null) : null;
  }

  reportFor(sample: UplinkSample): JsonObject {
    return {
      DevEUI_uplink: {
        Time: sample.receivedAt,
        DevEUI: '0000000000000000',
        FPort: sample.fPort,
        payload_hex: Buffer.from(sample.payload, 'base64').toString('hex'),
        ...(sample.decodedPayload ? { payload: sample.decodedPayload } : {}),
      },
    };
  }

  formatterDevice(): JsonObject {
    return {};
  }
}
