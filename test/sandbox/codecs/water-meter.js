// Water meter WM-1 codec (ES5): little-endian fields, status bitfield, alarms as warnings.
//
// 0-3 total volume uint32 LE (litres)
// 4-5 minutes since previous reading uint16 LE
// 6   status bits: 0 leak, 1 backflow, 2 tamper, 3 low battery
// 7-8 litres since previous reading uint16 LE

var ALARMS = ['leak', 'backflow', 'tamper', 'low_battery'];

function u16le(bytes, i) {
  return bytes[i] | (bytes[i + 1] << 8);
}

function u32le(bytes, i) {
  return (bytes[i] | (bytes[i + 1] << 8) | (bytes[i + 2] << 16) | (bytes[i + 3] << 24)) >>> 0;
}

function alarmsOf(status) {
  var list = [];
  for (i = 0; i < ALARMS.length; i++) {
    if (status & (1 << i)) list.push(ALARMS[i]);
  }
  return list;
}

function decodeUplink(input) {
  var b = input.bytes;
  if (b.length < 9) {
    return { errors: ['payload too short', 'expected at least 9 bytes'], warnings: ['got ' + b.length + ' bytes'] };
  }
  var interval = u16le(b, 4);
  var delta = u16le(b, 7);
  var alarms = alarmsOf(b[6]);
  return {
    data: {
      volume_m3: u32le(b, 0) / 1000,
      interval_min: interval,
      // No guard for interval 0, as in the vendor's code: 0 / 0 gives NaN.
      flow_l_per_h: (delta / interval) * 60,
      alarms: alarms
    },
    warnings: alarms.map(function (name) {
      return 'alarm: ' + name;
    })
  };
}
