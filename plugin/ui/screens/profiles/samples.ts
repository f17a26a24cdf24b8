import type { JsonObject, NetworkName } from '../../api/types.js';

/**
 * Prefilled test inputs: a realistic TTS uplink webhook body (as TTS posts it) whose 4-byte
 * frm_payload matches the templates' layout (23.45 °C, 41 %), the same bytes as a ThingPark
 * DevEUI_uplink report (JSON content type), and a downlink for the same device.
 */
export const SAMPLE_UPLINK: JsonObject = {
  end_device_ids: {
    device_id: 'eui-70b3d57ed0051a2b',
    application_ids: { application_id: 'greenhouse-app' },
    dev_eui: '70B3D57ED0051A2B',
    join_eui: '0000000000000000',
    dev_addr: '260B1E42',
  },
  correlation_ids: ['gs:uplink:01JRZ767CVCHBZW1Y8YG9PZ3TS'],
  received_at: '2025-04-16T11:54:13.995136483Z',
  uplink_message: {
    session_key_id: 'AZYXq2zOLm1t4Yh3N8Cj6w==',
    f_port: 2,
    f_cnt: 1423,
    frm_payload: 'CSkQBA==',
    rx_metadata: [
      {
        gateway_ids: { gateway_id: 'gw-roof-01', eui: 'B827EBFFFE61A3C2' },
        time: '2025-04-16T11:54:13.697237014Z',
        rssi: -87,
        channel_rssi: -87,
        snr: 7.25,
        location: { latitude: 52.37403, longitude: 4.88969, altitude: 12, source: 'SOURCE_REGISTRY' },
        received_at: '2025-04-16T11:54:13.758247461Z',
      },
    ],
    settings: {
      data_rate: { lora: { bandwidth: 125000, spreading_factor: 7, coding_rate: '4/5' } },
      frequency: '867700000',
      time: '2025-04-16T11:54:13.697237014Z',
    },
    received_at: '2025-04-16T11:54:13.787593298Z',
    consumed_airtime: '0.061696s',
    version_ids: { brand_id: 'dragino', model_id: 'lht65', hardware_version: '_unknown_hw_version_', firmware_version: '1.8', band_id: 'EU_863_870' },
    network_ids: { net_id: '000013', tenant_id: 'ttn', cluster_id: 'eu1', cluster_address: 'eu1.cloud.thethings.network' },
  },
};

export const SAMPLE_UPLINK_THINGPARK: JsonObject = {
  DevEUI_uplink: {
    Time: '2025-04-16T11:54:13.995+00:00',
    DevEUI: '70B3D57ED0051A2B',
    FPort: 2,
    FCntUp: 1423,
    FCntDn: 12,
    payload_hex: '09291004',
    mic_hex: '5e1c2a9f',
    Lrcid: '00000201',
    LrrRSSI: -87,
    LrrSNR: 7.25,
    SpFact: 7,
    SubBand: 'G1',
    Channel: 'LC3',
    DevLrrCnt: 1,
    Lrrid: 'FF0109A4',
    Late: 0,
    Lrrs: { Lrr: [{ Lrrid: 'FF0109A4', Chain: 0, LrrRSSI: -87, LrrSNR: 7.25, LrrESP: -87.8 }] },
    DevAddr: '260B1E42',
    AckRequested: 0,
    TxPower: 14,
    NbTrans: 1,
    DynamicClass: 'A',
  },
};

/** The sample uplink in the form the profile's network sends. */
export const SAMPLE_UPLINKS: Record<NetworkName, JsonObject> = { tts: SAMPLE_UPLINK, thingpark: SAMPLE_UPLINK_THINGPARK };

export const SAMPLE_DOWNLINK: JsonObject = { enabled: true, frequency: 600, threshold: 30 };
