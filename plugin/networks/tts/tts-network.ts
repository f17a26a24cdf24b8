import type { DownlinkOutput, JsonObject } from '../../../formatters/contract.js';
import { bodyValidator } from '../../schemas/validate.js';
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

interface TtsTarget extends DownlinkTarget {
  readonly network: 'tts';
  readonly credentials: TtsCredentials;
}

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
  constructor(private readonly client: TtsDownlinkClient) {}

  newCorrelationId(): string {
    return `${CORRELATION_PREFIX}${randomUUID()}`;
  }

  build(out: DownlinkOutput, opts: DownlinkOptions): JsonObject {
    return ttsDownlinkBody(out, opts);
  }

  /** TTS sends a device's push URLs (and API key) with its webhooks: until then, nothing to send to. */
  target(_device: DeviceRecord, _profile: unknown, credentials: Credentials | null): TtsTarget | null {
    const tts = ttsCredentialsOf(credentials);
    return tts ? { network: 'tts', credentials: tts } : null;
  }

  send(target: DownlinkTarget, request: JsonObject, opts: { replace: boolean }): Promise<SendOutcome> {
    const { credentials } = target as TtsTarget;
    return this.client.send(opts.replace ? credentials.replaceUrl : credentials.pushUrl, credentials.apiKey, request);
  }

  /** Replace with no downlinks. */
  clear(target: DownlinkTarget): Promise<SendOutcome> {
    const { credentials } = target as TtsTarget;
    return this.client.send(credentials.replaceUrl, credentials.apiKey, { downlinks: [] });
  }
}

/** The Things Stack: webhooks in (tts-webhooks.ts), push/replace out. */
export class TtsNetwork implements Network {
  readonly name = 'tts' as const;
  readonly label = 'TTS';
  readonly needsReportedCredentials = true;
  readonly downlinks: DownlinkTransport;

  constructor(client: TtsDownlinkClient) {
    this.downlinks = new TtsDownlinks(client);
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
