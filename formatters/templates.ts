/**
 * Starting scripts for the payload editor (GET /api/formatters/templates). The README and the UI
 * show these exact texts, and test/sandbox/thinger.test.ts runs them.
 *
 * Payload layout used throughout, 4 bytes:
 *   uplink   temperature int16 BE (0.01 °C), humidity uint16 BE (0.01 %)
 *   downlink enabled uint8 (0/1), frequency uint16 BE (seconds), threshold uint8
 */
import type { FormatterType } from './contract.js';

export interface FormatterTemplate {
  id: string;
  name: string;
  description: string;
  type: FormatterType;
  script: string;
}

const THINGER_TEMPERATURE_HUMIDITY = `// Thinger style. Uplink: payload is the base64 frm_payload.
module.exports.uplink = function (payload) {
  const b = Buffer.from(payload, 'base64');
  return {
    temperature: b.readInt16BE(0) / 100,
    humidity: b.readUInt16BE(2) / 100
  };
};

// Downlink: payload is the JSON you send; return base64 bytes.
module.exports.downlink = function (payload) {
  const b = Buffer.alloc(4);
  b.writeUInt8(payload.enabled ? 1 : 0, 0);
  b.writeUInt16BE(payload.frequency, 1);
  b.writeUInt8(payload.threshold, 3);
  return b.toString('base64');
};
`;

const THINGER_DECODED_PAYLOAD = `// Thinger style, reusing TTS decoding. When the device's TTS formatter already decoded the
// uplink, payload is that decoded_payload object; otherwise it is the base64 frm_payload.
// message is the whole TTS uplink message.
module.exports.uplink = function (payload, message) {
  if (typeof payload === 'object') {
    return { temperature: payload.temperature, humidity: payload.humidity, decodedBy: 'tts' };
  }
  const b = Buffer.from(payload, 'base64');
  return {
    temperature: b.readInt16BE(0) / 100,
    humidity: b.readUInt16BE(2) / 100,
    fPort: message.uplink_message.f_port,
    decodedBy: 'script'
  };
};

// Downlink on a chosen port: return { f_port, payload } with a base64 payload.
module.exports.downlink = function (payload) {
  const b = Buffer.from([payload.enabled ? 1 : 0, payload.frequency >> 8, payload.frequency & 0xff, payload.threshold]);
  return { f_port: 10, payload: b.toString('base64') };
};
`;

const TTS_TEMPERATURE_HUMIDITY = `// The Things Stack style (the same functions as in a TTS device repository codec).
function decodeUplink(input) {
  if (input.bytes.length < 4) {
    return { errors: ['expected 4 bytes, got ' + input.bytes.length] };
  }
  var raw = (input.bytes[0] << 8) | input.bytes[1];
  return {
    data: {
      temperature: (raw > 0x7fff ? raw - 0x10000 : raw) / 100,
      humidity: ((input.bytes[2] << 8) | input.bytes[3]) / 100
    }
  };
}

function encodeDownlink(input) {
  var f = input.data.frequency;
  if (typeof f !== 'number' || f < 0 || f > 65535) {
    return { errors: ['frequency must be 0..65535'] };
  }
  return {
    bytes: [input.data.enabled ? 1 : 0, f >> 8, f & 0xff, input.data.threshold & 0xff],
    fPort: 10
  };
}

function decodeDownlink(input) {
  return {
    data: {
      enabled: input.bytes[0] === 1,
      frequency: (input.bytes[1] << 8) | input.bytes[2],
      threshold: input.bytes[3]
    }
  };
}
`;

export const TEMPLATES: readonly FormatterTemplate[] = [
  {
    id: 'thinger-temperature-humidity',
    name: 'Temperature and humidity (Thinger style)',
    description: 'Decodes a 4-byte temperature/humidity uplink and encodes an enabled/frequency/threshold downlink with Buffer.',
    type: 'javascript',
    script: THINGER_TEMPERATURE_HUMIDITY,
  },
  {
    id: 'thinger-decoded-payload',
    name: 'Reuse TTS decoding (Thinger style)',
    description: "Uses TTS's decoded_payload when present, else decodes frm_payload; downlink on a chosen f_port.",
    type: 'javascript',
    script: THINGER_DECODED_PAYLOAD,
  },
  {
    id: 'tts-temperature-humidity',
    name: 'Temperature and humidity (TTS style)',
    description: 'decodeUplink / encodeDownlink / decodeDownlink as in The Things Stack device repository.',
    type: 'javascript',
    script: TTS_TEMPERATURE_HUMIDITY,
  },
  {
    id: 'cayennelpp',
    name: 'Cayenne LPP',
    description: 'Built-in Cayenne LPP decoding (keys like temperature_3) and value_N downlinks.',
    type: 'cayennelpp',
    script: '',
  },
  {
    id: 'none',
    name: 'No formatter',
    description: 'Passes TTS decoded_payload through (else frm_payload and f_port); downlinks are base64 or a decoded_payload object.',
    type: 'none',
    script: '',
  },
];

/** The script of a template by id; throws for an unknown id (templates are constants). */
export function templateScript(id: string): string {
  const template = TEMPLATES.find((t) => t.id === id);
  if (!template) throw new Error(`unknown formatter template ${id}`);
  return template.script;
}
