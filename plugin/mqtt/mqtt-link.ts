import { connect as netConnect, type Socket } from 'node:net';
import { rootCertificates, connect as tlsConnect } from 'node:tls';
import { MqttClient } from 'mqtt';
import type { MqttConnection } from './mqtt-settings.js';
import { limitPacketSize } from './packet-limit.js';

export type LinkState = 'connecting' | 'connected' | 'error' | 'disabled';

export interface LinkStatus {
  state: LinkState;
  /** Why the last attempt failed or the connection dropped; null once connected. */
  lastError: string | null;
  since: string;
  /** Attempts that failed since the last good connection. */
  failures: number;
}

/** Waits between attempts: network trouble retries soon; refused credentials wait minutes, not a storm. */
export interface Backoff {
  baseMs: number;
  maxMs: number;
  authBaseMs: number;
  authMaxMs: number;
}

export const DEFAULT_BACKOFF: Backoff = { baseMs: 1000, maxMs: 60_000, authBaseMs: 30_000, authMaxMs: 300_000 };

export interface LinkOptions {
  connection: MqttConnection;
  clientId: string;
  /** Subscribed (QoS 0) on every connect: the session is clean, the broker forgets them. */
  subscriptions: string[];
  onMessage(topic: string, payload: Buffer): void;
  onStatus(status: LinkStatus): void;
  now(): Date;
  random(): number;
  backoff: Backoff;
  /** Largest MQTT packet taken from the broker. */
  maxPacketBytes: number;
}

/** CONNACK return codes 4 and 5 (MQTT 3.1.1): bad user name or password, not authorized. */
const AUTH_REFUSED = new Set([4, 5]);

/**
 * One MQTT 3.1.1 connection (mqtt.js) that keeps itself up: it reconnects after a drop with
 * exponential backoff and jitter of its own (mqtt.js retries at a fixed period), resubscribes,
 * and tells every change of state.
 */
export class MqttLink {
  private client: MqttClient | null = null;
  private timer: NodeJS.Timeout | null = null;
  /** Attempts that failed since the last good connection (shown). */
  private failures = 0;
  /** The backoff's exponent: reset only once a connection stayed up (see retry). */
  private level = 0;
  private authRefused = false;
  /** The error an attempt or a connection ended with, kept for the status the retry shows. */
  private lastError: string | null = null;
  private stopped = false;
  /** When the current connection was established (Date.now()), null while not connected. */
  private connectedAt: number | null = null;
  private current: LinkStatus;

  constructor(private readonly options: LinkOptions) {
    this.current = { state: 'connecting', lastError: null, since: options.now().toISOString(), failures: 0 };
  }

  get status(): LinkStatus {
    return this.current;
  }

  start(): void {
    this.connect();
  }

  /** Closes for good; the link says `disabled`. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const client = this.client;
    this.client = null;
    this.setStatus('disabled', null);
    if (client) await client.endAsync(true).catch(() => undefined);
  }

  /** Publishes at QoS 0; fails at once when not connected (the caller retries or reports). */
  publish(topic: string, payload: string): Promise<void> {
    const client = this.client;
    if (!client || this.current.state !== 'connected') {
      return Promise.reject(new Error(`not connected to the MQTT broker${this.current.lastError ? `: ${this.current.lastError}` : ''}`));
    }
    return client.publishAsync(topic, payload, { qos: 0 }).then(() => undefined);
  }

  private connect(): void {
    if (this.stopped) return;
    try {
      this.open();
    } catch (err) {
      // Settings are checked on save; what still cannot open (a URL Node will not take) is an error, not a hang.
      this.lastError = err instanceof Error ? err.message.slice(0, 500) : String(err);
      this.authRefused = true;
      this.retry();
    }
  }

  private open(): void {
    const { connection } = this.options;
    const url = new URL(connection.url);
    const secure = url.protocol === 'mqtts:';
    const port = Number(url.port) || (secure ? 8883 : 1883);
    const host = url.hostname.replace(/^\[|\]$/g, '');
    this.authRefused = false;
    const client = new MqttClient(
      () => {
        const socket: Socket = secure
          ? // Node's `ca` replaces the system CAs: a private CA is trusted besides them, not instead.
            tlsConnect({ host, port, servername: host, ...(connection.ca ? { ca: [...rootCertificates, connection.ca] } : {}) })
          : netConnect({ host, port });
        limitPacketSize(socket, this.options.maxPacketBytes, (why) => {
          this.lastError = why;
        });
        return socket;
      },
      {
        protocolVersion: 4,
        clientId: this.options.clientId,
        username: connection.username,
        password: connection.password,
        clean: true,
        keepalive: 60,
        connectTimeout: 10_000,
        reconnectPeriod: 0,
        resubscribe: false,
      },
    );
    this.client = client;
    client.on('connect', () => {
      client.subscribe(this.options.subscriptions, { qos: 0 }, (err, granted) => {
        if (client !== this.client) return;
        const refused = granted?.filter((g) => g.qos === 128).map((g) => g.topic) ?? [];
        if (err || refused.length) {
          // Refused topics are the broker's ACL: wrong user for this application, as wrong credentials.
          this.authRefused = true;
          this.lastError = err ? `subscribing failed: ${err.message}` : `the broker refused the subscription to ${refused.join(', ')}`;
          client.end(true);
          return;
        }
        // Failures count on until the connection has stayed up a while: a broker that takes and
        // drops at once would otherwise be retried at the base delay forever.
        this.connectedAt = Date.now();
        this.failures = 0;
        this.setStatus('connected', null);
      });
    });
    client.on('message', (topic, payload) => {
      if (client === this.client) this.options.onMessage(topic, payload);
    });
    client.on('error', (err: Error & { code?: unknown }) => {
      if (typeof err.code === 'number' && AUTH_REFUSED.has(err.code)) this.authRefused = true;
      this.lastError = err.message.slice(0, 500);
    });
    client.on('close', () => {
      if (client !== this.client || this.stopped) return;
      client.removeAllListeners('close');
      client.end(true);
      this.client = null;
      this.retry();
    });
  }

  private retry(): void {
    if (this.connectedAt !== null && Date.now() - this.connectedAt >= this.options.backoff.maxMs) this.level = 0;
    this.connectedAt = null;
    const auth = this.authRefused;
    const { backoff } = this.options;
    const base = auth ? backoff.authBaseMs : backoff.baseMs;
    const max = auth ? backoff.authMaxMs : backoff.maxMs;
    const delay = Math.min(max, base * 2 ** Math.min(this.level, 20)) * (0.7 + 0.6 * this.options.random());
    this.level++;
    this.failures++;
    const why = this.lastError ?? (this.current.state === 'connected' ? 'the broker closed the connection' : 'the connection failed');
    this.lastError = null;
    this.setStatus(auth ? 'error' : 'connecting', why);
    this.timer = setTimeout(() => {
      this.timer = null;
      this.connect();
    }, delay);
    this.timer.unref();
  }

  private setStatus(state: LinkState, lastError: string | null): void {
    const changed = state !== this.current.state;
    this.current = { state, lastError, since: changed ? this.options.now().toISOString() : this.current.since, failures: this.failures };
    this.options.onStatus(this.current);
  }
}
