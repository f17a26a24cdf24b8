import type { DownlinkOutput, JsonObject } from '../../../formatters/contract.js';
import { bodyValidator } from '../../schemas/validate.js';
import type { ResolvedProfile } from '../../profiles.js';
import type { DeviceRecord } from '../../store/records.js';
import type { Credentials, DownlinkOptions, DownlinkTarget, DownlinkTransport, Network, NeutralUplink, SendOutcome, UplinkSample } from '../network.js';
import { randomUUID } from 'node:crypto';
import type { TtsDownlinkClient } from './downlink-client.js';
import { ttsCredentialsOf, type TtsCredentials } from './tts-credentials.js';
import { neutralUplinkOf } from './webhook.js';
import { WebhookBodySchema } from './webhook-schema.js';

/** Our correlation ids among those TTS echoes back in downlink_* webhooks. */
export const CORRELATION_PREFIX = 'lorawan-bridge:msg:';

const storedWebhook = bodyValidator(WebhookBodySchema, 'invalid_webhook');

/** Push URLs and API key from the webhooks, or the profile's connection to TTS's MQTT server. */
type TtsTarget = DownlinkTarget & { readonly network: 'tts' } & (
    | { readonly credentials: TtsCredentials }
    | { readonly mqtt: { appId: string; device: string; username: string } }
  );

/** Publishes on a profile's MQTT connection (MqttConnections.publish). */
export type MqttPublish = (appId: string, topic: string, payload: string) => Promise<void>;

/** The TTS push body for a formatted downlink (`POST …/down/push` or `/down/replace`). */
export function ttsDownlinkBody(out: DownlinkOutput, opts: DownlinkOptions): JsonObject {
  return {
    downlinks: [
      {
        f_port: opts.fPort,
        ...(out.frmPayload !== undefined ? { frm_payload: out.frmPayload } : { decoded_payload: out.decodedPayload ?? {} }),
        priority: opts.priority,
        confirmed: opts.confirmed,
        correlation_ids: [opts.correlationId],
      },
    ],
  };
}

class TtsDownlinks implements DownlinkTransport {
  constructor(
    private readonly client: TtsDownlinkClient,
    private readonly publish: MqttPublish,
  ) {}

  newCorrelationId(): string {
    return `${CORRELATION_PREFIX}${randomUUID()}`;
  }

  build(out: DownlinkOutput, opts: DownlinkOptions): JsonObject {
    return ttsDownlinkBody(out, opts);
  }

  /**
   * A profile on TTS's MQTT server sends there; otherwise TTS sends a device's push URLs (and API
   * key) with its webhooks, and until then there is nothing to send to.
   */
  target(device: DeviceRecord, profile: ResolvedProfile, credentials: Credentials | null): TtsTarget | null {
    const mqtt = profile.settings.tts_mqtt;
    if (mqtt?.enabled && profile.profileId === device.appId) {
      return { network: 'tts', mqtt: { appId: profile.profileId, device: device.ids.network_device_id, username: mqtt.username } };
    }
    const tts = ttsCredentialsOf(credentials);
    return tts ? { network: 'tts', credentials: tts } : null;
  }

  send(target: DownlinkTarget, request: JsonObject, opts: { replace: boolean }): Promise<SendOutcome> {
    const t = target as TtsTarget;
    if ('mqtt' in t) return this.publishTo(t.mqtt, opts.replace, request);
    return this.client.send(opts.replace ? t.credentials.replaceUrl : t.credentials.pushUrl, t.credentials.apiKey, request);
  }

  /** Replace with no downlinks. */
  clear(target: DownlinkTarget): Promise<SendOutcome> {
    const t = target as TtsTarget;
    if ('mqtt' in t) return this.publishTo(t.mqtt, true, { downlinks: [] });
    return this.client.send(t.credentials.replaceUrl, t.credentials.apiKey, { downlinks: [] });
  }

  /** TTS answers nothing on MQTT (reference §4): a publish that left is all we learn; the down/* topics tell the rest. */
  private async publishTo(to: { appId: string; device: string; username: string }, replace: boolean, request: JsonObject): Promise<SendOutcome> {
    const topic = `v3/${to.username}/devices/${to.device}/down/${replace ? 'replace' : 'push'}`;
    try {
      await this.publish(to.appId, topic, JSON.stringify(request));
      return { ok: true, status: 0 };
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      return { ok: false, status: null, retryable: true, retryAfterMs: null, code: 'tts_mqtt_unavailable', message: message.slice(0, 500) };
    }
  }
}

/** The Things Stack: webhooks in (tts-webhooks.ts), push/replace out. */
export class TtsNetwork implements Network {
  readonly name = 'tts' as const;
  readonly label = 'TTS';
  readonly needsReportedCredentials = true;
  readonly downlinks: DownlinkTransport;

  constructor(client: TtsDownlinkClient, publish: MqttPublish) {
    this.downlinks = new TtsDownlinks(client, publish);
  }

  uplinkOf(report: JsonObject, appId: string, now: Date): NeutralUplink | null {
    // The test tool takes bodies without ids: the uplink is what it tries.
    const withIds = 'end_device_ids' in report ? report : { end_device_ids: { device_id: 'formatter-test', application_ids: { application_id: appId } }, ...report };
    const body = storedWebhook.parse(withIds);
    return body.uplink_message || body.uplink_normalized ? neutralUplinkOf(body, now) : null;
  }

  reportFor(sample: UplinkSample): JsonObject {
    return {
      received_at: sample.receivedAt,
      uplink_message: {
        f_port: sample.fPort,
        frm_payload: sample.payload,
        ...(sample.decodedPayload ? { decoded_payload: sample.decodedPayload } : {}),
        received_at: sample.receivedAt,
      },
    };
  }

  /** TTS-style downlink formatters have read `device.tts` (TTS's end_device_ids, flattened). */
  formatterDevice(device: DeviceRecord): JsonObject {
    const { network_device_id, app_id, network: _network, ...euis } = device.ids;
    return { tts: { device_id: network_device_id, application_id: app_id, ...euis } };
  }
}
