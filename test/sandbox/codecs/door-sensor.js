/* Door/window sensor DW-10 codec: ES5, a polyfill, a switch and Object.assign. */

if (!Number.isInteger) {
  Number.isInteger = function (v) {
    return typeof v === 'number' && isFinite(v) && Math.floor(v) === v;
  };
}

var EVENTS = { 0: 'closed', 1: 'opened', 2: 'tamper' };

function hex(bytes) {
  return bytes
    .map(function (b) {
      return ('0' + b.toString(16)).slice(-2);
    })
    .join('');
}

function decodeEvent(bytes) {
  return { type: 'event', event: EVENTS[bytes[1]] || 'unknown', count: (bytes[2] << 8) | bytes[3] };
}

function decodeStatus(bytes) {
  return { battery_mv: 2000 + bytes[1] * 10, open: bytes[2] === 1 };
}

function decodeUplink(input) {
  var data;
  switch (input.bytes[0]) {
    case 0x10:
      data = decodeEvent(input.bytes);
      break;
    case 0x20:
      data = Object.assign({ type: 'status' }, decodeStatus(input.bytes));
      break;
    default:
      return { errors: ['unsupported frame 0x' + hex([input.bytes[0]])] };
  }
  data.raw = hex(input.bytes);
  return { data: data };
}

function encodeDownlink(input) {
  var d = input.data;
  var bytes = [0x30];
  bytes.push(d.led_on_open ? 1 : 0);
  bytes.push(d.report_hours); // not range-checked by the vendor
  return { bytes: bytes, fPort: 7 };
}
