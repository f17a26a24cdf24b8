import { XMLParser, XMLValidator } from 'fast-xml-parser';
import type { JsonObject } from '../../../formatters/contract.js';
import { DomainError } from '../../domain-error.js';
import { assertJsonDepth, MAX_JSON_DEPTH } from '../../schemas/json-depth.js';
import type { ReportType } from './token.js';

export const REPORT_TYPES: readonly ReportType[] = ['DevEUI_uplink', 'DevEUI_notification', 'DevEUI_location', 'DevEUI_downlink_Sent', 'DevEUI_downlink_Rejected'];

/** One ThingPark report: its type and its fields as sent (typed JSON numbers, or strings in untyped JSON and XML). */
export interface Report {
  type: ReportType;
  fields: Record<string, unknown>;
}

const EUI = /^[0-9A-Fa-f]{16}$/;

const invalid = (message: string, details: JsonObject = {}) => new DomainError('invalid', 'invalid_report', message, details);

/**
 * XML as fast-xml-parser reads it, with every value a string (as untyped JSON), namespaces dropped,
 * no entities expanded and `Lrr` always a list. A DOCTYPE is refused before parsing: ThingPark
 * sends none, and it is how entity expansion attacks begin.
 */
const xml = new XMLParser({
  ignoreAttributes: true,
  removeNSPrefix: true,
  parseTagValue: false,
  processEntities: false,
  ignoreDeclaration: true,
  ignorePiTags: true,
  trimValues: true,
  isArray: (name) => name === 'Lrr',
  maxNestedTags: MAX_JSON_DEPTH,
});

function parseXml(text: string): unknown {
  if (/<!DOCTYPE|<!ENTITY/i.test(text)) throw invalid('XML with a DOCTYPE or entity declarations is not a ThingPark report');
  const valid = XMLValidator.validate(text);
  if (valid !== true) throw invalid(`the body is not well-formed XML: ${valid.err.msg.slice(0, 200)}`, { line: valid.err.line });
  try {
    return xml.parse(text);
  } catch (err) {
    // e.g. more than MAX_JSON_DEPTH nested elements
    throw invalid(`the XML could not be read: ${(err instanceof Error ? err.message : String(err)).slice(0, 200)}`);
  }
}

/**
 * ThingPark reports are a few KiB (an uplink with ten gateways is ~3 KiB); reading XML costs about
 * a second per MiB, and a report is read before its token can be checked. Over HTTP and MQTT alike.
 */
export const THINGPARK_BODY_LIMIT_BYTES = 64 * 1024;

/** The body of a report, JSON or XML (by content type; without one, by its first character). */
export function parseReport(text: string, contentType: string | undefined): { report: Report; json: string | null } {
  const kind = contentType ? (/json/i.test(contentType) ? 'json' : /xml/i.test(contentType) ? 'xml' : null) : text.trimStart().startsWith('<') ? 'xml' : 'json';
  if (kind === null) throw new DomainError('unsupported_media_type', 'unsupported_media_type', `send ThingPark reports as JSON or XML, not ${contentType}`);
  let body: unknown;
  // A byte order mark is no JSON: the text handed on (to formatters, to the ring of recent uplinks) is without it.
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  if (kind === 'xml') {
    body = parseXml(text);
  } else {
    try {
      body = JSON.parse(text);
    } catch (err) {
      throw new DomainError('invalid', 'invalid_json', 'request body is not valid JSON', { reason: err instanceof Error ? err.message : String(err) });
    }
  }
  assertJsonDepth(body);
  return { report: reportOf(body), json: kind === 'json' ? text : null };
}

/** A parsed body as a report: one top-level key, a known message type, a DevEUI. */
export function reportOf(body: unknown): Report {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw invalid('a ThingPark report is an object with the message type as its one key');
  const type = REPORT_TYPES.find((t) => t in body);
  if (!type) throw invalid('not a ThingPark report this plugin takes', { keys: Object.keys(body).slice(0, 10) });
  const fields = (body as Record<string, unknown>)[type];
  if (typeof fields !== 'object' || fields === null || Array.isArray(fields)) throw invalid(`${type} must be an object`);
  const devEui = (fields as Record<string, unknown>).DevEUI;
  if (typeof devEui !== 'string' || !EUI.test(devEui)) throw invalid(`${type}.DevEUI must be 16 hex digits`);
  for (const name of ['Time', 'payload_hex', 'CorrelationID', 'CustomerID', 'DevAddr'] as const) {
    const v = (fields as Record<string, unknown>)[name];
    if (v !== undefined && typeof v !== 'string' && typeof v !== 'number') throw invalid(`${type}.${name} must be a string`);
  }
  return { type, fields: fields as Record<string, unknown> };
}

/** A field as a number (typed JSON has numbers, untyped JSON and XML strings); undefined when absent or not one. */
export function numberField(fields: Record<string, unknown>, name: string): number | undefined {
  const v = fields[name];
  const n = typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v) : NaN;
  return Number.isFinite(n) ? n : undefined;
}

export function stringField(fields: Record<string, unknown>, name: string): string | undefined {
  const v = fields[name];
  return typeof v === 'string' ? v : typeof v === 'number' ? String(v) : undefined;
}
