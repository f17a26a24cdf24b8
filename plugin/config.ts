import { Type, type Static } from '@sinclair/typebox';
import type { PoolOptions } from '../sandbox/formatter-pool.js';
import { bodyValidator } from './schemas/validate.js';
import { parseHostList, type TtsUrlPolicyOptions } from './networks/tts/push-urls.js';

/** Host names, IPv4 and (bracketed) IPv6 literals, separated by commas. */
const TTS_HOSTS_PATTERN = '^[A-Za-z0-9.:\\[\\], _-]*$';

/** Environment configuration, validated at start-up with the same machinery as request bodies. */
export const ConfigSchema = Type.Object({
  port: Type.Integer({ minimum: 0, maximum: 65535, default: 3000 }),
  host: Type.String({ default: '0.0.0.0' }),
  dataDir: Type.String({ minLength: 1, default: './data' }),
  /** PostgreSQL instead of the data dir's SQLite file: several instances may share it (TLS via sslmode=… in the URL). */
  databaseUrl: Type.Optional(Type.String({ pattern: '^postgres(ql)?://', maxLength: 4096 })),
  /** Connections each instance keeps to PostgreSQL. */
  databasePool: Type.Integer({ minimum: 1, maximum: 200, default: 10 }),
  adminToken: Type.Optional(Type.String({ minLength: 16 })),
  publicUrl: Type.Optional(Type.String({ pattern: '^https?://' })),
  logLevel: Type.Union(
    ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].map((l) => Type.Literal(l)),
    { default: 'info' },
  ),
  eventCap: Type.Integer({ minimum: 100, default: 100000 }),
  eventCapMb: Type.Integer({ minimum: 1, maximum: 100000, default: 256 }),
  /** Uplinks kept per application to run a formatter on (POST /api/formatters/test-recent); 0 keeps none. */
  recentUplinks: Type.Integer({ minimum: 0, maximum: 1000, default: 200 }),
  maxApps: Type.Integer({ minimum: 1, default: 200 }),
  appsPerIsolate: Type.Integer({ minimum: 1, maximum: 1000, default: 16 }),
  isolateMemoryMb: Type.Integer({ minimum: 8, maximum: 1024, default: 64 }),
  /** Unset: one per core but the plugin's own, at most 8. */
  formatterProcesses: Type.Optional(Type.Integer({ minimum: 1, maximum: 64 })),
  suspendAfter: Type.Integer({ minimum: 1, maximum: 1000, default: 5 }),
  suspendSeconds: Type.Integer({ minimum: 1, maximum: 86400, default: 60 }),
  ttsTimeoutMs: Type.Integer({ minimum: 100, maximum: 60000, default: 10000 }),
  /** Comma-separated hosts every application's downlinks may go to (besides each application's first TTS host). */
  ttsHosts: Type.String({ default: '', maxLength: 4096, pattern: TTS_HOSTS_PATTERN }),
  /** Loopback, private, link-local and unique-local addresses may be TTS (a TTS on the same machine or network). */
  ttsAllowPrivate: Type.Boolean({ default: false }),
});
export type Config = Static<typeof ConfigSchema>;

const validator = bodyValidator(ConfigSchema, 'invalid_config');

const ENV: Record<keyof Config, string> = {
  port: 'PLUGIN_PORT',
  host: 'PLUGIN_HOST',
  dataDir: 'PLUGIN_DATA_DIR',
  databaseUrl: 'PLUGIN_DATABASE_URL',
  databasePool: 'PLUGIN_DATABASE_POOL',
  adminToken: 'PLUGIN_ADMIN_TOKEN',
  publicUrl: 'PLUGIN_PUBLIC_URL',
  logLevel: 'PLUGIN_LOG_LEVEL',
  eventCap: 'PLUGIN_EVENT_CAP',
  eventCapMb: 'PLUGIN_EVENT_CAP_MB',
  recentUplinks: 'PLUGIN_RECENT_UPLINKS',
  maxApps: 'PLUGIN_MAX_APPS',
  appsPerIsolate: 'PLUGIN_APPS_PER_ISOLATE',
  isolateMemoryMb: 'PLUGIN_ISOLATE_MEMORY_MB',
  formatterProcesses: 'PLUGIN_FORMATTER_PROCESSES',
  suspendAfter: 'PLUGIN_FORMATTER_SUSPEND_AFTER',
  suspendSeconds: 'PLUGIN_FORMATTER_SUSPEND_SECONDS',
  ttsTimeoutMs: 'PLUGIN_TTS_TIMEOUT_MS',
  ttsHosts: 'PLUGIN_TTS_HOSTS',
  ttsAllowPrivate: 'PLUGIN_TTS_ALLOW_PRIVATE',
};
const NUMERIC = new Set<keyof Config>([
  'port',
  'databasePool',
  'eventCap',
  'eventCapMb',
  'recentUplinks',
  'maxApps',
  'appsPerIsolate',
  'isolateMemoryMb',
  'formatterProcesses',
  'suspendAfter',
  'suspendSeconds',
  'ttsTimeoutMs',
]);
const BOOLEAN = new Set<keyof Config>(['ttsAllowPrivate']);

/** The formatter pool's part of the configuration. */
export function formatterPoolOptions(config: Config): PoolOptions {
  return {
    maxApps: config.maxApps,
    appsPerIsolate: config.appsPerIsolate,
    memoryLimitMb: config.isolateMemoryMb,
    ...(config.formatterProcesses !== undefined ? { processes: config.formatterProcesses } : {}),
    breaker: { threshold: config.suspendAfter, coolDownMs: config.suspendSeconds * 1000 },
  };
}

/** Reads PLUGIN_* variables; throws with every problem listed when one is wrong. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const raw: Record<string, unknown> = {};
  for (const [key, name] of Object.entries(ENV) as [keyof Config, string][]) {
    const value = env[name];
    if (value === undefined || value === '') continue;
    if (NUMERIC.has(key) && /^\d+$/.test(value)) raw[key] = Number(value);
    else if (BOOLEAN.has(key) && /^(true|false)$/i.test(value)) raw[key] = value.toLowerCase() === 'true';
    else raw[key] = value;
  }
  const result = validator.check(raw);
  if (!result.ok) {
    const byKey = Object.fromEntries(Object.entries(ENV).map(([k, v]) => [`/${k}`, v]));
    throw new Error(
      `invalid configuration: ${result.errors.map((e) => `${byKey[e.path] ?? e.path} ${e.message}`).join('; ')}`,
    );
  }
  // Every instance behind a load balancer must take the same admin token; one generated per data dir would not be.
  if (result.value.databaseUrl && !result.value.adminToken) {
    throw new Error('invalid configuration: PLUGIN_ADMIN_TOKEN is required with PLUGIN_DATABASE_URL (every instance must accept the same token)');
  }
  try {
    parseHostList(result.value.ttsHosts);
  } catch (err) {
    throw new Error(`invalid configuration: PLUGIN_TTS_HOSTS ${err instanceof Error ? err.message : String(err)}`);
  }
  return result.value;
}

/** The downlink URL policy's part of the configuration. */
export function ttsUrlPolicyOptions(config: Config): TtsUrlPolicyOptions {
  return { allowPrivate: config.ttsAllowPrivate, hosts: parseHostList(config.ttsHosts) };
}

