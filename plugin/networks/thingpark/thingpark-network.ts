import { randomBytes } from 'node:crypto';
import type { DownlinkOutput, JsonObject } from '../../../formatters/contract.js';
import type { ResolvedProfile } from '../../profiles.js';
import type { DeviceRecord } from '../../store/records.js';
import { DownlinkRefused, type DownlinkOptions, type DownlinkTarget, type DownlinkTransport, type Network, type NeutralUplink, type SendOutcome, type UplinkSample } from '../network.js';
import type { LrcClient, LrcConnection } from './lrc-client.js';
import { uplinkOf } from './normalize.js';
import { reportOf } from './report.js';

interface ThingparkTarget extends DownlinkTarget {
  readonly network: 'thingpark';
  readonly connection: LrcConnection;
}

/** The request kept on a message: the LRC query parameters before AS_ID, Time and Token (added at each send). */
const REQUEST_ORDER = ['DevEUI', 'FPort', 'Payload', 'Confirmed'] as const;

class ThingparkDownlinks implements DownlinkTransport {
  constructor(private readonly lrc: LrcClient) {}

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
  target(_device: DeviceRecord, profile: ResolvedProfile): ThingparkTarget | null {
    const tp = profile.settings.network === 'thingpark' ? profile.settings.thingpark : undefined;
    if (!tp?.as_key) return null;
    return { network: 'thingpark', connection: { asId: tp.as_id, asKey: tp.as_key, downlinkUrl: tp.downlink_url } };
  }

  send(target: DownlinkTarget, request: JsonObject, opts: { replace: boolean }): Promise<SendOutcome> {
    const params: [string, string][] = [];
    for (const name of REQUEST_ORDER) if (typeof request[name] === 'string') params.push([name, request[name]]);
    // Replacing the queue = flushing it before this one is queued.
    if (opts.replace) params.push(['FlushDownlinkQueue', '1']);
    const { CorrelationID } = request;
    return this.lrc.send((target as ThingparkTarget).connection, params, typeof CorrelationID === 'string' ? [['CorrelationID', CorrelationID]] : []);
  }

  /** FlushDownlinkQueue without a payload: the queue is emptied and nothing queued. */
  clear(target: DownlinkTarget, device: DeviceRecord): Promise<SendOutcome> {
    const port = (device.properties.device as { f_port?: number } | undefined)?.f_port;
    return this.lrc.send((target as ThingparkTarget).connection, [
      ['DevEUI', device.ids.dev_eui ?? device.ids.network_device_id],
      ['FPort', String(port && port >= 1 && port <= 223 ? port : 1)],
      ['FlushDownlinkQueue', '1'],
    ]);
  }
}

/** Actility ThingPark, tunnel interface over HTTP: signed reports in (thingpark-reports.ts), signed downlink requests out. */
export class ThingparkNetwork implements Network {
  readonly name = 'thingpark' as const;
  readonly label = 'ThingPark';
  readonly needsReportedCredentials = false;
  readonly downlinks: DownlinkTransport;

  constructor(lrc: LrcClient) {
    this.downlinks = new ThingparkDownlinks(lrc);
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
