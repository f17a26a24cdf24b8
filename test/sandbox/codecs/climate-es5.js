// Example Climate CS-200 codec, written the way TTS device repository codecs are (ES5, sloppy).
//
// Uplink fPort 1, 7 bytes:
//   0-1 temperature int16 BE, 0.1 °C
//   2   relative humidity, 0.5 %
//   3-4 pressure uint16 BE, 0.1 hPa
//   5-6 battery uint16 BE, mV
// Downlink fPort 3: 0x01, interval in minutes (uint16 BE), LED (0/1)

var SENSOR_NAME = 'CS-200';
var LOW_BATTERY_PERCENT = 20;

function readUInt16BE(bytes, offset) {
  return (bytes[offset] << 8) | bytes[offset + 1];
}

function readInt16BE(bytes, offset) {
  value = readUInt16BE(bytes, offset); // undeclared on purpose: vendor code does this
  return value > 0x7fff ? value - 0x10000 : value;
}

function batteryPercent(millivolts) {
  if (millivolts >= 3600) return 100;
  if (millivolts <= 2800) return 0;
  return Math.round((millivolts - 2800) / 8);
}

function decodeUplink(input) {
  var warnings = [];
  if (input.fPort !== 1) {
    return { errors: ['unknown fPort ' + input.fPort] };
  }
  if (input.bytes.length !== 7) {
    return { errors: ['expected 7 bytes, got ' + input.bytes.length] };
  }
  data = {}; // undeclared again
  data.temperature = readInt16BE(input.bytes, 0) / 10;
  data.humidity = input.bytes[2] / 2;
  data.pressure = readUInt16BE(input.bytes, 3) / 10;
  data.battery_mv = readUInt16BE(input.bytes, 5);
  data.battery = batteryPercent(data.battery_mv);
  data.sensor = SENSOR_NAME;
  if (data.battery < LOW_BATTERY_PERCENT) {
    warnings.push('low battery');
  }
  return { data: data, warnings: warnings };
}

function encodeDownlink(input) {
  var errors = [];
  var interval = input.data.interval_minutes;
  if (typeof interval !== 'number' || interval < 1 || interval > 1440) {
    errors.push('interval_minutes must be 1..1440');
  }
  if (typeof input.data.led !== 'boolean') {
    errors.push('led must be a boolean');
  }
  if (errors.length > 0) {
    return { errors: errors };
  }
  return {
    bytes: [0x01, (interval >> 8) & 0xff, interval & 0xff, input.data.led ? 1 : 0],
    fPort: 3
  };
}

function decodeDownlink(input) {
  if (input.bytes[0] !== 0x01) {
    return { errors: ['unknown command ' + input.bytes[0]] };
  }
  return {
    data: { interval_minutes: readUInt16BE(input.bytes, 1), led: input.bytes[3] === 1 }
  };
}
