import { LRUCache } from 'lru-cache';
import type { JsonObject, Normalized, RunReport, UplinkCall, UplinkReport } from '../../formatters/contract.js';
import { MAX_MEASUREMENT_VALUES, quantityValues } from '../../formatters/normalized-payload.js';
import type { FormatterPool } from '../../sandbox/formatter-pool.js';
import type { Clock } from '../clock.js';
import type { EventLog } from '../events/event-log.js';
import type { Credentials, NeutralUplink } from '../networks/network.js';
import { formatterSpec, type ResolvedProfile } from '../profiles.js';
import { deviceIdentity, provisionDevice } from '../provisioning.js';
import { OwnedElsewhere } from '../store/errors.js';
import { uplinkFingerprint } from '../store/recent-uplinks.js';
import type { DeadLetter, EventInput, RecentUplink } from '../store/records.js';
import type { MeasurementWrite, Store, UplinkWrite } from '../store/store.js';

export type UplinkStatus = 'stored' | 'duplicate' | 'dead_letter';

export interface UplinkOutcome {
  status: UplinkStatus;
  deviceId: string;
  deadLetterId: number | null;
  /** True when this uplink brought downlink credentials the device did not have. */
  credentialsChanged: boolean;
}

interface KnownDevice {
  appId: string;
  bucketId: string | null;
  /** Last credentials written, to skip rewriting identical ones on every uplink. */
  credentials: Credentials | null;
}

/** Input of one uplink run; `replayOf` is set when a dead letter is replayed. */
export interface UplinkInput {
  uplink: NeutralUplink;
  profile: ResolvedProfile;
  credentials: Credentials | null;
  replayOf?: number;
}

/**
 * profile -> formatter -> provision -> one durable write -> events.
 * A failing formatter or a device that may not be used ends in a dead letter, never lost.
 */
export class UplinkPipeline {
  /**
   * Only a cache: the store decides (device creation is idempotent, see commitUplink). Sized for the
   * devices that send often; lru-cache allocates its arrays for `max` up front (200k cost 9 MB).
   */
  private readonly devices = new LRUCache<string, KnownDevice>({ max: 20_000, ttl: 60_000 });
  /** Since start, for GET /metrics (plugin/metrics/): outcomes, and formatter runs by result (ok or the error kind). Plain numbers: nothing allocated per uplink. */
  readonly counts = { outcome: { stored: 0, duplicate: 0, dead_letter: 0 }, formatter: { ok: 0, syntax: 0, runtime: 0, timeout: 0, memory: 0, contract: 0, limit: 0, crash: 0, suspended: 0 } };

  constructor(private readonly deps: { store: Store; formatters: FormatterPool; events: EventLog; clock: Clock }) {}

  /**
   * Bumped whenever devices are forgotten: an uplink that was in flight meanwhile must not put back
   * what it knew from before (a device another instance deleted would look known again).
   */
  private generation = 0;

  forgetDevice(deviceId: string): void {
    this.devices.delete(deviceId);
    this.generation++;
  }

  forgetDevices(): void {
    this.devices.clear();
    this.generation++;
  }

  private async knownDevice(id: string): Promise<KnownDevice | null> {
    const hit = this.devices.get(id);
    if (hit) return hit;
    const generation = this.generation;
    const device = await this.deps.store.getDevice(id);
    if (!device) return null;
    const known: KnownDevice = { appId: device.appId, bucketId: device.bucketId, credentials: null };
    if (this.generation === generation) this.devices.set(id, known);
    return known;
  }

  async handle(input: UplinkInput): Promise<UplinkOutcome> {
    return this.handleOnce(input).catch((err: unknown) => {
      if (!(err instanceof OwnedElsewhere)) throw err;
      // Another application's first uplink of the device (or bucket) id provisioned it while this one
      // ran: written nothing, this uplink is now a conflict, dead-lettered as one (with the owner
      // read again). Once: another such race fails it, and the network sends it again.
      this.forgetDevice(deviceIdentity(input.profile.settings.uplink, input.uplink.ids).deviceId);
      return this.handleOnce(input);
    });
  }

  private async handleOnce(input: UplinkInput): Promise<UplinkOutcome> {
    const { formatters, clock } = this.deps;
    const { profile } = input;
    const settings = profile.settings;
    const up = input.uplink;
    // Parsed once: TTS times carry nanoseconds, which take V8's slow date parser.
    const receivedMs = timeMs(up.receivedAt, clock.now());
    const { deviceId, bucketId } = deviceIdentity(settings.uplink, up.ids);
    // A resend is the same uplink again; without f_cnt nothing tells one from new data.
    const dedupe = up.fCnt === null ? null : { deviceId, sessionKeyId: up.session, fCnt: up.fCnt, ...uplinkKeys(up) };
    const base = { appId: profile.appId, deviceId };
    const replay = input.replayOf !== undefined;

    const events: EventInput[] = [];
    const write: UplinkWrite = {
      dedupe: replay ? null : dedupe,
      newDevice: null,
      provisionEvents: [],
      newBucket: null,
      bucketRow: null,
      deadLetter: null,
      resolvesDeadLetter: input.replayOf ?? null,
      deviceSeen: null,
      credentials: null,
      recent: null,
      events,
    };
    const deadLetter = (reason: string, error: JsonObject): Omit<DeadLetter, 'id' | 'replayedAt' | 'createdAt'> => ({
      ...base,
      reason,
      error,
      network: up.ids.network,
      body: up.report,
    });

    const generation = this.generation;
    let known = await this.knownDevice(deviceId);
    if (!known && !settings.uplink.auto_provision) {
      write.deadLetter = deadLetter('device_not_provisioned', {
        message: `device '${deviceId}' does not exist and auto-provisioning is off`,
      });
      events.push({ ...base, category: 'provisioning', severity: 'warning', title: 'Uplink from unknown device kept as dead letter', details: { f_cnt: up.fCnt } });
      return this.commit(write, deviceId, null, null);
    }
    if (known && known.appId !== profile.appId) {
      // TTS device ids are unique per application only; never mix two applications' data (nor their dedupe windows).
      write.dedupe = null;
      write.deadLetter = deadLetter('device_id_conflict', {
        message: `device '${deviceId}' belongs to application '${known.appId}'; give the profiles distinct id prefixes`,
      });
      events.push({ ...base, category: 'provisioning', severity: 'error', title: `Device id '${deviceId}' already belongs to '${known.appId}'`, details: { f_cnt: up.fCnt } });
      return this.commit(write, deviceId, null, null);
    }
    if (!known && settings.uplink.auto_provision_bucket) {
      // A bucket outlives its device: one left by another application's deleted device is not this one's.
      const bucket = await this.deps.store.getBucket(bucketId);
      if (bucket && bucket.appId !== profile.appId) {
        write.dedupe = null;
        write.deadLetter = deadLetter('bucket_id_conflict', {
          message: `bucket '${bucketId}' belongs to application '${bucket.appId}'; give the profiles distinct bucket prefixes, or delete that bucket`,
        });
        events.push({ ...base, category: 'provisioning', severity: 'error', title: `Bucket id '${bucketId}' already belongs to '${bucket.appId}'`, details: { f_cnt: up.fCnt } });
        return this.commit(write, deviceId, null, null);
      }
    }
    if (!known) {
      const created = provisionDevice(settings, { deviceId, bucketId }, profile.appId, up.ids, clock.now().toISOString());
      write.newDevice = created.device;
      write.newBucket = created.bucket;
      write.provisionEvents.push({
        ...base,
        category: 'provisioning',
        severity: 'info',
        title: 'Device provisioned',
        details: { profile: profile.profileId, bucket_id: created.device.bucketId, network: up.ids.network, network_device_id: up.ids.network_device_id },
      });
      known = { appId: profile.appId, bucketId: created.device.bucketId, credentials: null };
    }

    const report = up.normalizedOnly ? measurementOnly(up) : await formatters.runUplink(profile.appId, formatterSpec(settings), formatterCall(up));
    if (!up.normalizedOnly) this.counts.formatter[report.ok && report.output ? 'ok' : (report.error?.kind ?? 'contract')]++;
    const version = { formatter_version: profile.formatterVersion };
    if (report.ok && report.output) {
      const normalized = up.normalized ?? report.normalized;
      if (known.bucketId) {
        write.bucketRow = { bucketId: known.bucketId, tsMs: receivedMs, data: report.output };
        if (normalized && normalized.measurements.length > 0) {
          write.bucketRow.normalized = normalized.measurements;
          write.bucketRow.measurements = measurementRows(normalized, { appId: profile.appId, deviceId }, receivedMs);
        }
      }
      events.push({
        ...base,
        category: 'uplink',
        severity: report.warnings.length || normalized?.warnings.length || normalized?.error ? 'warning' : 'info',
        title: known.bucketId ? 'Uplink stored' : 'Uplink processed (device has no bucket)',
        details: { ...uplinkDetails(up, report), ...normalizedDetails(normalized), ...version },
      });
      write.recent = recentUplink(up, input, deviceId, { data: report.output });
    } else {
      const error = { ...(report.error ?? { kind: 'contract', message: 'formatter returned nothing' }), ...version };
      // A suspended formatter did not run: the uplink waits, replayable, for the fix.
      write.deadLetter = deadLetter(error.kind === 'suspended' ? 'suspended' : 'formatter_error', error);
      events.push({
        ...base,
        category: 'formatter',
        severity: 'error',
        title:
          error.kind === 'suspended'
            ? 'Uplink kept as dead letter: formatter suspended'
            : `Uplink formatter failed: ${error.message}${error.line ? ` (line ${error.line})` : ''}`,
        details: { ...uplinkDetails(up, report), error },
      });
      write.recent = recentUplink(up, input, deviceId, { error });
    }

    write.deviceSeen = {
      id: deviceId,
      lastSeenAt: new Date(receivedMs).toISOString(),
      state: { ...up.ids, f_port: up.fPort, f_cnt: up.fCnt, last_seen: up.receivedAt },
      properties: this.seenProperties(up, settings),
    };
    const credentials = input.credentials;
    if (credentials && !sameCredentials(credentials, known.credentials)) write.credentials = { deviceId, value: credentials };
    return this.commit(write, deviceId, known, credentials, generation);
  }

  private duplicate(deviceId: string): UplinkOutcome {
    return { status: 'duplicate', deviceId, deadLetterId: null, credentialsChanged: false };
  }

  /** Location and metadata, when the profile keeps them. */
  private seenProperties(up: NeutralUplink, settings: ResolvedProfile['settings']): Record<string, unknown> {
    const props: Record<string, unknown> = {};
    if (settings.uplink.update_location && up.location) props.location = up.location;
    if (settings.uplink.save_metadata) props.metadata = up.radio ?? {};
    return props;
  }

  /** `generation`: this.generation when the uplink began (see forgetDevices). */
  private commit(write: UplinkWrite, deviceId: string, known: KnownDevice | null, credentials: Credentials | null, generation = this.generation): Promise<UplinkOutcome> {
    // Only what the answer needs waits for the sync, not the write itself (see WebhookHandler).
    const credentialsChanged = write.credentials !== null;
    return this.deps.store.commitUplink(write).then((result) => {
      this.counts.outcome[result.duplicate ? 'duplicate' : result.deadLetterId !== null ? 'dead_letter' : 'stored']++;
      if (result.duplicate) return this.duplicate(deviceId);
      if (known && this.generation === generation) this.devices.set(deviceId, { ...known, credentials: credentials ?? known.credentials });
      this.deps.events.publish(result.events);
      return {
        status: result.deadLetterId !== null ? 'dead_letter' : 'stored',
        deviceId,
        deadLetterId: result.deadLetterId,
        credentialsChanged,
      };
    });
  }
}

/** Credentials are flat objects of strings (their network's own): equal when every field is. */
/**
 * Milliseconds of an RFC 3339 time. A leap second (…:60, which the schema's date-time allows and
 * Date cannot hold) counts as the last millisecond before it; what does not parse at all, as now.
 */
function timeMs(text: string, now: Date): number {
  const ms = Date.parse(text);
  if (Number.isFinite(ms)) return ms;
  const leap = Date.parse(text.replace(/:60(?:\.\d+)?(?=Z|[+-]\d\d:?\d\d$)/i, ':59.999'));
  return Number.isFinite(leap) ? leap : now.getTime();
}

/** What an uplink formatter is given of an uplink, whatever its network (also the test tool's). */
export function formatterCall(up: NeutralUplink): UplinkCall {
  return {
    bytes: up.bytes,
    fPort: up.fPort,
    ...(up.decodedPayload ? { decodedPayload: up.decodedPayload } : {}),
    receivedAt: up.receivedAt,
    message: up.report,
    ...(up.reportJson ? { messageJson: up.reportJson } : {}),
    ...(up.normalized ? { networkNormalized: true } : {}),
  };
}

/**
 * A report that is one normalized measurement (TTS `uplink_normalized`): no formatter runs, the
 * measurement as sent is the row's data (also the test tool's).
 */
export function measurementOnly(up: NeutralUplink): UplinkReport {
  return { ok: true, output: up.decodedPayload ?? {}, logs: [], warnings: [], durationMs: 0 };
}

/**
 * Dedupe keys of an uplink. A normalized measurement is told apart from the other measurements of
 * its uplink by its content, and is a duplicate once its uplink was stored (which carried it).
 */
function uplinkKeys(up: NeutralUplink): { payload: string; alsoSeenAs?: string } {
  const whole = uplinkFingerprint(up.fPort, up.payload);
  if (!up.normalizedOnly) return { payload: whole };
  return { payload: uplinkFingerprint(up.fPort, `normalized:${JSON.stringify(up.decodedPayload ?? {})}`), alsoSeenAs: whole };
}

/** Reports larger than this are not kept in the ring of recent uplinks (a TTS uplink is 2-4 KB). */
const MAX_RECENT_REPORT_CHARS = 64 * 1024;

/**
 * The uplink for its application's ring of recent traffic, as it arrived, with what became of it.
 * Not for replays (old traffic again) nor reports that are a measurement only (no formatter input).
 */
function recentUplink(up: NeutralUplink, input: UplinkInput, deviceId: string, outcome: RecentUplink['outcome']): UplinkWrite['recent'] {
  if (input.replayOf !== undefined || up.normalizedOnly) return null;
  const report = up.reportJson ?? JSON.stringify(up.report);
  if (report.length > MAX_RECENT_REPORT_CHARS) return null;
  return {
    appId: input.profile.appId,
    deviceId,
    network: up.ids.network,
    receivedAt: up.receivedAt,
    report,
    outcome,
    formatterVersion: input.profile.formatterVersion,
  };
}

/**
 * One row per quantity value, at the measurement's own time when it has one; at most
 * MAX_MEASUREMENT_VALUES, so no uplink writes more than that many index rows (the rest are in `normalized`).
 */
function measurementRows(normalized: Normalized, owner: { appId: string; deviceId: string }, receivedMs: number): MeasurementWrite[] {
  const rows = normalized.measurements.flatMap((m) => {
    const tsMs = typeof m.time === 'string' ? Date.parse(m.time) : receivedMs;
    return quantityValues(m).map(({ quantity, value }) => ({ ...owner, quantity, tsMs, value }));
  });
  if (rows.length <= MAX_MEASUREMENT_VALUES) return rows;
  normalized.warnings.push(`${rows.length - MAX_MEASUREMENT_VALUES} values after the first ${MAX_MEASUREMENT_VALUES} are kept on the row only, not in /api/measurements`);
  return rows.slice(0, MAX_MEASUREMENT_VALUES);
}

function normalizedDetails(normalized: Normalized | undefined): JsonObject {
  if (!normalized) return {};
  return {
    ...(normalized.measurements.length ? { normalized: normalized.measurements } : {}),
    ...(normalized.warnings.length ? { normalized_warnings: normalized.warnings } : {}),
    ...(normalized.error ? { normalized_error: { ...normalized.error } } : {}),
  };
}

/** Credentials are flat objects of strings (their network's own): equal when every field is. */
function sameCredentials(a: Credentials, b: Credentials | null): boolean {
  if (b === null) return false;
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((k) => a[k] === b[k]);
}

function uplinkDetails(up: NeutralUplink, report: RunReport<JsonObject>): JsonObject {
  return {
    f_port: up.fPort,
    f_cnt: up.fCnt,
    received_at: up.receivedAt,
    duration_ms: Math.round(report.durationMs * 1000) / 1000,
    ...(report.output ? { data: report.output } : {}),
    ...(report.warnings.length ? { warnings: report.warnings } : {}),
    ...(report.logs.length ? { logs: report.logs.map((l) => ({ ...l })) } : {}),
  };
}
