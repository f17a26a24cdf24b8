/**
 * ThingPark (Actility LRC "tunnel interface") stand-ins, written from the reference alone
 * (shared reference thingpark-iotda.md, section A; nothing of plugin/networks/thingpark is used):
 *
 * - report signing (A.2.2 / A.2.3): the LRC's POST of a report to the AS, with its query parameters
 *   and Token = SHA-256(bodyElements + queryParameters(decoded, fixed order) + as_key);
 * - the report bodies in the three content types (typed JSON, untyped JSON, XML);
 * - `ThingParkLrc`, a real HTTP server playing the LRC's downlink endpoint (A.3): it checks each
 *   request's Token over the query string as sent (decoded values, in the order sent, Token last) and
 *   answers 200 "Request queued by LRC", or 403 with an HTML body when the token is wrong.
 *
 * Assumptions where the reference says nothing for sure (also listed in the report to the lead):
 * - DevEUI_downlink_Rejected: bodyElements = CustomerID + DevEUI + FPort + FCntDn, as for
 *   DevEUI_downlink_Sent, FCntDn absent -> ''.
 * - DevEUI_notification: formula not public; the plugin does not verify it, so any token is sent.
 * - A missing field counts as ''; a missing FPort as '0' for uplinks only.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { JsonResponse, PluginHarness } from './plugin-harness.js';

const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'thingpark');

/** The published vector (reference A.2.4). */
export const VECTOR = {
  asId: 'TWA_100002167.1111.AS',
  asKey: 'f3203a20a2e8dfaf6686b621f56d05e3',
  bodyElements: '10000216720635F01080004961718032ce4850919d85d4c9f793ad148d24f32f3c6b5488f5a087cbeb1488f5a998c83ab',
  query: {
    LrnDevEui: '20635F0108000496',
    LrnFPort: '17',
    LrnInfos: 'TWA_100002167.1111.AS-1-111974',
    AS_ID: 'TWA_100002167.1111.AS',
    Time: '2021-04-07T08:49:51.551+00:00',
  },
  token: '196c22898bf95fcf48b72be198c89256410660b9b514539651344baa594ad74f',
} as const;

export const REPORT_TYPES = ['DevEUI_uplink', 'DevEUI_notification', 'DevEUI_location', 'DevEUI_downlink_Sent', 'DevEUI_downlink_Rejected'] as const;
export type ReportType = (typeof REPORT_TYPES)[number];
export type Report = { [type: string]: Record<string, any> };

/** The raw text of a sample in test/fixtures/thingpark/. */
export function tpFixtureText(name: string): string {
  return readFileSync(join(FIXTURES, name), 'utf8');
}

/** A fresh copy of a JSON sample, by message type (`DevEUI_uplink` -> DevEUI_uplink.json) or file name. */
export function tpFixture(name: string): Report {
  return JSON.parse(tpFixtureText(name.endsWith('.json') ? name : `${name}.json`)) as Report;
}

export function sha256Hex(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

/** A body value as the token sees it: numbers as decimal strings, missing as ''. */
function s(v: unknown): string {
  if (v === undefined || v === null) return '';
  return String(v);
}

export function reportType(report: Report): ReportType {
  const keys = Object.keys(report);
  if (keys.length !== 1) throw new Error(`a report has one root key, not ${keys.join(', ')}`);
  return keys[0] as ReportType;
}

export function fields(report: Report): Record<string, any> {
  return report[reportType(report)]!;
}

/** bodyElements of the Token (A.2.2 uplink, A.2.3 the other report types). */
export function bodyElements(report: Report): string {
  const type = reportType(report);
  const f = fields(report);
  switch (type) {
    case 'DevEUI_uplink':
      return s(f.CustomerID) + s(f.DevEUI) + (f.FPort === undefined || f.FPort === null ? '0' : s(f.FPort)) + s(f.FCntUp) + s(f.payload_hex);
    case 'DevEUI_location':
      return s(f.CustomerID) + s(f.DevEUI).toLowerCase();
    case 'DevEUI_downlink_Sent':
    case 'DevEUI_downlink_Rejected':
      return s(f.CustomerID) + s(f.DevEUI) + s(f.FPort) + s(f.FCntDn);
    case 'DevEUI_notification':
      // Formula not public (A.2.3); the plugin does not verify it. Anything will do.
      return s(f.CustomerID) + s(f.DevEUI);
    default:
      throw new Error(`no token formula for ${String(type)}`);
  }
}

export interface ReportQuery {
  LrnDevEui: string;
  LrnFPort: string;
  LrnInfos: string;
  AS_ID: string;
  Time: string;
}

const QUERY_ORDER: readonly (keyof ReportQuery)[] = ['LrnDevEui', 'LrnFPort', 'LrnInfos', 'AS_ID', 'Time'];

/** queryParameters of the Token: decoded values, fixed order, without Token. */
export function queryParameters(q: ReportQuery): string {
  return QUERY_ORDER.map((k) => `${k}=${q[k]}`).join('&');
}

export function reportToken(report: Report, q: ReportQuery, asKey: string): string {
  return sha256Hex(bodyElements(report) + queryParameters(q) + asKey.toLowerCase());
}

/** The query string on the wire: values percent-encoded (`+` and `:` too), Token last. */
export function encodeReportQuery(q: ReportQuery, token: string | null): string {
  const parts = QUERY_ORDER.map((k) => `${k}=${encodeURIComponent(q[k])}`);
  if (token !== null) parts.push(`Token=${token}`);
  return parts.join('&');
}

/** ISO 8601 with milliseconds and an offset, as the LRC writes it (e.g. 2025-04-16T14:00:00.000+02:00). */
export function lrcTime(date: Date, offsetMinutes = 120): string {
  const local = new Date(date.getTime() + offsetMinutes * 60_000).toISOString().replace('Z', '');
  const sign = offsetMinutes < 0 ? '-' : '+';
  const abs = Math.abs(offsetMinutes);
  return `${local}${sign}${String(Math.floor(abs / 60)).padStart(2, '0')}:${String(abs % 60).padStart(2, '0')}`;
}

/** Every leaf value as a string: the "JSON untyped" content type. */
export function untyped<T>(value: T): T {
  if (Array.isArray(value)) return value.map(untyped) as T;
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, untyped(v)])) as T;
  }
  return (value === null || value === undefined ? value : String(value)) as T;
}

const escapeXml = (t: string) => t.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

function xmlElement(name: string, value: unknown, indent: string): string {
  if (Array.isArray(value)) return value.map((v) => xmlElement(name, v, indent)).join('');
  if (value && typeof value === 'object') {
    if (name === 'CustomerData') return `${indent}<${name}>${escapeXml(JSON.stringify(value))}</${name}>\n`;
    const inner = Object.entries(value).map(([k, v]) => xmlElement(k, v, `${indent}  `)).join('');
    return `${indent}<${name}>\n${inner}${indent}</${name}>\n`;
  }
  return `${indent}<${name}>${escapeXml(value === null || value === undefined ? '' : String(value))}</${name}>\n`;
}

/**
 * The "XML" content type: the root element named after the type, in ThingPark's namespace;
 * arrays as repeated elements (`<Lrrs><Lrr>…</Lrr><Lrr>…</Lrr></Lrrs>`), CustomerData as JSON text.
 */
export function toXml(report: Report): string {
  const type = reportType(report);
  const inner = Object.entries(fields(report))
    .map(([k, v]) => xmlElement(k, v, '  '))
    .join('');
  return `<?xml version="1.0" encoding="UTF-8"?>\n<${type} xmlns="http://uri.actility.com/lora">\n${inner}</${type}>\n`;
}

export type BodyFormat = 'typed' | 'untyped' | 'xml';

export const CONTENT_TYPES: Record<BodyFormat, string> = {
  typed: 'application/json',
  untyped: 'application/json',
  xml: 'application/xml',
};

export function encodeBody(report: Report, format: BodyFormat): string {
  if (format === 'xml') return toXml(report);
  return JSON.stringify(format === 'untyped' ? untyped(report) : report);
}

export interface SignOptions {
  asId: string;
  asKey: string;
  /** Query Time (default: the one given by `now`, as the LRC writes it). */
  time?: string;
  now?: Date;
  /** LrnDevEui (default: the body's DevEUI; lower-cased for location reports, as in KPN's example). */
  lrnDevEui?: string;
  /** LrnFPort (default: the body's FPort, 0 for location reports). */
  lrnFPort?: string;
  lrnInfos?: string;
  /** The Token to send instead of the computed one; null sends none. */
  token?: string | null;
}

/** The query parameters an LRC would send with a report (before signing). */
export function reportQuery(report: Report, o: SignOptions): ReportQuery {
  const type = reportType(report);
  const f = fields(report);
  const devEui = s(f.DevEUI);
  return {
    LrnDevEui: o.lrnDevEui ?? (type === 'DevEUI_location' ? devEui.toLowerCase() : devEui),
    LrnFPort: o.lrnFPort ?? (type === 'DevEUI_location' ? '0' : f.FPort === undefined ? '0' : s(f.FPort)),
    LrnInfos: o.lrnInfos ?? 'TWA_100002167.1111.AS-1-111974',
    AS_ID: o.asId,
    Time: o.time ?? lrcTime(o.now ?? new Date()),
  };
}

/** The path and query of a signed report to the plugin: `/thingpark/{appId}?…&Token=…`. */
export function signedPath(appId: string, report: Report, o: SignOptions): string {
  const q = reportQuery(report, o);
  const token = o.token === undefined ? reportToken(report, q, o.asKey) : o.token;
  return `/thingpark/${encodeURIComponent(appId)}?${encodeReportQuery(q, token)}`;
}

// ---------------------------------------------------------------------------------------------
// The LRC's downlink endpoint (A.3)

export const QUEUED_BODY = '<html><body>Request queued by LRC</body></html>';
export const LRC_PATH = '/thingpark/lrc/rest/downlink';

export interface LrcRequest {
  method: string;
  /** Path without the query. */
  path: string;
  /** The query string exactly as received. */
  rawQuery: string;
  /** Parameter names in the order sent. */
  order: string[];
  /** Decoded values by name. */
  query: Record<string, string>;
  headers: IncomingHttpHeaders;
  body: string;
  /** Whether the Token was last and equal to SHA-256(query without Token, decoded, + as_key). */
  tokenOk: boolean;
  /** Why the token was refused, when it was. */
  tokenProblem: string | null;
}

export interface LrcAnswer {
  status: number;
  body?: string;
  contentType?: string;
  delayMs?: number;
}

/**
 * A real HTTP server on loopback playing the LRC's downlink endpoint. Each request's Token is
 * verified with the AS key it was given (A.3): built from the unencoded values in the order they
 * were sent, Token last. A wrong or missing token gets 403 with an HTML body (and uses none of the
 * scripted answers); otherwise the next scripted answer, or 200 "Request queued by LRC".
 */
export class ThingParkLrc {
  readonly requests: LrcRequest[] = [];
  private readonly script: LrcAnswer[] = [];
  private server: Server | null = null;
  baseUrl = '';

  constructor(private readonly asKey: string) {}

  get downlinkUrl(): string {
    return `${this.baseUrl}${LRC_PATH}`;
  }

  async start(): Promise<this> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const url = req.url ?? '';
        const q = url.indexOf('?');
        const rawQuery = q < 0 ? '' : url.slice(q + 1);
        const params = [...new URLSearchParams(rawQuery)];
        const check = this.verify(params);
        const request: LrcRequest = {
          method: req.method ?? '',
          path: q < 0 ? url : url.slice(0, q),
          rawQuery,
          order: params.map(([k]) => k),
          query: Object.fromEntries(params),
          headers: req.headers,
          body: Buffer.concat(chunks).toString('utf8'),
          tokenOk: check === null,
          tokenProblem: check,
        };
        this.requests.push(request);
        let answer: LrcAnswer;
        if (request.path !== LRC_PATH || request.method !== 'POST') {
          answer = { status: 404, body: '<html><body>Not found</body></html>' };
        } else if (check !== null) {
          answer = { status: 403, body: `<html><body>Forbidden: ${check}</body></html>` };
        } else {
          answer = this.script.shift() ?? { status: 200, body: QUEUED_BODY };
        }
        const send = () => {
          res.writeHead(answer.status, { 'Content-Type': answer.contentType ?? 'text/html' });
          res.end(answer.body ?? '');
        };
        if (answer.delayMs) setTimeout(send, answer.delayMs);
        else send();
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.baseUrl = `http://127.0.0.1:${(this.server!.address() as AddressInfo).port}`;
    return this;
  }

  /** null when the token is right; else why not. */
  private verify(params: [string, string][]): string | null {
    if (params.length === 0) return 'no query';
    const last = params[params.length - 1]!;
    if (last[0] !== 'Token') return 'Token is not the last parameter';
    if (params.filter(([k]) => k === 'Token').length !== 1) return 'more than one Token';
    const signed = params
      .slice(0, -1)
      .map(([k, v]) => `${k}=${v}`)
      .join('&');
    const expected = lrcDownlinkToken(signed, this.asKey);
    return last[1] === expected ? null : `wrong Token (expected ${expected} over '${signed}')`;
  }

  /** Queue the answers for the next requests with a right token, in order. */
  respond(...answers: LrcAnswer[]): void {
    this.script.push(...answers);
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}

/** A.3: SHA-256(query string without `&Token`, unencoded values, + as_key), lower-case hex. */
export function lrcDownlinkToken(unencodedQuery: string, asKey: string): string {
  return sha256Hex(unencodedQuery + asKey.toLowerCase());
}

// ---------------------------------------------------------------------------------------------
// Driving the plugin as ThingPark does

export interface ThingParkProfile {
  asId: string;
  asKey: string;
  downlinkUrl: string;
  maxClockSkewS?: number;
  /** The rest of the profile settings (uplink, downlink, formatter …). */
  settings?: Record<string, unknown>;
}

/** The profile body of a ThingPark application. */
export function thingParkProfileBody(p: ThingParkProfile): Record<string, unknown> {
  return {
    ...p.settings,
    network: 'thingpark',
    thingpark: { as_id: p.asId, as_key: p.asKey, downlink_url: p.downlinkUrl, max_clock_skew_s: p.maxClockSkewS ?? 60 },
  };
}

export async function putThingParkProfile(plugin: PluginHarness, appId: string, p: ThingParkProfile): Promise<JsonResponse> {
  return plugin.request('PUT', `/api/profiles/${appId}`, { body: thingParkProfileBody(p) });
}

export interface PostReportOptions extends SignOptions {
  format?: BodyFormat;
  /** Content-Type to send instead of the format's own. */
  contentType?: string;
  /** A body to send instead of the encoded report (the token is still computed from `report`). */
  raw?: string;
}

/** POSTs a signed report to the plugin, as the LRC does (no Authorization header). */
export async function postReport(plugin: PluginHarness, appId: string, report: Report, o: PostReportOptions): Promise<JsonResponse> {
  const format = o.format ?? 'typed';
  return plugin.request('POST', signedPath(appId, report, o), {
    raw: o.raw ?? encodeBody(report, format),
    token: null,
    headers: { 'Content-Type': o.contentType ?? CONTENT_TYPES[format], 'User-Agent': 'ACTILITY-LRCLRN-DEVICE-AGENT/1.0', Accept: '*/*' },
  });
}

export interface UplinkReportOptions {
  devEui?: string;
  devAddr?: string;
  fPort?: number;
  fCntUp?: number;
  /** FRMPayload bytes (become payload_hex). */
  bytes?: number[];
  /** Body Time (the radio time; becomes received_at). */
  time?: string;
  customerId?: string;
}

/** A DevEUI_uplink built from the published sample, with ids and counters changed. */
export function uplinkReport(o: UplinkReportOptions = {}): Report {
  const report = tpFixture('DevEUI_uplink');
  const f = report.DevEUI_uplink!;
  if (o.devEui !== undefined) f.DevEUI = o.devEui;
  if (o.devAddr !== undefined) f.DevAddr = o.devAddr;
  if (o.fPort !== undefined) f.FPort = o.fPort;
  if (o.fCntUp !== undefined) f.FCntUp = o.fCntUp;
  if (o.bytes) f.payload_hex = Buffer.from(o.bytes).toString('hex');
  if (o.time !== undefined) f.Time = o.time;
  if (o.customerId !== undefined) f.CustomerID = o.customerId;
  return report;
}

/** A DevEUI_downlink_Sent from the sample, for a device and correlation id. */
export function downlinkSentReport(o: { devEui: string; correlationId?: string; fPort?: number; fCntDn?: number; deliveryStatus?: number; causes?: [string, string, string] }): Report {
  const report = tpFixture('DevEUI_downlink_Sent');
  const f = report.DevEUI_downlink_Sent!;
  f.DevEUI = o.devEui;
  if (o.correlationId === undefined) delete f.CorrelationID;
  else f.CorrelationID = o.correlationId;
  if (o.fPort !== undefined) f.FPort = o.fPort;
  if (o.fCntDn !== undefined) f.FCntDn = o.fCntDn;
  if (o.deliveryStatus !== undefined) f.DeliveryStatus = o.deliveryStatus;
  if (o.causes) [f.DeliveryFailedCause1, f.DeliveryFailedCause2, f.DeliveryFailedCause3] = o.causes;
  return report;
}

/** A DevEUI_downlink_Rejected from the sample, for a device, with a CorrelationID when given. */
export function downlinkRejectedReport(o: { devEui: string; correlationId?: string; fPort?: number; cause?: string }): Report {
  const report = tpFixture('DevEUI_downlink_Rejected');
  const f = report.DevEUI_downlink_Rejected!;
  f.DevEUI = o.devEui;
  if (o.correlationId !== undefined) f.CorrelationID = o.correlationId;
  if (o.fPort !== undefined) f.FPort = o.fPort;
  if (o.cause !== undefined) f.DownlinkRejectionCause = o.cause;
  return report;
}
