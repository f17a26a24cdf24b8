import { createHash, timingSafeEqual } from 'node:crypto';

/**
 * ThingPark's tunnel-interface tokens (reference A.2, A.3): SHA-256, lower-case hex, over values
 * as they are, not percent-encoded, with the AS key (32 hex, lower case) appended.
 */

/** The report query parameters the token covers, in the order the LRC hashes them (without Token). */
const REPORT_QUERY = ['LrnDevEui', 'LrnFPort', 'LrnInfos', 'AS_ID', 'Time'] as const;

export type ReportType = 'DevEUI_uplink' | 'DevEUI_notification' | 'DevEUI_location' | 'DevEUI_downlink_Sent' | 'DevEUI_downlink_Rejected';

const sha256 = (text: string): string => createHash('sha256').update(text, 'utf8').digest('hex');

/** A body value as the LRC hashed it: numbers as decimal strings, absent as ''. */
const text = (value: unknown): string => (typeof value === 'string' ? value : typeof value === 'number' ? String(value) : '');

/**
 * The body elements of each report type's token; null for notifications, whose formula is not
 * public (they are checked by AS_ID and Time only, see the README).
 */
function bodyElements(type: ReportType, f: Record<string, unknown>): string | null {
  const base = text(f.CustomerID) + text(f.DevEUI);
  switch (type) {
    case 'DevEUI_uplink':
      // A missing FPort is hashed as 0, as KPN's verifier does.
      return base + (text(f.FPort) || '0') + text(f.FCntUp) + text(f.payload_hex);
    case 'DevEUI_location':
      return text(f.CustomerID) + text(f.DevEUI).toLowerCase();
    case 'DevEUI_downlink_Sent':
    case 'DevEUI_downlink_Rejected':
      return base + text(f.FPort) + text(f.FCntDn);
    case 'DevEUI_notification':
      return null;
  }
}

/** The token a report of this type, body and (decoded) query parameters must carry; null when none is checked. */
export function reportToken(type: ReportType, fields: Record<string, unknown>, query: URLSearchParams, asKey: string): string | null {
  const elements = bodyElements(type, fields);
  if (elements === null) return null;
  const params = REPORT_QUERY.map((name) => `${name}=${query.get(name) ?? ''}`).join('&');
  return sha256(elements + params + asKey.toLowerCase());
}

export function tokensEqual(sent: string, expected: string): boolean {
  const a = Buffer.from(sent.toLowerCase());
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** The downlink query string with its Token last: hashed over the unencoded values, then encoded. */
export function signedQuery(params: [string, string][], asKey: string): string {
  const plain = params.map(([k, v]) => `${k}=${v}`).join('&');
  const token = sha256(plain + asKey.toLowerCase());
  return [...params, ['Token', token]].map(([k, v]) => `${k}=${encodeURIComponent(v)}`).join('&');
}
