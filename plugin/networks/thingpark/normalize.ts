import type { JsonObject } from '../../../formatters/contract.js';
import { DomainError } from '../../domain-error.js';
import type { Credentials, DeliveryEvent, Location, NetworkReport, NeutralUplink } from '../network.js';
import type { DeviceIds } from '../network-ids.js';
import { numberField, stringField, type Report } from './report.js';

const HEX = /^(?:[0-9A-Fa-f]{2})*$/;
/** Radio fields kept with `save_metadata`. */
const RADIO = ['Lrcid', 'Lrrid', 'LrrRSSI', 'LrrSNR', 'LrrESP', 'SpFact', 'SubBand', 'Channel', 'DevLrrCnt', 'Lrrs', 'Frequency', 'TxPower', 'NbTrans', 'InstantPER', 'MeanPER', 'Late', 'LrrLAT', 'LrrLON'];
/**
 * DeliveryFailedCause codes after which sending again cannot help (reference A.1.4): max dwell
 * time, not allowed by the peering operator, wrong NetID. The others (radio busy, duty cycle, too
 * late…) may pass at the next attempt.
 */
const FINAL_CAUSES = new Set(['DB', 'DE', 'DF']);

export function deviceIdsOf(appId: string, fields: Record<string, unknown>): DeviceIds {
  const devEui = String(fields.DevEUI).toUpperCase();
  const devAddr = stringField(fields, 'DevAddr');
  return { network: 'thingpark', app_id: appId, network_device_id: devEui, dev_eui: devEui, ...(devAddr && /^[0-9A-Fa-f]{8}$/.test(devAddr) ? { dev_addr: devAddr.toUpperCase() } : {}) };
}

/** ThingPark times carry an offset; a time that does not parse (Actility's own example has one) is replaced by `fallback`. */
function isoTime(value: string | undefined, fallback: Date): string {
  const ms = value ? Date.parse(value) : NaN;
  return new Date(Number.isFinite(ms) ? ms : fallback.getTime()).toISOString();
}

function locationOf(fields: Record<string, unknown>): Location | undefined {
  const latitude = numberField(fields, 'DevLAT');
  const longitude = numberField(fields, 'DevLON');
  if (latitude === undefined || longitude === undefined || Math.abs(latitude) > 90 || Math.abs(longitude) > 180) return undefined;
  const altitude = numberField(fields, 'DevAlt');
  const accuracy = numberField(fields, 'DevAcc') ?? numberField(fields, 'DevLocRadius');
  return { name: 'network', latitude, longitude, ...(altitude !== undefined ? { altitude } : {}), ...(accuracy !== undefined ? { accuracy } : {}), source: 'SOURCE_NETWORK' };
}

/** A DevEUI_uplink as the neutral uplink. */
export function uplinkOf(appId: string, report: Report, now: Date, json: string | null): NeutralUplink {
  const f = report.fields;
  const hex = stringField(f, 'payload_hex') ?? '';
  if (!HEX.test(hex) || hex.length > 2 * 255) throw new DomainError('invalid', 'invalid_report', 'DevEUI_uplink.payload_hex must be hex, at most 255 bytes');
  const bytes = Buffer.from(hex, 'hex');
  const fCnt = numberField(f, 'FCntUp');
  const radio: JsonObject = {};
  for (const name of RADIO) if (f[name] !== undefined) radio[name] = f[name];
  const decoded = f.payload;
  const location = locationOf(f);
  return {
    ids: deviceIdsOf(appId, f),
    fPort: numberField(f, 'FPort') ?? 0,
    fCnt: fCnt !== undefined && Number.isInteger(fCnt) && fCnt >= 0 ? fCnt : null,
    // A rejoin gives a new DevAddr and counters from 0: new data, not resends.
    session: stringField(f, 'DevAddr') ?? '',
    payload: bytes.toString('base64'),
    bytes: new Uint8Array(bytes),
    // Set when a ThingPark driver decoded the frame.
    ...(typeof decoded === 'object' && decoded !== null && !Array.isArray(decoded) ? { decodedPayload: decoded as JsonObject } : {}),
    receivedAt: isoTime(stringField(f, 'Time'), now),
    radio,
    ...(location ? { location } : {}),
    report: { [report.type]: f },
    ...(json ? { reportJson: json } : {}),
  };
}

/** DevEUI_downlink_Sent / _Rejected as a delivery event of the message named by CorrelationID. */
function deliveryOf(report: Report): DeliveryEvent {
  const f = report.fields;
  const correlation = stringField(f, 'CorrelationID');
  const correlationIds = correlation ? [correlation.toUpperCase()] : [];
  if (report.type === 'DevEUI_downlink_Rejected') {
    const cause = (stringField(f, 'DownlinkRejectionCause') ?? 'rejected by the LRC').slice(0, 500);
    return { kind: 'failed', correlationIds, failure: { code: 'thingpark_rejected', message: cause, retryable: false } };
  }
  if (numberField(f, 'DeliveryStatus') === 1) return { kind: 'sent', correlationIds };
  const causes = ['DeliveryFailedCause1', 'DeliveryFailedCause2', 'DeliveryFailedCause3', 'DeliveryFailedCause4']
    .map((name) => stringField(f, name))
    .filter((c): c is string => c !== undefined && c !== '00' && c !== '')
    .map((c) => c.slice(0, 8));
  return {
    kind: 'failed',
    correlationIds,
    failure: {
      code: 'thingpark_not_sent',
      message: `ThingPark did not send the downlink (DeliveryStatus 0${causes.length ? `, causes ${causes.join(', ')}` : ''})`,
      retryable: !causes.some((c) => FINAL_CAUSES.has(c.toUpperCase())),
    },
  };
}

const TITLES: Record<Report['type'], string> = {
  DevEUI_uplink: 'Uplink',
  DevEUI_notification: 'ThingPark: device notification',
  DevEUI_location: 'Location solved by ThingPark',
  DevEUI_downlink_Sent: 'ThingPark: downlink sent',
  DevEUI_downlink_Rejected: 'ThingPark: downlink rejected',
};

/** Any report as what the pipeline takes. */
export function networkReportOf(appId: string, report: Report, now: Date, json: string | null): NetworkReport {
  const ids = deviceIdsOf(appId, report.fields);
  const base = { type: report.type, ids, credentials: null as Credentials | null };
  const details: JsonObject = { payload: report.fields };
  switch (report.type) {
    case 'DevEUI_uplink':
      return { ...base, kind: 'uplink', uplink: uplinkOf(appId, report, now, json), acknowledges: numberField(report.fields, 'ACKbit') === 1 };
    case 'DevEUI_downlink_Sent':
    case 'DevEUI_downlink_Rejected': {
      const event = deliveryOf(report);
      return { ...base, kind: 'delivery', event, title: event.kind === 'sent' ? TITLES[report.type] : `${TITLES[report.type]}: ${event.failure?.message}`, details };
    }
    case 'DevEUI_location': {
      const location = locationOf(report.fields);
      if (location) return { ...base, kind: 'location', location, title: TITLES.DevEUI_location, details };
      return { ...base, kind: 'note', title: `${TITLES.DevEUI_location} (no position)`, severity: 'info', category: 'webhook', details };
    }
    case 'DevEUI_notification': {
      const kind = (stringField(report.fields, 'Type') ?? '').slice(0, 64);
      return { ...base, kind: 'note', title: `${TITLES.DevEUI_notification}${kind ? `: ${kind}` : ''}`, severity: 'info', category: 'webhook', details };
    }
  }
}
