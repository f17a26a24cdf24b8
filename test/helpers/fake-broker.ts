/**
 * A scripted MQTT 3.1.1 broker on loopback (mqtt-packet, the parser mqtt.js itself uses), for the
 * hostile brokers a real one will not play: one that drops every connection right after SUBACK, and
 * one that records the passwords clients present. Everything well-behaved is tested on mosquitto.
 */
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import mqttPacket from 'mqtt-packet';

export class FakeBroker {
  readonly connects: { clientId: string; username?: string; password?: string }[] = [];
  private server!: Server;
  private readonly sockets = new Set<Socket>();
  private port = 0;

  constructor(private readonly behaviour: { dropAfterSuback?: boolean } = {}) {}

  get url(): string {
    return `mqtt://127.0.0.1:${this.port}`;
  }

  async start(): Promise<this> {
    this.server = createServer((socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
      socket.on('error', () => undefined);
      const parser = mqttPacket.parser({ protocolVersion: 4 });
      parser.on('packet', (p: mqttPacket.Packet) => {
        if (p.cmd === 'connect') {
          this.connects.push({ clientId: p.clientId, ...(p.username ? { username: p.username } : {}), ...(p.password ? { password: p.password.toString() } : {}) });
          socket.write(mqttPacket.generate({ cmd: 'connack', returnCode: 0, sessionPresent: false }));
        } else if (p.cmd === 'subscribe') {
          socket.write(mqttPacket.generate({ cmd: 'suback', messageId: p.messageId, granted: p.subscriptions.map(() => 0) }));
          if (this.behaviour.dropAfterSuback) setTimeout(() => socket.destroy(), 5);
        } else if (p.cmd === 'pingreq') {
          socket.write(mqttPacket.generate({ cmd: 'pingresp' }));
        }
      });
      socket.on('data', (chunk) => parser.parse(chunk));
    });
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', () => resolve()));
    this.port = (this.server.address() as AddressInfo).port;
    return this;
  }

  async stop(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
