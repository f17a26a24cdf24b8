import type { JsonObject } from '../../../formatters/contract.js';
import { networkNormalized } from '../../../formatters/normalized-payload.js';
import { MESSAGE_TYPES, type MessageType, type WebhookBody, type TtsLocation } from './webhook-schema.js';
import type { Location, NeutralUplink } from '../network.js';
import type { DeviceIds } from '../network-ids.js';
import { MAX_DOWNLINK_HEADER_LENGTH, type UrlRefusal } from './push-urls.js';

/** The one member of the TTS `ApplicationUp` oneof that the body carries, or null for unknown types. */
export function messageTypeOf(body: Record<string, unknown>): MessageType | null {
  for (const type of MESSAGE_TYPES) if (body[type] !== undefined) return type;
  return null;
}

/** The application id of a body that has not been validated yet (needed to pick the token to check). */
export function applicationIdOf(body: unknown): string | null {
  const ids = (body as { end_device_ids?: { application_ids?: { application_id?: unknown } } } | null)?.end_device_ids;
  const appId = ids?.application_ids?.application_id;
  return typeof appId === 'string' ? appId : null;
}

/** The X-Downlink-* headers of a webhook: none (or an incomplete set), refused, or parsed for the policy. */
export type DownlinkHeaders =
  | { kind: 'absent' }
  | { kind: 'refused'; refusal: UrlRefusal }
  | { kind: 'present'; apiKey: string; pushUrl: string; replaceUrl: string; push: URL; replace: URL };

/**
 * X-Downlink-Apikey / -Push / -Replace. Bounded before anything reads them (a header of any length
 * costs a length check), then parsed once with the WHATWG URL parser: linear, no backtracking.
 * An incomplete set is ignored as before; the policy checks the rest (TtsUrlPolicy.checkPair).
 */
export function downlinkHeadersOf(headers: Record<string, string | string[] | undefined>): DownlinkHeaders {
  const one = (name: string) => {
    const v = headers[name];
    return typeof v === 'string' && v.length > 0 ? v : null;
  };
  const apiKey = one('x-downlink-apikey');
  const pushUrl = one('x-downlink-push');
  const replaceUrl = one('x-downlink-replace');
  if (!apiKey || !pushUrl || !replaceUrl) return { kind: 'absent' };
  if (apiKey.length > MAX_DOWNLINK_HEADER_LENGTH || pushUrl.length > MAX_DOWNLINK_HEADER_LENGTH || replaceUrl.length > MAX_DOWNLINK_HEADER_LENGTH) {
    return {
      kind: 'refused',
      refusal: { reason: 'header_too_long', host: null, message: `an X-Downlink-* header is longer than ${MAX_DOWNLINK_HEADER_LENGTH} characters` },
    };
  }
  let push: URL;
  let replace: URL;
  try {
    push = new URL(pushUrl);
    replace = new URL(replaceUrl);
  } catch {
    return { kind: 'refused', refusal: { reason: 'invalid_url', host: null, message: 'X-Downlink-Push or X-Downlink-Replace is not a URL' } };
  }
  return { kind: 'present', apiKey, pushUrl, replaceUrl, push, replace };
}

/** The neutral ids of a TTS device; EUIs and addresses upper case as everywhere in the plugin. */
export function deviceIdsOf(body: WebhookBody): DeviceIds {
  const ids = body.end_device_ids;
  return {
    network: 'tts',
    app_id: ids.application_ids.application_id,
    network_device_id: ids.device_id,
    ...(ids.dev_eui ? { dev_eui: ids.dev_eui.toUpperCase() } : {}),
    ...(ids.join_eui ? { join_eui: ids.join_eui.toUpperCase() } : {}),
    ...(ids.dev_addr ? { dev_addr: ids.dev_addr.toUpperCase() } : {}),
  };
}

/** Location names in the order we trust them: the device's own GPS first. */
const LOCATION_PREFERENCE = ['frm-payload', 'user'];

export function pickLocation(locations: Record<string, TtsLocation> | undefined): Location | undefined {
  if (!locations) return undefined;
  const names = Object.keys(locations).sort(
    (a, b) => (LOCATION_PREFERENCE.indexOf(a) + 1 || 99) - (LOCATION_PREFERENCE.indexOf(b) + 1 || 99),
  );
  return names.length ? { name: names[0], ...locations[names[0]] } : undefined;
}

/**
 * An `uplink_message`, or an `uplink_normalized` (one measurement, no formatter: `normalizedOnly`),
 * as the neutral uplink. Requires one of them in the body.
 */
export function neutralUplinkOf(body: WebhookBody, fallbackTime: Date, json?: string): NeutralUplink {
  const message = body.uplink_message;
  const normalizedOnly = message === undefined;
  const up = message ?? body.uplink_normalized!;
  const payload = up.frm_payload ?? '';
  const location = pickLocation(up.locations);
  const measurements = message ? message.normalized_payload : [body.uplink_normalized!.normalized_payload];
  return {
    ids: deviceIdsOf(body),
    fPort: up.f_port ?? 0,
    fCnt: up.f_cnt ?? null,
    session: up.session_key_id ?? '',
    payload,
    bytes: new Uint8Array(Buffer.from(payload, 'base64')),
    // An uplink_normalized's measurement, as sent, is its data.
    ...(message ? (message.decoded_payload ? { decodedPayload: message.decoded_payload } : {}) : { decodedPayload: body.uplink_normalized!.normalized_payload }),
    ...(measurements ? { normalized: networkNormalized(measurements, up.normalized_payload_warnings ?? []) } : {}),
    ...(normalizedOnly ? { normalizedOnly } : {}),
    receivedAt: up.received_at ?? body.received_at ?? fallbackTime.toISOString(),
    radio: { rx_metadata: up.rx_metadata ?? [], settings: up.settings ?? {} },
    ...(location ? { location } : {}),
    report: body as unknown as JsonObject,
    ...(json ? { reportJson: json } : {}),
  };
}
