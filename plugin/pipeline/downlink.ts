import { randomUUID } from 'node:crypto';
import type { DownlinkOutput, JsonObject } from '../../formatters/contract.js';
import type { FormatterPool } from '../../sandbox/formatter-pool.js';
import type { Clock } from '../clock.js';
import type { EventLog } from '../events/event-log.js';
import { DomainError, notFound } from '../domain-error.js';
import { DownlinkRefused, type DeliveryEvent, type SendOutcome } from '../networks/network.js';
import type { Networks } from '../networks/networks.js';
import { formatterSpec, type Profiles, type ResolvedProfile } from '../profiles.js';
import type { MessageRequest } from '../schemas/downlink.js';
import { iotdaFields } from '../iotda.js';
import type { DeviceRecord, MessageRecord, MessageStatus, Severity } from '../store/records.js';
import type { MessageState, Store } from '../store/store.js';

const PUSH_LEASE_MS = 60_000;

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

export type StatusListener = (message: MessageRecord) => Promise<void>;

/** Exponential backoff with full jitter: 1 s, 2 s, 4 s ... capped at 5 min. */
export function backoffMs(attempt: number, random: () => number = Math.random): number {
  const ceiling = Math.min(300_000, 1000 * 2 ** Math.max(0, attempt - 1));
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}

/**
 * How long a claim on due work (a retry, an expiry, a status notification) is an instance's: well
 * beyond what one attempt can take, since each is claimed right before it is done.
 */
export function claimLeaseMs(peerTimeoutMs: number): number {
  return Math.max(60_000, 3 * peerTimeoutMs);
}

/** Due messages one tick does at most (each claimed on its own, right before it is sent). */
const TICK_MAX = 500;
/** How often a report is applied again when another writer moved the message meanwhile. */
const REPORT_TRIES = 3;

/** What a conditional write of a message compares: the attempt count too, since a frozen clock repeats updatedAt. */
function stateOf(m: MessageRecord): MessageState {
  return { updatedAt: m.updatedAt, status: m.status, detail: m.detail, attempts: m.attempts };
}

/**
 * Downlink messages from request to their end: format, send through the device's network (or wait
 * until the network told us where), retry what the network could not take, follow its delivery
 * events, time out at the TTL. All state is in the store, so a restart picks up where it left off.
 */
export class DownlinkService {
  private readonly inFlight = new Set<string>();
  private readonly listeners = new Set<StatusListener>();

  constructor(
    private readonly deps: {
      store: Store;
      formatters: FormatterPool;
      profiles: Profiles;
      events: EventLog;
      clock: Clock;
      networks: Networks;
      /** See claimLeaseMs. */
      leaseMs: number;
      random?: () => number;
    },
  ) {}

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
        throw new DomainError('invalid', 'invalid_message', 'with encoding base64, message must be a non-empty base64 string');
      }
      return { ok: true, out: { frmPayload: req.message } };
    }
    const report = await this.deps.formatters.runDownlink(device.appId, formatterSpec(profile.settings), {
      payload: req.message,
      ...(fPort !== null ? { fPort } : {}),
      device: {
        id: device.id,
        app_id: device.appId,
        network: device.ids.network,
        ids: { ...device.ids },
        properties: device.properties,
        ...this.deps.networks.get(device.ids.network).formatterDevice(device),
      },
    });
    if (!report.ok || !report.output) {
      const err = report.error ?? { kind: 'contract', message: 'formatter returned nothing' };
      return { ok: false, code: 'formatter_error', message: `${err.kind}: ${err.message}${err.line ? ` (line ${err.line})` : ''}` };
    }
    return { ok: true, out: report.output };
  }

  /** Creates a message (409 if the id exists for the device) and sends it when its network can take it. */
  async create(deviceId: string, req: MessageRequest): Promise<MessageRecord> {
    const { store, profiles, clock } = this.deps;
    const device = await store.getDevice(deviceId);
    if (!device) throw notFound('device', deviceId);
    const profile = await profiles.resolve(device.appId);
    const messageId = req.message_id ?? randomUUID();
    if (await store.getMessage(deviceId, messageId)) {
      throw new DomainError('conflict', 'duplicate_message_id', `message '${messageId}' already exists for device '${deviceId}'`, { message_id: messageId });
    }
    const lastPort = (device.properties.device as { f_port?: number } | undefined)?.f_port;
    const requestedPort = req.f_port ?? profile.settings.downlink.f_port ?? (lastPort && lastPort >= 1 && lastPort <= 223 ? lastPort : null);
    const now = clock.now();
    const confirmed = req.confirmed ?? profile.settings.downlink.confirmed;
    const priority = req.priority ?? profile.settings.downlink.priority;
    const transport = this.deps.networks.get(device.ids.network).downlinks;
    const correlationId = transport.newCorrelationId();
    const message: MessageRecord = {
      deviceId,
      messageId,
      appId: device.appId,
      network: device.ids.network,
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
      request: null,
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
        throw new DomainError('invalid', 'f_port_required', 'no f_port: set f_port, a profile default, or wait for the device\'s first uplink');
      }
      if (!Number.isInteger(fPort) || fPort < 1 || fPort > 223) {
        this.finish(message, 'FAILED', 'failed', { code: 'invalid_f_port', message: `f_port ${fPort} is outside 1..223` });
      } else {
        message.fPort = fPort;
        try {
          message.request = transport.build(formatted.out, { fPort, priority, confirmed, correlationId }, device);
          // A lease: if the process dies during the first push, the scheduler retries it after a restart.
          message.nextAttemptAt = new Date(now.getTime() + PUSH_LEASE_MS).toISOString();
        } catch (err) {
          if (!(err instanceof DownlinkRefused)) throw err;
          this.finish(message, 'FAILED', 'failed', { code: err.code, message: err.message });
        }
      }
    }
    if (!(await store.insertMessage(message))) {
      throw new DomainError('conflict', 'duplicate_message_id', `message '${messageId}' already exists for device '${deviceId}'`, { message_id: messageId });
    }
    const failed = message.status === 'FAILED';
    await this.announce(message, failed ? 'error' : 'info', failed ? `Downlink failed: ${message.error?.message}` : 'Downlink created');
    if (message.status === 'PENDING') await this.attempt(message);
    return message;
  }

  /** One send attempt; updates status, schedules a retry or ends the message. */
  private async attempt(message: MessageRecord): Promise<void> {
    const key = `${message.deviceId}/${message.messageId}`;
    if (this.inFlight.has(key) || !message.request) return;
    this.inFlight.add(key);
    try {
      const device = await this.deps.store.getDevice(message.deviceId);
      const transport = this.deps.networks.get(message.network).downlinks;
      const target = device ? transport.target(device, await this.deps.profiles.resolve(device.appId), await this.deps.store.getCredentials(device.id)) : null;
      if (!target) {
        if (message.detail !== 'waiting_for_uplink' || message.nextAttemptAt !== null) {
          message.detail = 'waiting_for_uplink';
          message.nextAttemptAt = null;
          await this.save(message);
        }
        return;
      }
      // Taken before it is sent: of several instances at it (a retry claimed by one, a device's
      // credentials arriving at another), the one whose write lands sends, the others find it moved
      // on. Its next attempt moves out by a lease: a process that dies mid-push leaves it due again.
      const taken = stateOf(message);
      message.attempts += 1;
      message.nextAttemptAt = new Date(this.deps.clock.now().getTime() + this.deps.leaseMs).toISOString();
      if (!(await this.save(message, taken))) return this.reload(message);
      const before = stateOf(message);
      const outcome = await transport.send(target, message.request, { replace: message.replace });
      // The network may have reported on it while we waited for its answer (a Class C device, a
      // fast gateway; to this instance or another): that report is newer than this answer and stays,
      // so the answer is written only over the state the push started from.
      if (!(await this.applySend(message, outcome, before))) await this.reload(message);
    } finally {
      this.inFlight.delete(key);
    }
  }

  /** The stored message, for a caller (create: the API's answer) whose copy another writer overtook. */
  private async reload(message: MessageRecord): Promise<void> {
    const now = await this.deps.store.getMessage(message.deviceId, message.messageId);
    if (now) Object.assign(message, now);
  }

  /** False when the message had moved on from `before` (nothing written, nothing announced). */
  private async applySend(message: MessageRecord, outcome: SendOutcome, before: MessageState): Promise<boolean> {
    const network = this.deps.networks.get(message.network).label;
    if (outcome.ok) {
      message.detail = 'submitted';
      message.nextAttemptAt = null;
      message.error = null;
      return this.changed(message, 'info', `Downlink ${message.replace ? 'replaced queue' : 'pushed'} to ${network}`, {}, before);
    }
    const error = { code: outcome.code, message: outcome.message };
    if (outcome.maybeQueued) {
      message.detail = 'submitted';
      message.nextAttemptAt = null;
      message.error = error;
      return this.changed(message, 'warning', `${network} did not answer; the downlink waits for its delivery report or its TTL (not sent twice)`, {}, before);
    }
    if (!outcome.retryable) {
      this.finish(message, 'FAILED', 'failed', error);
      const title = outcome.code.endsWith('_url_refused') ? `Downlink not sent: ${outcome.message}` : `Downlink rejected by ${network}: ${outcome.message}`;
      return this.changed(message, 'error', title, { http_status: outcome.status }, before);
    }
    return this.retryLater(message, error, outcome.retryAfterMs, `${network} push failed`, { http_status: outcome.status }, before);
  }

  /** Back to waiting for its next attempt (backoff, or the network's own delay). */
  private async retryLater(
    message: MessageRecord,
    error: { code: string; message: string },
    retryAfterMs: number | null,
    why: string,
    extra: JsonObject = {},
    before?: MessageState,
  ): Promise<boolean> {
    const delay = retryAfterMs ?? backoffMs(message.attempts, this.deps.random);
    message.detail = 'retrying';
    message.error = error;
    message.nextAttemptAt = new Date(this.deps.clock.now().getTime() + delay).toISOString();
    return this.changed(message, 'warning', `${why}, retrying in ${Math.round(delay / 1000)} s: ${error.message}`, { ...extra, attempt: message.attempts }, before);
  }

  private finish(message: MessageRecord, status: Exclude<MessageStatus, 'PENDING'>, detail: MessageRecord['detail'], error: MessageRecord['error']): void {
    message.status = status;
    message.detail = detail;
    message.error = error;
    message.finishedAt = this.nowIso();
    message.nextAttemptAt = null;
  }

  /** With `before`, only over that state (false: another writer moved the message first). */
  private async save(message: MessageRecord, before?: MessageState): Promise<boolean> {
    message.updatedAt = this.nowIso();
    return this.deps.store.updateMessage(message, before);
  }

  /** Persists, then announces; false (and no announcement) when `before` was not the stored state any more. */
  private async changed(message: MessageRecord, severity: Severity, title: string, extra: JsonObject = {}, before?: MessageState): Promise<boolean> {
    if (!(await this.save(message, before))) return false;
    await this.announce(message, severity, title, extra);
    return true;
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

  /** The device just brought credentials: send what was waiting for them. */
  async onCredentials(deviceId: string): Promise<void> {
    const waiting = await this.deps.store.listOpenMessages({ deviceId, statuses: ['PENDING'], limit: 100 });
    const now = this.deps.clock.now().getTime();
    // A message taken for sending (by another instance the same credentials reached) has its next
    // attempt ahead: that instance sends it.
    const taken = (m: MessageRecord) => m.nextAttemptAt !== null && Date.parse(m.nextAttemptAt) > now;
    for (const m of waiting) if (m.detail === 'waiting_for_uplink' && m.request && !taken(m)) await this.attempt(m);
  }

  /**
   * Follows a network's delivery event to the message it belongs to (by our correlation id), within
   * the application the report came for: another application's token moves no message of this one.
   */
  async onDelivery(appId: string, event: DeliveryEvent, tries = REPORT_TRIES): Promise<MessageRecord | null> {
    let message: MessageRecord | null = null;
    for (const id of event.correlationIds.slice(0, 8)) {
      const found = await this.deps.store.getMessageByCorrelation(id);
      if (found && found.appId === appId) {
        message = found;
        break;
      }
    }
    if (!message || message.status !== 'PENDING') return message;
    // Written only over the state read here: two reports of one message at two instances, or a
    // report and a push's answer, must not undo each other; the one that lost reads and applies again.
    const before = stateOf(message);
    let written = true;
    const network = this.deps.networks.get(message.network).label;
    // A report on it means the network has the downlink: no push of ours is due any more. Else the
    // lease of a first push the report overtook (TTS's webhook can come before its answer, and to
    // another instance) stays due, and the scheduler would push the downlink a second time.
    if (event.kind !== 'failed') message.nextAttemptAt = null;
    switch (event.kind) {
      case 'queued':
        message.detail = 'queued';
        written = await this.changed(message, 'info', `Downlink queued by ${network}`, {}, before);
        break;
      case 'sent':
        if (message.confirmed) {
          message.detail = 'sent';
          written = await this.changed(message, 'info', 'Confirmed downlink sent, waiting for ack', {}, before);
        } else {
          this.finish(message, 'DELIVERED', 'sent', null);
          written = await this.changed(message, 'info', 'Downlink delivered (sent by gateway)', {}, before);
        }
        break;
      case 'acked':
        this.finish(message, 'DELIVERED', 'acknowledged', null);
        written = await this.changed(message, 'info', 'Downlink acknowledged by device', {}, before);
        break;
      case 'nacked':
        message.detail = 'not_acknowledged';
        written = await this.changed(message, 'warning', `Downlink not acknowledged; ${network} retries it`, {}, before);
        break;
      case 'failed': {
        const failure = event.failure ?? { code: `${message.network}_downlink_failed`, message: `${network} reported the downlink failed`, retryable: false };
        const error = { code: failure.code, message: failure.message };
        if (failure.retryable) {
          written = await this.retryLater(message, error, null, `${network} could not send the downlink`, {}, before);
        } else {
          this.finish(message, 'FAILED', 'failed', error);
          written = await this.changed(message, 'error', `Downlink failed in ${network}: ${failure.message}`, {}, before);
        }
        break;
      }
    }
    if (!written) return tries > 1 ? this.onDelivery(appId, event, tries - 1) : this.deps.store.getMessage(message.deviceId, message.messageId);
    return message;
  }

  /**
   * An uplink acknowledged the device's confirmed downlink (LoRaWAN ACK bit): the oldest confirmed
   * message the network sent and that waits for its ack is delivered. Within the application only.
   */
  async onAck(appId: string, deviceId: string, tries = REPORT_TRIES): Promise<MessageRecord | null> {
    const open = await this.deps.store.listOpenMessages({ deviceId, statuses: ['PENDING'], limit: 100 });
    // listed oldest first
    const waiting = open.find((m) => m.appId === appId && m.confirmed && m.detail === 'sent');
    if (!waiting) return null;
    const before = stateOf(waiting);
    this.finish(waiting, 'DELIVERED', 'acknowledged', null);
    if (!(await this.changed(waiting, 'info', 'Downlink acknowledged by device', {}, before))) {
      return tries > 1 ? this.onAck(appId, deviceId, tries - 1) : null;
    }
    return waiting;
  }

  /**
   * Due retries and TTL expiries; called by the scheduler (and by tests with a moved clock). Each
   * is claimed with a lease right before it is done, so of several instances one does it; an
   * instance that dies holding a claim leaves it to the others when the lease ends.
   */
  async tick(): Promise<void> {
    const now = this.deps.clock.now();
    for (let n = 0; n < TICK_MAX; n++) {
      const leaseUntil = new Date(this.deps.clock.now().getTime() + this.deps.leaseMs).toISOString();
      const [m] = await this.deps.store.claimDueMessages({ dueBefore: now.toISOString(), leaseUntil, limit: 1 });
      if (!m) return;
      if (Date.parse(m.expiresAt) <= now.getTime()) {
        const before = stateOf(m);
        this.finish(m, 'TIMEOUT', 'expired', m.error);
        // a report that came meanwhile (to another instance) wins over the expiry
        await this.changed(m, 'warning', `Downlink timed out after ${m.ttlMin} min (${m.attempts} attempts)`, {}, before);
      } else if (m.nextAttemptAt && Date.parse(m.nextAttemptAt) <= now.getTime()) {
        await this.attempt(m);
      }
    }
  }

  /** Empties the device's downlink queue on its network. */
  async clearQueue(deviceId: string): Promise<SendOutcome> {
    const device = await this.deps.store.getDevice(deviceId);
    if (!device) throw notFound('device', deviceId);
    const network = this.deps.networks.get(device.ids.network);
    const target = network.downlinks.target(device, await this.deps.profiles.resolve(device.appId), await this.deps.store.getCredentials(deviceId));
    if (!target) {
      const why = network.needsReportedCredentials
        ? `${network.label} has not sent this device's downlink URLs yet; wait for its next uplink`
        : `the device's profile has no ${network.label} connection to send with`;
      throw new DomainError('conflict', 'no_downlink_url', why);
    }
    const outcome = await network.downlinks.clear(target, device);
    await this.deps.events.record({
      appId: device.appId,
      deviceId,
      category: 'downlink',
      severity: outcome.ok ? 'info' : 'error',
      title: outcome.ok ? `${network.label} downlink queue cleared` : `Clearing the ${network.label} queue failed: ${outcome.message}`,
      details: outcome.ok ? {} : { code: outcome.code, http_status: outcome.status },
    });
    return outcome;
  }
}
