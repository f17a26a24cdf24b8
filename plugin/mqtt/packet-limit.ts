import type { Socket } from 'node:net';

/**
 * Closes a connection whose peer announces an MQTT packet longer than `maxBytes`. MQTT 3.1.1 has
 * no way to tell a server the largest packet a client takes, and mqtt.js buffers a whole packet
 * before it parses it, so a hostile broker could make us hold up to 256 MB per connection. This
 * reads the same bytes as the client (a second 'data' listener), following the fixed headers only,
 * and says why it closed (mqtt.js does not pass a socket's own errors on).
 */
export function limitPacketSize(socket: Socket, maxBytes: number, onRefused: (why: string) => void): void {
  const refuse = (why: string) => {
    onRefused(why);
    socket.destroy(new Error(why));
  };
  /** Bytes of the current packet's body still to skip. */
  let skip = 0;
  /** Inside a fixed header: its type byte was read, its remaining length is being read. */
  let headerByte = false;
  let length = 0;
  let shift = 0;
  socket.on('data', (chunk: Buffer) => {
    let i = 0;
    while (i < chunk.length) {
      if (skip > 0) {
        const n = Math.min(skip, chunk.length - i);
        skip -= n;
        i += n;
        continue;
      }
      if (!headerByte) {
        // The packet type byte; the remaining length follows.
        headerByte = true;
        length = 0;
        shift = 0;
        i++;
        continue;
      }
      const byte = chunk[i++];
      length += (byte & 0x7f) * 2 ** shift;
      shift += 7;
      if (byte & 0x80) {
        if (shift > 21) return refuse('the broker sent a malformed MQTT packet length');
        continue;
      }
      if (length > maxBytes) return refuse(`the broker sent an MQTT packet of ${length} bytes; the limit is ${maxBytes}`);
      headerByte = false;
      skip = length;
    }
  });
}
