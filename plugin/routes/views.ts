import type { Suspension } from '../../sandbox/circuit-breaker.js';
import type { JsonObject } from '../../formatters/contract.js';
import { iotdaTime } from '../iotda.js';
import { isConnected } from '../provisioning.js';
import type { ThingparkSettings } from '../networks/thingpark/settings.js';
import type { ProfileSettings } from '../schemas/profile.js';
import type { BucketRecord, DeadLetter, DeviceRecord, EventRecord, MessageRecord } from '../store/records.js';

/** API representations (snake_case). Secrets are never part of any of them. */

/**
 * A profile with the suspensions of the formatters it runs: its application's, or for Default,
 * those of applications without a profile of their own.
 */
export function profileView(
  appId: string,
  p: { settings: ProfileSettings; createdAt: string; updatedAt: string; formatterVersion?: number },
  suspensions: readonly Suspension[] = [],
): JsonObject {
  const { thingpark, tts_mqtt: ttsMqtt, ...settings } = p.settings;
  return {
    app_id: appId,
    ...settings,
    // The AS key and the MQTT password are write-only: whether one is set, never what it is.
    ...(thingpark ? { thingpark: thingparkView(thingpark) } : {}),
    ...(ttsMqtt ? { tts_mqtt: { enabled: ttsMqtt.enabled, url: ttsMqtt.url, username: ttsMqtt.username, ca: ttsMqtt.ca, password_set: Boolean(ttsMqtt.password) } } : {}),
    ...(p.formatterVersion !== undefined ? { formatter_version: p.formatterVersion } : {}),
    created_at: p.createdAt,
    updated_at: p.updatedAt,
    formatter_suspensions: suspensions.map((s) => ({
      app_id: s.appId,
      suspended_until: new Date(s.until).toISOString(),
      failures: s.failures,
      kills: s.kills,
      last_error: { ...s.lastError },
    })),
  };
}

/** A ThingPark connection; `transport` only when set (profiles stored before MQTT have none and are HTTP). */
function thingparkView(tp: ThingparkSettings): JsonObject {
  const { mqtt } = tp;
  return {
    as_id: tp.as_id,
    ...(tp.transport ? { transport: tp.transport } : {}),
    ...(tp.downlink_url !== undefined ? { downlink_url: tp.downlink_url } : {}),
    max_clock_skew_s: tp.max_clock_skew_s,
    as_key_set: Boolean(tp.as_key),
    ...(mqtt
      ? { mqtt: { url: mqtt.url, username: mqtt.username, ca: mqtt.ca, uplink_topic: mqtt.uplink_topic, downlink_topic: mqtt.downlink_topic, password_set: Boolean(mqtt.password) } }
      : {}),
  };
}

/** `downlinkReady`: a downlink would have somewhere to go now. */
export function deviceView(d: DeviceRecord, now: Date, downlinkReady: boolean): JsonObject {
  return {
    id: d.id,
    app_id: d.appId,
    network: d.ids.network,
    ids: { ...d.ids },
    asset_type: d.assetType,
    asset_group: d.assetGroup,
    bucket_id: d.bucketId,
    connection_timeout_min: d.connectionTimeoutMin,
    created_at: d.createdAt,
    last_seen_at: d.lastSeenAt,
    connected: isConnected(d, now),
    properties: { downlink: {}, ...d.properties },
    downlink_ready: downlinkReady,
  };
}

export function bucketView(b: BucketRecord): JsonObject {
  return { id: b.id, device_id: b.deviceId, app_id: b.appId, created_at: b.createdAt, rows: b.rows, last_ts: b.lastTs };
}

export function eventView(e: EventRecord): JsonObject {
  return {
    id: e.id,
    ts: e.ts,
    app_id: e.appId,
    device_id: e.deviceId,
    category: e.category,
    severity: e.severity,
    title: e.title,
    details: e.details,
  };
}

export function deadLetterView(d: DeadLetter): JsonObject {
  return {
    id: d.id,
    app_id: d.appId,
    device_id: d.deviceId,
    reason: d.reason,
    error: d.error,
    network: d.network,
    created_at: d.createdAt,
    replayed_at: d.replayedAt,
    body: d.body,
  };
}

export function messageView(m: MessageRecord): JsonObject {
  return {
    message_id: m.messageId,
    device_id: m.deviceId,
    app_id: m.appId,
    network: m.network,
    name: m.name,
    message: m.message,
    encoding: m.encoding,
    ttl: m.ttlMin,
    f_port: m.fPort,
    confirmed: m.confirmed,
    priority: m.priority,
    replace: m.replace,
    status: m.status,
    detail: m.detail,
    ...(m.error ? { error: m.error } : {}),
    correlation_id: m.correlationId,
    attempts: m.attempts,
    next_attempt_time: iotdaTime(m.nextAttemptAt),
    created_time: iotdaTime(m.createdAt),
    finished_time: iotdaTime(m.finishedAt),
    request: m.request,
  };
}
