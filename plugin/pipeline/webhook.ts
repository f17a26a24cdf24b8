import type { JsonObject } from '../../formatters/contract.js';
import type { Background } from '../background.js';
import type { Clock } from '../clock.js';
import type { EventLog } from '../events/event-log.js';
import { HttpError } from '../http/http-error.js';
import { assertJsonDepth } from '../http/json-depth.js';
import { bearerToken, matchesSecret } from '../http/secrets.js';
import { bodyValidator } from '../http/validate.js';
import { applicationIdOf, downlinkHeadersOf, messageTypeOf, pickLocation, ttsIdsOf } from '../networks/tts/webhook.js';
import { DEFAULT_PROFILE } from '../schemas/profile.js';
import { WebhookBodySchema, type MessageType, type WebhookBody } from '../schemas/tts-webhook.js';
import type { Profiles, ResolvedProfile } from '../profiles.js';
import { deviceIdentity } from '../provisioning.js';
import type { DownlinkCredentials, TtsIds } from '../store/records.js';
import type { Store } from '../store/store.js';
import type { DownlinkService } from './downlink.js';
import type { RefusedWebhooks } from './refused-webhooks.js';
import type { UplinkOutcome, UplinkPipeline } from './uplink.js';

const webhookValidator = bodyValidator(WebhookBodySchema, 'invalid_webhook');

export interface WebhookRequest {
  body: unknown;
  /** The body as received, handed to formatters that read the whole message. */
  rawBody?: string | undefined;
  headers: Record<string, string | string[] | undefined>;
  remoteAddress: string;
}

export interface WebhookAnswer {
  status: number;
  body: JsonObject;
}

const TITLES: Record<Exclude<MessageType, 'uplink_message'>, string> = {
  uplink_normalized: 'Normalized uplink received',
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

/** TTS webhook intake: authenticate, validate, dispatch on the message type. */
export class WebhookHandler {
  constructor(
    private readonly deps: {
      store: Store;
      profiles: Profiles;
      uplinks: UplinkPipeline;
      downlinks: DownlinkService;
      events: EventLog;
      clock: Clock;
      background: Background;
      refused: RefusedWebhooks;
    },
  ) {}

  async handle(req: WebhookRequest): Promise<WebhookAnswer> {
    const { profiles, events } = this.deps;
    if (typeof req.body !== 'object' || req.body === null || Array.isArray(req.body)) {
      throw new HttpError(400, 'invalid_webhook', 'the body must be a TTS ApplicationUp JSON object');
    }
    assertJsonDepth(req.body);
    const appId = applicationIdOf(req.body);
    const profile = await profiles.resolve(appId ?? DEFAULT_PROFILE);
    const auth = req.headers.authorization;
    const token = bearerToken(typeof auth === 'string' ? auth : undefined);
    if (token === null || !matchesSecret(token, profile.webhookTokenHash)) {
      await this.deps.refused.refuse({ appId, profileId: profile.profileId, tokenSent: token !== null, remoteAddress: req.remoteAddress });
      throw new HttpError(401, 'unauthorized', `missing or wrong webhook token for application '${appId ?? '?'}'`, {}, {
        'WWW-Authenticate': 'Bearer',
      });
    }
    const body = webhookValidator.parse(req.body);
    const type = messageTypeOf(body);
    const ids = ttsIdsOf(body);
    if (type === null) {
      await events.record({
        appId: ids.application_id,
        deviceId: null,
        category: 'webhook',
        severity: 'info',
        title: 'Unknown message type ignored',
        details: { keys: Object.keys(body).slice(0, 20) },
      });
      return { status: 202, body: { status: 'ignored', reason: 'unknown_message_type' } };
    }
    if (!profile.settings.enabled) {
      await events.record({
        appId: ids.application_id,
        deviceId: null,
        category: 'webhook',
        severity: 'info',
        title: `Message ignored: profile '${profile.profileId}' is disabled`,
        details: { type },
      });
      return { status: 202, body: { status: 'ignored', reason: 'profile_disabled' } };
    }
    const admitting = this.credentialsOf(req.headers, profile, ids);
    const credentials = admitting === null ? null : await admitting;
    if (type === 'uplink_message') {
      // Not awaited here: this frame would hold the parsed body until the write is durable, and
      // bodies kept that long are what the young-generation GC copies and promotes.
      return this.deps.uplinks
        .handle({ body, profile, credentials, ...(req.rawBody ? { messageJson: req.rawBody } : {}) })
        .then((outcome) => this.uplinkAnswer(outcome));
    }
    return this.other(type, body, profile, credentials);
  }

  /** The downlink credentials TTS sent, if the push-URL policy takes them (refusals are events). */
  private credentialsOf(headers: WebhookRequest['headers'], profile: ResolvedProfile, ids: TtsIds): Promise<DownlinkCredentials | null> | null {
    const sent = downlinkHeadersOf(headers);
    return sent.kind === 'absent' ? null : this.deps.downlinks.admitCredentials(profile, ids, sent);
  }

  private uplinkAnswer(outcome: UplinkOutcome): WebhookAnswer {
    if (outcome.credentialsChanged) this.flushWaiting(outcome.deviceId);
    return {
      status: 200,
      body: {
        status: outcome.status,
        device_id: outcome.deviceId,
        ...(outcome.deadLetterId !== null ? { dead_letter_id: outcome.deadLetterId } : {}),
      },
    };
  }

  private flushWaiting(deviceId: string): void {
    this.deps.background.run(`sending waiting downlinks of ${deviceId}`, () => this.deps.downlinks.onCredentials(deviceId));
  }

  private async other(
    type: Exclude<MessageType, 'uplink_message'>,
    body: WebhookBody,
    profile: ResolvedProfile,
    credentials: DownlinkCredentials | null,
  ): Promise<WebhookAnswer> {
    const { store, downlinks, events } = this.deps;
    const { deviceId } = deviceIdentity(profile.settings.uplink, ttsIdsOf(body));
    const payload = (body as Record<string, unknown>)[type] as JsonObject;
    // A token acts on its own application's devices only: not on credentials, location or messages
    // of a device another application provisioned under the same id.
    const device = await store.getDevice(deviceId);
    if (device && device.appId !== profile.appId) {
      await events.record({
        appId: profile.appId,
        deviceId: null,
        category: 'webhook',
        severity: 'warning',
        title: `${TITLES[type]}: ignored, device '${deviceId}' belongs to another application (give the profiles distinct id prefixes)`,
        details: { type, device_id: deviceId },
      });
      return { status: 202, body: { status: 'ignored', reason: 'device_of_another_application', type, device_id: deviceId } };
    }
    if (credentials && (await store.putCredentials(deviceId, credentials))) this.flushWaiting(deviceId);

    let messageId: string | null = null;
    if (type.startsWith('downlink_') && type !== 'downlink_queue_invalidated') {
      const failed = type === 'downlink_failed' ? body.downlink_failed : undefined;
      const downlink = failed ? failed.downlink : (payload as { correlation_ids?: string[] });
      const correlation = [...(downlink?.correlation_ids ?? []), ...(body.correlation_ids ?? [])];
      const error = failed?.error;
      const message = await downlinks.onTtsEvent(profile.appId, type, correlation, {
        ...(error?.name ? { name: error.name } : {}),
        ...(error?.message_format ? { message: formatTtsError(error.message_format, error.attributes ?? {}) } : {}),
      });
      messageId = message?.messageId ?? null;
    }
    if (type === 'location_solved' && profile.settings.uplink.update_location && body.location_solved) {
      const location = pickLocation({ [body.location_solved.service ?? 'solved']: body.location_solved.location });
      await store.setDeviceProperty(deviceId, 'location', location);
    }
    await events.record({
      appId: profile.appId,
      deviceId,
      category: type.startsWith('downlink_') ? 'downlink' : 'webhook',
      severity: type === 'downlink_failed' ? 'error' : type === 'downlink_nack' ? 'warning' : 'info',
      title: TITLES[type],
      details: { type, ...(messageId ? { message_id: messageId } : {}), payload },
    });
    return { status: 200, body: { status: 'recorded', type, device_id: deviceId } };
  }
}

/** TTS ErrorDetails carry a message format with `{name}` placeholders and the attributes to fill them. */
function formatTtsError(format: string, attributes: Record<string, unknown>): string {
  return format.replace(/\{(\w+)\}/g, (whole, key: string) => (key in attributes ? String(attributes[key]) : whole));
}
