import type { ProfileSettings } from './schemas/profile.js';
import type { DeviceIds } from './networks/network-ids.js';
import type { DeviceRecord } from './store/records.js';

export interface DeviceIdentity {
  deviceId: string;
  bucketId: string;
}

/** Device id = prefix + DevEUI (or the network's device id, by profile; that one when there is no EUI). */
export function deviceIdentity(uplink: ProfileSettings['uplink'], ids: DeviceIds): DeviceIdentity {
  const suffix = uplink.device_id_source === 'dev_eui' && ids.dev_eui ? ids.dev_eui : ids.network_device_id;
  return { deviceId: uplink.device_id_prefix + suffix, bucketId: uplink.bucket_id_prefix + suffix };
}

/** The device record (and bucket) auto-provisioning creates, following the profile. */
export function provisionDevice(
  settings: ProfileSettings,
  identity: DeviceIdentity,
  appId: string,
  ids: DeviceIds,
  now: string,
): { device: Omit<DeviceRecord, 'downlinkReady'>; bucket: { id: string; deviceId: string; appId: string } | null } {
  const withBucket = settings.uplink.auto_provision_bucket;
  return {
    device: {
      id: identity.deviceId,
      appId,
      ids,
      assetType: settings.uplink.asset_type,
      assetGroup: settings.uplink.asset_group,
      connectionTimeoutMin: settings.uplink.connection_timeout_min,
      bucketId: withBucket ? identity.bucketId : null,
      createdAt: now,
      lastSeenAt: null,
      properties: { downlink: settings.uplink.initial_downlink },
    },
    bucket: withBucket ? { id: identity.bucketId, deviceId: identity.deviceId, appId } : null,
  };
}

/** `connected` = seen within the device's connection timeout. */
export function isConnected(device: Pick<DeviceRecord, 'lastSeenAt' | 'connectionTimeoutMin'>, now: Date): boolean {
  if (!device.lastSeenAt) return false;
  return now.getTime() - Date.parse(device.lastSeenAt) <= device.connectionTimeoutMin * 60_000;
}
