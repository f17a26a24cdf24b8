/** The networks and how a device is named on one: shared by the store, the schemas and the UI (no Node types here). */

export const NETWORKS = ['tts', 'thingpark'] as const;
export type NetworkName = (typeof NETWORKS)[number];

/** Who a device is on its network. `network_device_id` is the network's own device name (TTS device_id, ThingPark DevEUI). */
export interface DeviceIds {
  network: NetworkName;
  /** The application on that network: the profile's app id. */
  app_id: string;
  network_device_id: string;
  dev_eui?: string;
  join_eui?: string;
  dev_addr?: string;
}
