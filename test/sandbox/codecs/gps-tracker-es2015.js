// GPS tracker codec in ES2015+ (const/let, arrows, class, destructuring, template literals, Map).
//
// Byte 0 message type:
//   1 position: latitude int32 BE (1e-6°), longitude int32 BE (1e-6°), fix age uint16 BE (s)
//   2 heartbeat: uptime uint32 BE (s)

const MESSAGE_TYPES = new Map([
  [1, 'position'],
  [2, 'heartbeat'],
]);
const STALE_AFTER_S = 300;

class Reader {
  constructor(bytes) {
    this.bytes = bytes;
    this.offset = 0;
  }
  u8() {
    return this.bytes[this.offset++];
  }
  u16() {
    const value = (this.bytes[this.offset] << 8) | this.bytes[this.offset + 1];
    this.offset += 2;
    return value;
  }
  i32() {
    const [a, b, c, d] = this.bytes.slice(this.offset, this.offset + 4);
    this.offset += 4;
    return (a << 24) | (b << 16) | (c << 8) | d;
  }
  u32() {
    return this.i32() >>> 0;
  }
  get remaining() {
    return this.bytes.length - this.offset;
  }
}

const position = (reader, recvTime) => {
  const latitude = reader.i32() / 1e6;
  const longitude = reader.i32() / 1e6;
  const age = reader.u16();
  const fixTime = new Date(recvTime.getTime() - age * 1000);
  const warnings = age > STALE_AFTER_S ? [`stale fix: ${age} s old`] : [];
  return { data: { type: 'position', latitude, longitude, fix_time: fixTime.toISOString(), age_s: age }, warnings };
};

const heartbeat = (reader) => {
  const uptime = reader.u32();
  return { data: { type: 'heartbeat', uptime_s: uptime, uptime_days: Math.floor(uptime / 86400) } };
};

function decodeUplink({ bytes, recvTime }) {
  const reader = new Reader(bytes);
  const type = MESSAGE_TYPES.get(reader.u8());
  if (type === undefined) {
    return { errors: [`unknown message type ${bytes[0]}`] };
  }
  const needed = type === 'position' ? 10 : 4;
  if (reader.remaining < needed) {
    return { errors: [`truncated ${type}: ${reader.remaining} of ${needed} bytes`] };
  }
  return type === 'position' ? position(reader, recvTime) : heartbeat(reader);
}
