// Parking sensor with TTN v2 (legacy) payload functions: Decoder / Encoder.
//
// Port 1: flags (bit0 occupied, bit1 magnet alarm), battery (1/50 V), counter uint16 BE
// Port 2: heartbeat, no payload
// Encoder: [reset flag, sensitivity]

function Decoder(bytes, port) {
  var decoded = {};
  if (port === 1) {
    decoded.occupied = (bytes[0] & 0x01) === 1;
    decoded.magnet_alarm = (bytes[0] & 0x02) === 2;
    decoded.battery_v = bytes[1] / 50;
    counter = (bytes[2] << 8) | bytes[3];
    decoded.counter = counter;
  } else if (port === 2) {
    decoded.heartbeat = true;
  }
  return decoded;
}

function Encoder(object, port) {
  var bytes = [];
  bytes[0] = object.reset ? 1 : 0;
  bytes[1] = object.sensitivity & 0xff;
  return bytes;
}
