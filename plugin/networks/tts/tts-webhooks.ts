import type { JsonObject } from '../../../formatters/contract.js';
import type { Clock } from '../../clock.js';
import type { EventLog } from '../../events/event-log.js';
import { DomainError } from '../../domain-error.js';
import { assertJsonDepth } from '../../schemas/json-depth.js';
import { bearerToken, matchesSecret } from '../../http/secrets.js';
import { bodyValidator } from '../../schemas/validate.js';
import type { ReportAnswer, ReportHandler } from '../../pipeline/reports.js';
import type { RefusedWebhooks } from '../../pipeline/refused-webhooks.js';
import type { Profiles, ResolvedProfile } from '../../profiles.js';
import { DEFAULT_PROFILE } from '../../schemas/profile.js';
import type { DeliveryKind, NetworkReport } from '../network.js';
import type { TtsCredentialAdmission } from './credential-admission.js';
import type { TtsCredentials } from './tts-credentials.js';
import { applicationIdOf, deviceIdsOf, downlinkHeadersOf, messageTypeOf, neutralUplinkOf, pickLocation } from './webhook.js';
import { WebhookBodySchema, type MessageType, type WebhookBody } from './webhook-schema.js';

const webhookValidator = bodyValidator(WebhookBodySchema, 'invalid_webhook');

export interface WebhookRequest {
  body: unknown;
  /** The body as received, handed to formatters that read the whole message. */
  rawBody?: string | undefined;
  headers: Record<string, string | string[] | undefined>;
  remoteAddress: string;
}

const TITLES: Record<Exclude<MessageType, 'uplink_message' | 'uplink_normalized'>, string> = {
  join_accept: 'Device joined',
  downlink_ack: 'TTS: downlink acknowledged',
  downlink_nack: 'TTS: downlink not acknowledged',
  downlink_sent: 'TTS: downlink sent',
  downlink_failed: 'TTS: downlink failed',
  downlink_queued: 'TTS: downlink queued',
  downlink_queue_invalidated: 'TTS: downlink queue invalidated',
  location_solved: 'Location solved',
  service_data: 'Service data received',
};

const DELIVERY: Partial<Record<MessageType, DeliveryKind>> = {
  downlink_queued: 'queued',
  downlink_sent: 'sent',
  downlink_ack: 'acked',
  downlink_nack: 'nacked',
  downlink_failed: 'failed',
};

/** TTS webhook intake: authenticate, validate, turn each message type into the neutral report. */
export class TtsWebhooks {
  constructor(
    private readonly deps: {
      profiles: Profiles;
      reports: ReportHandler;
      admission: TtsCredentialAdmission;
      events: EventLog;
      clock: Clock;
      refused: RefusedWebhooks;
    },
  ) {}

  async handle(req: WebhookRequest): Promise<ReportAnswer> {
    const { profiles } = this.deps;
    if (typeof req.body !== 'object' || req.body === null || Array.isArray(req.body)) {
      throw new DomainError('invalid', 'invalid_webhook', 'the body must be a TTS ApplicationUp JSON object');
    }
    assertJsonDepth(req.body);
    const appId = applicationIdOf(req.body);
    const profile = await profiles.resolve(appId ?? DEFAULT_PROFILE);
    const auth = req.headers.authorization;
    const token = bearerToken(typeof auth === 'string' ? auth : undefined);
    // A profile of another network takes no TTS webhooks, whatever its (unused) webhook token.
    if (token === null || profile.settings.network !== 'tts' || !matchesSecret(token, profile.webhookTokenHash)) {
      await this.deps.refused.refuse({ appId, profileId: profile.profileId, tokenSent: token !== null, remoteAddress: req.remoteAddress });
      throw new DomainError('unauthorized', 'unauthorized', `missing or wrong webhook token for application '${appId ?? '?'}'`, {}, {
        'WWW-Authenticate': 'Bearer',
      });
    }
    const headers = req.headers;
    return this.accept(req.body, profile, req.rawBody, (body) => this.credentialsOf(headers, profile, body));
  }

  /**
   * A message TTS's MQTT server delivered on the connection of `profile`: the broker authenticated
   * it, and it must be of that application. It brings no downlink credentials (MQTT has none).
   */
  fromBroker(body: unknown, profile: ResolvedProfile, rawBody: string): Promise<ReportAnswer> {
    if (typeof body !== 'object' || body === null || Array.isArray(body)) {
      throw new DomainError('invalid', 'invalid_webhook', 'the message must be a TTS ApplicationUp JSON object');
    }
    assertJsonDepth(body);
    const appId = applicationIdOf(body);
    if (appId !== profile.appId) {
      throw new DomainError('forbidden', 'wrong_application', `a message of application '${String(appId).slice(0, 36)}' on the connection of '${profile.appId}'`);
    }
    return this.accept(body, profile, rawBody, () => null);
  }

  /** An authenticated ApplicationUp: validated, then one neutral report for the pipeline. */
  private async accept(
    raw: object,
    profile: ResolvedProfile,
    rawBody: string | undefined,
    credentialsOf: (body: WebhookBody) => Promise<TtsCredentials | null> | null,
  ): Promise<ReportAnswer> {
    const body = webhookValidator.parse(raw);
    const type = messageTypeOf(body);
    if (type === null) {
      await this.deps.events.record({
        appId: body.end_device_ids.application_ids.application_id,
        deviceId: null,
        category: 'webhook',
        severity: 'info',
        title: 'Unknown message type ignored',
        details: { keys: Object.keys(body).slice(0, 20) },
      });
      return { status: 202, body: { status: 'ignored', reason: 'unknown_message_type' } };
    }
    const credentials = profile.settings.enabled ? await credentialsOf(body) : null;
    return this.deps.reports.handle(this.reportOf(type, body, credentials, rawBody), profile);
  }

  /** The downlink credentials TTS sent, if the push-URL policy takes them (refusals are events). */
  private credentialsOf(headers: WebhookRequest['headers'], profile: ResolvedProfile, body: WebhookBody): Promise<TtsCredentials | null> | null {
    const sent = downlinkHeadersOf(headers);
    if (sent.kind === 'absent') return null;
    const ids = body.end_device_ids;
    return this.deps.admission.admit(profile, { application_id: ids.application_ids.application_id, device_id: ids.device_id }, sent);
  }

  private reportOf(type: MessageType, body: WebhookBody, credentials: TtsCredentials | null, rawBody: string | undefined): NetworkReport {
    if (type === 'uplink_message' || type === 'uplink_normalized') {
      const uplink = neutralUplinkOf(body, this.deps.clock.now(), rawBody);
      return { kind: 'uplink', type, ids: uplink.ids, credentials, uplink };
    }
    const ids = deviceIdsOf(body);
    const payload = (body as Record<string, unknown>)[type] as JsonObject;
    const title = TITLES[type];
    const details: JsonObject = { payload };
    const delivery = DELIVERY[type];
    if (delivery) {
      const failed = type === 'downlink_failed' ? body.downlink_failed : undefined;
      const downlink = failed ? failed.downlink : (payload as { correlation_ids?: string[] });
      const error = failed?.error;
      const name = error?.name ?? 'downlink_failed';
      return {
        kind: 'delivery',
        type,
        ids,
        credentials,
        title,
        details,
        event: {
          kind: delivery,
          correlationIds: [...(downlink?.correlation_ids ?? []), ...(body.correlation_ids ?? [])],
          ...(delivery === 'failed'
            ? {
                failure: {
                  code: `tts_${name}`,
                  message: error?.message_format ? formatTtsError(error.message_format, error.attributes ?? {}) : 'TTS reported downlink_failed',
                  retryable: false,
                },
              }
            : {}),
        },
      };
    }
    if (type === 'location_solved' && body.location_solved) {
      const location = pickLocation({ [body.location_solved.service ?? 'solved']: body.location_solved.location });
      if (location) return { kind: 'location', type, ids, credentials, title, details, location };
    }
    return { kind: 'note', type, ids, credentials, title, severity: 'info', category: type.startsWith('downlink_') ? 'downlink' : 'webhook', details };
  }
}

/** TTS ErrorDetails carry a message format with `{name}` placeholders and the attributes to fill them. */
function formatTtsError(format: string, attributes: Record<string, unknown>): string {
  return format.replace(/\{(\w+)\}/g, (whole, key: string) => {
    if (!(key in attributes)) return whole;
    const value = attributes[key];
    // Parsed JSON: an object may carry a `toString` that is no function, which String() would call.
    return typeof value === 'object' && value !== null ? JSON.stringify(value) : String(value);
  }).slice(0, 2000);
}
