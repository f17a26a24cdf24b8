import { randomUUID } from 'node:crypto';
import type { JsonObject } from '../formatters/contract.js';
import type { MessageRequest } from './schemas/downlink.js';
import type { MessageRecord } from './store/records.js';

/**
 * Huawei Cloud IoTDA's shapes (reference B), in one place: its time format, the device message
 * resource, CreateMessage's answer, the `device.message.status` notification and its error body.
 * The message API (`/api/devices/{id}/messages`, `/v5/iot/…`) and the notifier speak these.
 */

/** IoTDA time format: yyyyMMdd'T'HHmmss'Z'. */
export function iotdaTime(iso: string | null): string | null {
  if (!iso) return null;
  return iso.replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
}

/** The IoTDA fields a caller sent that LoRaWAN has no use for (payload_format, topics, properties), kept to be echoed. */
export function iotdaFields(req: MessageRequest): JsonObject | null {
  const { payload_format, topic, topic_full_name, properties } = req;
  const fields: JsonObject = {
    ...(payload_format ? { payload_format } : {}),
    ...(topic ? { topic } : {}),
    ...(topic_full_name ? { topic_full_name } : {}),
    ...(properties ? { properties } : {}),
  };
  return Object.keys(fields).length ? fields : null;
}

/** ShowDeviceMessage / ListDeviceMessages item. */
export function iotdaMessage(m: MessageRecord): JsonObject {
  return {
    message_id: m.messageId,
    name: m.name,
    message: m.message,
    encoding: m.encoding,
    payload_format: (m.iotda?.payload_format as string | undefined) ?? 'standard',
    topic: (m.iotda?.topic as string | undefined) ?? null,
    properties: m.iotda?.properties ?? null,
    status: m.status,
    ...(m.error ? { error_info: { error_code: m.error.code, error_msg: m.error.message } } : {}),
    created_time: iotdaTime(m.createdAt),
    finished_time: iotdaTime(m.finishedAt),
  };
}

/** CreateMessage's answer (201); `extra` adds what our own API tells besides (detail, error). */
export function iotdaCreated(m: MessageRecord, extra: JsonObject = {}): JsonObject {
  return {
    message_id: m.messageId,
    result: { status: m.status, ...extra, created_time: iotdaTime(m.createdAt), finished_time: iotdaTime(m.finishedAt) },
  };
}

/** IoTDA `device.message.status` notification (V5 shape) for a message's current status. */
export function statusNotification(m: MessageRecord, now: Date): JsonObject {
  return {
    resource: 'device.message.status',
    event: 'update',
    event_time: iotdaTime(now.toISOString()),
    event_time_ms: now.toISOString(),
    request_id: randomUUID(),
    notify_data: {
      header: { app_id: m.appId, device_id: m.deviceId },
      body: {
        message_id: m.messageId,
        ...(m.name ? { name: m.name } : {}),
        status: m.status,
        timestamp: iotdaTime(m.updatedAt),
      },
    },
  };
}

/** IoTDA's `{"error_code","error_msg"}` (reference B.4); a duplicate message id has no documented code, so it is invalid input. */
export function iotdaError(err: { status: number; code: string; message: string; details: Record<string, unknown> }): JsonObject {
  let code = 'IOTDA.000006';
  if (err.status === 401) code = 'APIGW.0301';
  else if (err.code === 'invalid_json' || err.status === 415) code = 'IOTDA.000008';
  else if (err.status === 404 && err.details.device !== undefined) code = 'IOTDA.014000';
  else if (err.status === 404) code = 'IOTDA.000013';
  else if (err.status >= 500) code = 'IOTDA.000001';
  return { error_code: code, error_msg: err.message };
}
