import { randomUUID } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import type { DownlinkOutput, JsonObject } from '../../formatters/contract.js';
import type { FormatterPool } from '../../sandbox/formatter-pool.js';
import type { Clock } from '../clock.js';
import type { EventLog } from '../events/event-log.js';
import { EventThrottle } from '../events/event-throttle.js';
import { HttpError, notFound } from '../http/http-error.js';
import type { TtsDownlinkClient, PushOutcome } from '../networks/tts/downlink-client.js';
import { normalizeHost, parseHostList, TtsHostPins, type TtsUrlPolicyOptions, type UrlRefusal } from '../networks/tts/push-urls.js';
import type { DownlinkHeaders } from '../networks/tts/webhook.js';
import { formatterSpec, type Profiles, type ResolvedProfile } from '../profiles.js';
import type { MessageRequest } from '../schemas/downlink.js';
import type { DeviceRecord, DownlinkCredentials, MessageRecord, MessageStatus, Severity, TtsIds } from '../store/records.js';
import type { Store } from '../store/store.js';

export const CORRELATION_PREFIX = 'lorawan-bridge:msg:';
const PUSH_LEASE_MS = 60_000;

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

const EMPTY_HOSTS: ReadonlySet<string> = new Set<string>();

export type StatusListener = (message: MessageRecord) => Promise<void>;

/** Exponential backoff with full jitter: 1 s, 2 s, 4 s ... capped at 5 min. */
export function backoffMs(attempt: number, random: () => number = Math.random): number {
  const ceiling = Math.min(300_000, 1000 * 2 ** Math.max(0, attempt - 1));
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}

function iotdaFields(req: MessageRequest): JsonObject | null {
  const { payload_format, topic, topic_full_name, properties } = req;
  const fields: JsonObject = {
    ...(payload_format ? { payload_format } : {}),
    ...(topic ? { topic } : {}),
    ...(topic_full_name ? { topic_full_name } : {}),
    ...(properties ? { properties } : {}),
  };
  return Object.keys(fields).length ? fields : null;
}

/** The TTS push body for a formatted downlink. */
export function ttsDownlinkBody(
  out: DownlinkOutput,
  opts: { fPort: number; priority: string; confirmed: boolean; correlationId: string },
): JsonObject {
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

/**
 * Downlink messages from request to their end: format, push to TTS (or wait for the push URL),
 * retry what TTS could not take, follow TTS downlink_* events, time out at the TTL.
 * All state is in the store, so a restart picks up where it left off.
 */
export class DownlinkService {
  private readonly inFlight = new Set<string>();
  private readonly listeners = new Set<StatusListener>();
  /** The TTS hosts each application's downlinks go to (see TtsHostPins). */
  private readonly pins: TtsHostPins;
  /** Per application, refused host and reason, the first refusal of each minute is an event. */
  private readonly refusals = new EventThrottle();
  private readonly profileHosts = new LRUCache<string, Set<string>>({ max: 1000 });

  constructor(
    private readonly deps: {
      store: Store;
      formatters: FormatterPool;
      profiles: Profiles;
      events: EventLog;
      clock: Clock;
      tts: TtsDownlinkClient;
      random?: () => number;
    },
  ) {
    this.pins = new TtsHostPins(deps.store, deps.tts.policy);
  }

  /** The downlink URL policy in force (PLUGIN_TTS_HOSTS, PLUGIN_TTS_ALLOW_PRIVATE). */
  get urlPolicy(): TtsUrlPolicyOptions {
    return this.deps.tts.policy.options;
  }

  /**
   * The X-Downlink-* credentials of a webhook, if the policy takes them: TTS-shaped URLs of this
   * device on one origin, an allowed address and scheme, and a host this application may use
   * (PLUGIN_TTS_HOSTS, the profile's downlink.tts_hosts, or its pinned TTS host: the first one seen).
   * Refused ones are an event (host and reason, never the key) and null: stored credentials stay.
   */
  async admitCredentials(profile: ResolvedProfile, ids: TtsIds, headers: Exclude<DownlinkHeaders, { kind: 'absent' }>): Promise<DownlinkCredentials | null> {
    const policy = this.deps.tts.policy;
    if (headers.kind === 'refused') {
      await this.refuseCredentials(profile, ids, headers.refusal);
      return null;
    }
    const problem = policy.checkPair(headers.push, headers.replace, { applicationId: ids.application_id, deviceId: ids.device_id });
    if (problem) {
      await this.refuseCredentials(profile, ids, problem);
      return null;
    }
    const host = normalizeHost(headers.push.hostname);
    const credentials = { apiKey: headers.apiKey, pushUrl: headers.pushUrl, replaceUrl: headers.replaceUrl };
    if (policy.isListed(host) || this.hostsOf(profile).has(host)) {
      if (await this.pins.note(profile.appId, host)) await this.pinned(profile, host, 'listed');
      return credentials;
    }
    const admitted = await this.pins.admit(profile.appId, host);
    if (admitted.ok) {
      if (admitted.pinned) await this.pinned(profile, host, 'first');
      return credentials;
    }
    await this.refuseCredentials(profile, ids, {
      reason: 'host_not_allowed',
      host,
      message: `${host} is not a TTS host of application '${profile.appId}' (it uses ${admitted.pins.join(', ')}; add the host to the profile's downlink.tts_hosts or PLUGIN_TTS_HOSTS)`,
    });
    return null;
  }

  /** The profile's downlink.tts_hosts (entries that are no host are skipped; profiles stored before it have none). */
  private hostsOf(profile: ResolvedProfile): ReadonlySet<string> {
    const text = (profile.settings.downlink as { tts_hosts?: string }).tts_hosts ?? '';
    if (!text) return EMPTY_HOSTS;
    let hosts = this.profileHosts.get(text);
    if (!hosts) {
      hosts = new Set<string>();
      for (const entry of text.split(',')) {
        try {
          for (const h of parseHostList(entry)) hosts.add(h);
        } catch {
          // not a host: matches nothing
        }
      }
      this.profileHosts.set(text, hosts);
    }
    return hosts;
  }

  private async pinned(profile: ResolvedProfile, host: string, how: 'first' | 'listed'): Promise<void> {
    await this.deps.events.record({
      appId: profile.appId,
      deviceId: null,
      category: 'webhook',
      severity: 'info',
      title: `Downlinks of this application go to TTS at ${host}`,
      details: { host, pinned: how === 'first' ? 'first TTS host this application used' : 'listed host, first used' },
    });
  }

  private async refuseCredentials(profile: ResolvedProfile, ids: TtsIds, refusal: UrlRefusal): Promise<void> {
    const key = `${profile.appId}\n${refusal.host ?? ''}\n${refusal.reason}`;
    const refused = this.refusals.take(key, this.deps.clock.now().getTime());
    if (refused === null) return;
    await this.deps.events.record({
      appId: profile.appId,
      deviceId: null,
      category: 'webhook',
      severity: 'warning',
      title: `Downlink URLs refused: ${refusal.message}`,
      details: {
        reason: refusal.reason,
        host: refusal.host,
        tts_device_id: ids.device_id,
        profile: profile.profileId,
        // Refused since the previous event for this application, host and reason (this one included).
        refused,
      },
    });
  }

  onStatusChange(listener: StatusListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private nowIso(): string {
    return this.deps.clock.now().toISOString();
  }

  /** Formats the message with the application's downlink formatter (or takes raw base64). */
  private async format(
    device: DeviceRecord,
    profile: ResolvedProfile,
    req: MessageRequest,
    fPort: number | null,
  ): Promise<{ ok: true; out: DownlinkOutput } | { ok: false; code: string; message: string }> {
    if (req.encoding === 'base64') {
      if (typeof req.message !== 'string' || !BASE64.test(req.message) || req.message.length === 0) {
        throw new HttpError(400, 'invalid_message', 'with encoding base64, message must be a non-empty base64 string');
      }
      return { ok: true, out: { frmPayload: req.message } };
    }
    const report = await this.deps.formatters.runDownlink(device.appId, formatterSpec(profile.settings), {
      payload: req.message,
      ...(fPort !== null ? { fPort } : {}),
      device: { id: device.id, app_id: device.appId, tts: { ...device.tts }, properties: device.properties },
    });
    if (!report.ok || !report.output) {
      const err = report.error ?? { kind: 'contract', message: 'formatter returned nothing' };
      return { ok: false, code: 'formatter_error', message: `${err.kind}: ${err.message}${err.line ? ` (line ${err.line})` : ''}` };
    }
    return { ok: true, out: report.output };
  }

  /** Creates a message (409 if the id exists for the device) and pushes it when TTS can take it. */
  async create(deviceId: string, req: MessageRequest): Promise<MessageRecord> {
    const { store, profiles, clock } = this.deps;
    const device = await store.getDevice(deviceId);
    if (!device) throw notFound('device', deviceId);
    const profile = await profiles.resolve(device.appId);
    const messageId = req.message_id ?? randomUUID();
    if (await store.getMessage(deviceId, messageId)) {
      throw new HttpError(409, 'duplicate_message_id', `message '${messageId}' already exists for device '${deviceId}'`, { message_id: messageId });
    }
    const lastPort = (device.properties.device as { f_port?: number } | undefined)?.f_port;
    const requestedPort = req.f_port ?? profile.settings.downlink.f_port ?? (lastPort && lastPort >= 1 && lastPort <= 223 ? lastPort : null);
    const now = clock.now();
    const confirmed = req.confirmed ?? profile.settings.downlink.confirmed;
    const priority = req.priority ?? profile.settings.downlink.priority;
    const correlationId = `${CORRELATION_PREFIX}${randomUUID()}`;
    const message: MessageRecord = {
      deviceId,
      messageId,
      appId: device.appId,
      name: req.name ?? null,
      message: req.message,
      encoding: req.encoding,
      fPort: requestedPort,
      confirmed,
      priority,
      replace: req.replace ?? !profile.settings.downlink.push,
      ttlMin: req.ttl,
      status: 'PENDING',
      detail: 'waiting_for_uplink',
      error: null,
      correlationId,
      iotda: iotdaFields(req),
      ttsRequest: null,
      attempts: 0,
      createdAt: now.toISOString(),
      updatedAt: now.toISOString(),
      finishedAt: null,
      nextAttemptAt: null,
      expiresAt: new Date(now.getTime() + req.ttl * 60_000).toISOString(),
    };

    const formatted = await this.format(device, profile, req, requestedPort);
    if (!formatted.ok) {
      this.finish(message, 'FAILED', 'failed', { code: formatted.code, message: formatted.message });
    } else {
      const fPort = formatted.out.fPort ?? requestedPort;
      if (fPort === null) {
        throw new HttpError(400, 'f_port_required', 'no f_port: set f_port, a profile default, or wait for the device\'s first uplink');
      }
      if (!Number.isInteger(fPort) || fPort < 1 || fPort > 223) {
        this.finish(message, 'FAILED', 'failed', { code: 'invalid_f_port', message: `f_port ${fPort} is outside 1..223` });
      } else {
        message.fPort = fPort;
        message.ttsRequest = ttsDownlinkBody(formatted.out, { fPort, priority, confirmed, correlationId });
        // A lease: if the process dies during the first push, the scheduler retries it after a restart.
        message.nextAttemptAt = new Date(now.getTime() + PUSH_LEASE_MS).toISOString();
      }
    }
    if (!(await store.insertMessage(message))) {
      throw new HttpError(409, 'duplicate_message_id', `message '${messageId}' already exists for device '${deviceId}'`, { message_id: messageId });
    }
    const failed = message.status === 'FAILED';
    await this.announce(message, failed ? 'error' : 'info', failed ? `Downlink failed: ${message.error?.message}` : 'Downlink created');
    if (message.status === 'PENDING') await this.attempt(message);
    return message;
  }

  /** One push attempt; updates status, schedules a retry or ends the message. */
  private async attempt(message: MessageRecord): Promise<void> {
    const key = `${message.deviceId}/${message.messageId}`;
    if (this.inFlight.has(key) || !message.ttsRequest) return;
    this.inFlight.add(key);
    try {
      const creds = await this.deps.store.getCredentials(message.deviceId);
      if (!creds) {
        if (message.detail !== 'waiting_for_uplink' || message.nextAttemptAt !== null) {
          message.detail = 'waiting_for_uplink';
          message.nextAttemptAt = null;
          await this.save(message);
        }
        return;
      }
      message.attempts += 1;
      const outcome = await this.deps.tts.send(message.replace ? creds.replaceUrl : creds.pushUrl, creds.apiKey, message.ttsRequest);
      await this.applyPush(message, outcome);
    } finally {
      this.inFlight.delete(key);
    }
  }

  private async applyPush(message: MessageRecord, outcome: PushOutcome): Promise<void> {
    if (outcome.ok) {
      message.detail = 'submitted';
      message.nextAttemptAt = null;
      message.error = null;
      await this.changed(message, 'info', `Downlink ${message.replace ? 'replaced queue' : 'pushed'} to TTS`);
      return;
    }
    const error = { code: outcome.code, message: outcome.message };
    if (!outcome.retryable) {
      this.finish(message, 'FAILED', 'failed', error);
      const title = outcome.code === 'tts_url_refused' ? `Downlink not sent: ${outcome.message}` : `Downlink rejected by TTS: ${outcome.message}`;
      await this.changed(message, 'error', title, { http_status: outcome.status });
      return;
    }
    const delay = outcome.retryAfterMs ?? backoffMs(message.attempts, this.deps.random);
    message.detail = 'retrying';
    message.error = error;
    message.nextAttemptAt = new Date(this.deps.clock.now().getTime() + delay).toISOString();
    await this.changed(message, 'warning', `TTS push failed, retrying in ${Math.round(delay / 1000)} s: ${outcome.message}`, {
      http_status: outcome.status,
      attempt: message.attempts,
    });
  }

  private finish(message: MessageRecord, status: Exclude<MessageStatus, 'PENDING'>, detail: MessageRecord['detail'], error: MessageRecord['error']): void {
    message.status = status;
    message.detail = detail;
    message.error = error;
    message.finishedAt = this.nowIso();
    message.nextAttemptAt = null;
  }

  private async save(message: MessageRecord): Promise<void> {
    message.updatedAt = this.nowIso();
    await this.deps.store.updateMessage(message);
  }

  /** Persists, then announces. */
  private async changed(message: MessageRecord, severity: Severity, title: string, extra: JsonObject = {}): Promise<void> {
    await this.save(message);
    await this.announce(message, severity, title, extra);
  }

  /** Records the event and tells listeners (notifications, live views). */
  private async announce(message: MessageRecord, severity: Severity, title: string, extra: JsonObject = {}): Promise<void> {
    await this.deps.events.record({
      appId: message.appId,
      deviceId: message.deviceId,
      category: 'downlink',
      severity,
      title,
      details: {
        message_id: message.messageId,
        status: message.status,
        detail: message.detail,
        correlation_id: message.correlationId,
        ...(message.error ? { error: message.error } : {}),
        ...extra,
      },
    });
    for (const listener of this.listeners) await listener(message);
  }

  /** The device just brought push credentials: send what was waiting for them. */
  async onCredentials(deviceId: string): Promise<void> {
    const waiting = await this.deps.store.listOpenMessages({ deviceId, statuses: ['PENDING'], limit: 100 });
    for (const m of waiting) if (m.detail === 'waiting_for_uplink' && m.ttsRequest) await this.attempt(m);
  }

  /**
   * Follows a TTS downlink_* webhook to the message it belongs to (by our correlation id), within
   * the application the webhook came for: another application's token moves no message of this one.
   */
  async onTtsEvent(
    appId: string,
    type: string,
    correlationIds: string[],
    failure?: { name?: string; message?: string },
  ): Promise<MessageRecord | null> {
    const ours = correlationIds.find((id) => id.startsWith(CORRELATION_PREFIX));
    if (!ours) return null;
    const message = await this.deps.store.getMessageByCorrelation(ours);
    if (!message || message.appId !== appId) return null;
    if (message.status !== 'PENDING') return message;
    switch (type) {
      case 'downlink_queued':
        message.detail = 'queued';
        await this.changed(message, 'info', 'Downlink queued by TTS');
        break;
      case 'downlink_sent':
        if (message.confirmed) {
          message.detail = 'sent';
          await this.changed(message, 'info', 'Confirmed downlink sent, waiting for ack');
        } else {
          this.finish(message, 'DELIVERED', 'sent', null);
          await this.changed(message, 'info', 'Downlink delivered (sent by gateway)');
        }
        break;
      case 'downlink_ack':
        this.finish(message, 'DELIVERED', 'acknowledged', null);
        await this.changed(message, 'info', 'Downlink acknowledged by device');
        break;
      case 'downlink_nack':
        message.detail = 'not_acknowledged';
        await this.changed(message, 'warning', 'Downlink not acknowledged; TTS retries it');
        break;
      case 'downlink_failed': {
        const code = `tts_${failure?.name ?? 'downlink_failed'}`;
        this.finish(message, 'FAILED', 'failed', { code, message: failure?.message ?? 'TTS reported downlink_failed' });
        await this.changed(message, 'error', `Downlink failed in TTS: ${failure?.message ?? code}`);
        break;
      }
      default:
        return message;
    }
    return message;
  }

  /** Due retries and TTL expiries; called by the scheduler (and by tests with a moved clock). */
  async tick(): Promise<void> {
    const now = this.deps.clock.now();
    const due = await this.deps.store.listOpenMessages({ statuses: ['PENDING'], dueBefore: now.toISOString(), limit: 500 });
    for (const m of due) {
      if (Date.parse(m.expiresAt) <= now.getTime()) {
        this.finish(m, 'TIMEOUT', 'expired', m.error);
        await this.changed(m, 'warning', `Downlink timed out after ${m.ttlMin} min (${m.attempts} attempts)`);
      } else if (m.nextAttemptAt && Date.parse(m.nextAttemptAt) <= now.getTime()) {
        await this.attempt(m);
      }
    }
  }

  /** Empties the device's TTS downlink queue (replace with no downlinks). */
  async clearQueue(deviceId: string): Promise<PushOutcome> {
    const device = await this.deps.store.getDevice(deviceId);
    if (!device) throw notFound('device', deviceId);
    const creds = await this.deps.store.getCredentials(deviceId);
    if (!creds) throw new HttpError(409, 'no_downlink_url', 'TTS has not sent this device\'s downlink URLs yet; wait for its next uplink');
    const outcome = await this.deps.tts.send(creds.replaceUrl, creds.apiKey, { downlinks: [] });
    await this.deps.events.record({
      appId: device.appId,
      deviceId,
      category: 'downlink',
      severity: outcome.ok ? 'info' : 'error',
      title: outcome.ok ? 'TTS downlink queue cleared' : `Clearing the TTS queue failed: ${outcome.message}`,
      details: outcome.ok ? {} : { code: outcome.code, http_status: outcome.status },
    });
    return outcome;
  }
}
