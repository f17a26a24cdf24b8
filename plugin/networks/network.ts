import type { DownlinkOutput, JsonObject } from '../../formatters/contract.js';
import type { Normalized } from '../../formatters/contract.js';
import type { ResolvedProfile } from '../profiles.js';
import type { DeviceRecord, Severity } from '../store/records.js';
import type { DeviceIds, NetworkName } from './network-ids.js';

/**
 * The network-neutral model every network adapter (plugin/networks/<name>/) speaks with the
 * pipeline: what arrives (reports), what goes out (a downlink transport), and how a downlink ends
 * (delivery events). Nothing outside plugin/networks/ knows a network's own shapes.
 */

export interface Location {
  latitude: number;
  longitude: number;
  altitude?: number;
  accuracy?: number;
  source?: string;
  /** Which of the network's locations this is (TTS `frm-payload`, `user`…; ThingPark `network`). */
  name: string;
}

/** One uplink, whatever network it came from. */
export interface NeutralUplink {
  ids: DeviceIds;
  fPort: number;
  /** null: the network gave no frame counter, so nothing tells a resend from new data (no dedupe). */
  fCnt: number | null;
  /** What a frame counter is counted within (TTS session key id, ThingPark DevAddr); '' when unknown. */
  session: string;
  /** FRMPayload as base64 (dedupe fingerprint, dead letters) and as bytes (formatters). */
  payload: string;
  bytes: Uint8Array;
  /** Decoded by the network's own payload formatter, when it did. */
  decodedPayload?: JsonObject;
  /** Normalized by the network itself (TTS `normalized_payload`): stored as they are, the formatter's normalizer is not run. */
  normalized?: Normalized;
  /**
   * The report is one normalized measurement and nothing else (TTS `uplink_normalized`): no formatter
   * runs, the measurement is the row's data.
   */
  normalizedOnly?: boolean;
  receivedAt: string;
  /** Radio metadata, stored with `save_metadata`. */
  radio?: JsonObject;
  location?: Location;
  /** The report as the network sent it: Thinger-style formatters get it as `message`; dead letters keep it. */
  report: JsonObject;
  /** `report` as the JSON text received, when it came as JSON. */
  reportJson?: string;
}

export type DeliveryKind = 'queued' | 'sent' | 'acked' | 'nacked' | 'failed';

/** What the network says about a downlink it was given, matched by correlation id within the application. */
export interface DeliveryEvent {
  kind: DeliveryKind;
  correlationIds: string[];
  /** For `failed`: the network's reason; `retryable` when sending again may work (ThingPark DeliveryStatus 0). */
  failure?: { code: string; message: string; retryable: boolean };
}

/** An uplink given by its parts, without a network's report around it. */
export interface UplinkSample {
  payload: string;
  fPort: number;
  decodedPayload?: JsonObject;
  receivedAt: string;
}

/** Opaque per network (TTS: API key and push URLs). Kept in the store only; no API, event or log shows them. */
export type Credentials = JsonObject;

interface ReportBase {
  /** The network's name for the message type (TTS `join_accept`, ThingPark `DevEUI_notification`), shown in events. */
  type: string;
  ids: DeviceIds;
  /** Downlink credentials the report brought (already admitted by the network's own policy). */
  credentials: Credentials | null;
}

/** What a network's intake hands the pipeline, one per authenticated, validated report. */
export type NetworkReport =
  /**
   * `acknowledges`: the uplink carries the LoRaWAN ACK of the device's confirmed downlink, for
   * networks that report the ack no other way (ThingPark's ACKbit).
   */
  | (ReportBase & { kind: 'uplink'; uplink: NeutralUplink; acknowledges?: boolean })
  | (ReportBase & { kind: 'delivery'; event: DeliveryEvent; title: string; details: JsonObject })
  | (ReportBase & { kind: 'location'; location: Location; title: string; details: JsonObject })
  | (ReportBase & { kind: 'note'; title: string; severity: Severity; category: 'webhook' | 'downlink'; details: JsonObject });

/** How one send went. */
export type SendOutcome =
  | { ok: true; status: number }
  | {
      ok: false;
      /** HTTP status, or null when the network could not be reached / timed out / the URL was refused. */
      status: number | null;
      /** 5xx, 429, network errors and timeouts are worth retrying; other refusals are final. */
      retryable: boolean;
      /**
       * The request went out and no answer came: the network may have queued it. Sending again
       * could queue it twice, so the message waits for the network's delivery report (or its TTL).
       */
      maybeQueued?: boolean;
      retryAfterMs: number | null;
      code: string;
      message: string;
    };

export interface DownlinkOptions {
  fPort: number;
  priority: string;
  confirmed: boolean;
  correlationId: string;
}

/** Where a device's downlinks go: built from stored credentials and/or the profile; opaque to the pipeline. */
export type DownlinkTarget = { readonly network: NetworkName };

/** A formatted downlink the network cannot take (ThingPark: no bytes); the message fails with `code`. */
export class DownlinkRefused extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export interface DownlinkTransport {
  /** A correlation id in the form the network echoes back. */
  newCorrelationId(): string;
  /** What is sent for a formatted downlink; kept on the message as its `request`. DownlinkRefused if the network cannot take it. */
  build(out: DownlinkOutput, opts: DownlinkOptions, device: DeviceRecord | null): JsonObject;
  /** Where to send, or null while the network has not told us yet (the message waits). */
  target(device: DeviceRecord, profile: ResolvedProfile, credentials: Credentials | null): DownlinkTarget | null;
  send(target: DownlinkTarget, request: JsonObject, opts: { replace: boolean }): Promise<SendOutcome>;
  /** Empties the device's queue on the network. */
  clear(target: DownlinkTarget, device: DeviceRecord): Promise<SendOutcome>;
}

export interface Network {
  readonly name: NetworkName;
  /** Short name in event titles and messages: "TTS", "ThingPark". */
  readonly label: string;
  /** True when downlinks need credentials a report brings (TTS push URLs); false when the profile holds them. */
  readonly needsReportedCredentials: boolean;
  readonly downlinks: DownlinkTransport;
  /** A stored report (a dead letter, the test tool's input) as an uplink, through the intake's own normalisation; null if it is no uplink. */
  uplinkOf(report: JsonObject, appId: string, now: Date): NeutralUplink | null;
  /** The uplink report this network would send for these bytes (the test tool's short input form). */
  reportFor(sample: UplinkSample, appId: string): JsonObject;
  /** What this network's downlink formatters have read about a device besides the neutral fields. */
  formatterDevice(device: DeviceRecord): JsonObject;
}
