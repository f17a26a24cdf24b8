import type { Backoff } from '../../plugin/mqtt/mqtt-link.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { createApp, type PluginApp } from '../../plugin/app.js';
import type { Clock } from '../../plugin/clock.js';
import { PgStore } from '../../plugin/store/pg-store.js';
import { SqliteStore } from '../../plugin/store/sqlite-store.js';
import type { Store } from '../../plugin/store/store.js';
import { FormatterPool, type PoolOptions } from '../../sandbox/formatter-pool.js';
import { FORMATTER_PROCESS } from './formatter-process-entry.js';

export const ADMIN_TOKEN = 'test-admin-token-0123456789';

/** A clock tests can move. */
export class TestClock implements Clock {
  constructor(private t = Date.parse('2025-04-16T12:00:00Z')) {}
  now(): Date {
    return new Date(this.t);
  }
  advance(ms: number): void {
    this.t += ms;
  }
}

export interface HarnessOptions {
  clock?: Clock;
  dataDir?: string;
  ttsTimeoutMs?: number;
  eventCap?: number;
  eventCapBytes?: number;
  /** The app's pino logger (silent unless given), e.g. to check what reaches the logs. */
  logger?: Logger;
  /** PLUGIN_PUBLIC_URL; https://bridge.example.com unless given, null for unset. */
  publicUrl?: string | null;
  /** The formatter pool's options (two processes, no spare, unless given). */
  formatters?: PoolOptions;
  /**
   * PLUGIN_TTS_ALLOW_PRIVATE; true unless given, since the TTS stand-ins (TtsPeer) listen on
   * 127.0.0.1. Tests of the push-URL policy set it false.
   */
  ttsAllowPrivate?: boolean;
  /** PLUGIN_TTS_HOSTS, as parsed host names; none unless given. */
  ttsHosts?: string[];
  /** Uplinks kept per application for runs on recent traffic (the store's default unless given). */
  recentPerApp?: number;
  /** Waits between MQTT connection attempts; short unless given, so reconnects fit in a test. */
  mqttBackoff?: Backoff;
  /** PLUGIN_DATABASE_URL: the store is PostgreSQL's (several harnesses on one database are several instances). */
  databaseUrl?: string;
}

/** MQTT backoff for tests: the production shape (refused credentials wait 30 times longer), in tenths of a second. */
export const TEST_MQTT_BACKOFF: Backoff = { baseMs: 100, maxMs: 1000, authBaseMs: 3000, authMaxMs: 10_000 };

export interface JsonResponse<T = any> {
  status: number;
  headers: Headers;
  body: T;
  text: string;
}

/** The real plugin on an ephemeral loopback port with its own SQLite file (or on a PostgreSQL database, shared with other harnesses). */
export class PluginHarness {
  app!: PluginApp;
  store!: Store;
  formatters!: FormatterPool;
  server!: Server;
  url = '';
  readonly dataDir: string;

  constructor(private readonly options: HarnessOptions = {}) {
    this.dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), 'plugin-test-'));
  }

  async start(): Promise<this> {
    const clock = this.options.clock;
    const storeOptions = {
      eventCap: this.options.eventCap ?? 10000,
      ...(this.options.eventCapBytes ? { eventCapBytes: this.options.eventCapBytes } : {}),
      ...(this.options.recentPerApp !== undefined ? { recentPerApp: this.options.recentPerApp } : {}),
      now: () => (clock ? clock.now() : new Date()),
    };
    this.store = this.options.databaseUrl
      ? await PgStore.open({ url: this.options.databaseUrl, ...storeOptions })
      : new SqliteStore({ file: join(this.dataDir, 'plugin.db'), ...storeOptions });
    this.formatters = new FormatterPool({
      maxApps: 20,
      processes: 2,
      spare: false,
      entry: FORMATTER_PROCESS,
      ...(clock ? { now: () => clock.now().getTime() } : {}),
      ...this.options.formatters,
    });
    this.app = await createApp({
      store: this.store,
      formatters: this.formatters,
      adminToken: ADMIN_TOKEN,
      ...(this.options.publicUrl === null ? {} : { publicUrl: this.options.publicUrl ?? 'https://bridge.example.com' }),
      schedulerIntervalMs: 0,
      ttsTimeoutMs: this.options.ttsTimeoutMs ?? 2000,
      ttsUrlPolicy: { allowPrivate: this.options.ttsAllowPrivate ?? true, hosts: this.options.ttsHosts ?? [] },
      random: () => 0.5,
      mqttBackoff: this.options.mqttBackoff ?? TEST_MQTT_BACKOFF,
      ...(clock ? { clock } : {}),
      ...(this.options.logger ? { logger: this.options.logger } : {}),
    });
    this.server = createServer(this.app.handler).listen(0, '127.0.0.1');
    await new Promise<void>((resolve) => this.server.once('listening', () => resolve()));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  /** Stops everything but keeps the data dir (for restart tests). */
  async stop(): Promise<void> {
    await this.app.close();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
    await this.formatters.close();
    await this.store.close();
  }

  async destroy(): Promise<void> {
    await this.stop();
    rmSync(this.dataDir, { recursive: true, force: true });
  }

  async request<T = any>(
    method: string,
    path: string,
    opts: { body?: unknown; raw?: string; token?: string | null; headers?: Record<string, string> } = {},
  ): Promise<JsonResponse<T>> {
    const headers: Record<string, string> = { ...opts.headers };
    const token = opts.token === undefined ? ADMIN_TOKEN : opts.token;
    if (token !== null) headers.Authorization = `Bearer ${token}`;
    let body: string | undefined;
    if (opts.raw !== undefined) body = opts.raw;
    else if (opts.body !== undefined) body = JSON.stringify(opts.body);
    if (body !== undefined && !headers['Content-Type']) headers['Content-Type'] = 'application/json';
    const res = await fetch(this.url + path, { method, headers, ...(body !== undefined ? { body } : {}) });
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : null;
    } catch {
      // not JSON (CSV, empty)
    }
    return { status: res.status, headers: res.headers, body: parsed as T, text };
  }

  /** The webhook token of a profile (Default unless named). */
  async webhookToken(appId = 'default'): Promise<string> {
    const res = await this.request('GET', `/api/profiles/${appId}/webhook`);
    return String(res.body.headers.Authorization).replace(/^Bearer /, '');
  }

  /** Posts a TTS webhook body with the right token (or the one given). */
  async webhook<T = any>(body: unknown, opts: { token?: string | null; headers?: Record<string, string>; path?: string } = {}) {
    const appId = (body as { end_device_ids?: { application_ids?: { application_id?: string } } })?.end_device_ids?.application_ids?.application_id;
    let token = opts.token;
    if (token === undefined) {
      const own = await this.request('GET', `/api/profiles/${appId}`);
      token = await this.webhookToken(own.status === 200 ? appId : 'default');
    }
    return this.request<T>('POST', opts.path ?? '/tts/webhook', { body, token, ...(opts.headers ? { headers: opts.headers } : {}) });
  }
}
