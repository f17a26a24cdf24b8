import Koa from 'koa';
import type { RequestListener } from 'node:http';
import { join } from 'node:path';
import type { PassThrough } from 'node:stream';
import pino, { type Logger } from 'pino';
import type { FormatterPool } from '../sandbox/formatter-pool.js';
import { Background } from './background.js';
import { systemClock, type Clock } from './clock.js';
import { EventLog } from './events/event-log.js';
import { recordFormatterEvents } from './events/formatter-events.js';
import { adminAuth } from './http/admin-auth.js';
import { errorHandler } from './http/errors.js';
import { jsonBody } from './http/json-body.js';
import { securityHeaders } from './http/security-headers.js';
import { staticUi } from './http/static-ui.js';
import { webhookIntake } from './http/webhook-intake.js';
import { PluginMetrics } from './metrics/metrics.js';
import { Networks } from './networks/networks.js';
import { thingparkIntake } from './http/thingpark-intake.js';
import { LrcClient } from './networks/thingpark/lrc-client.js';
import { ThingparkMqtt } from './networks/thingpark/thingpark-mqtt.js';
import { ThingparkNetwork } from './networks/thingpark/thingpark-network.js';
import { ThingparkReports } from './networks/thingpark/thingpark-reports.js';
import { TtsCredentialAdmission } from './networks/tts/credential-admission.js';
import { TtsDownlinkClient } from './networks/tts/downlink-client.js';
import { STRICT_TTS_URL_POLICY, TtsUrlPolicy, type TtsUrlPolicyOptions } from './networks/tts/push-urls.js';
import { TtsNetwork } from './networks/tts/tts-network.js';
import { TtsWebhooks } from './networks/tts/tts-webhooks.js';
import { claimLeaseMs, DownlinkService } from './pipeline/downlink.js';
import { ReportHandler } from './pipeline/reports.js';
import { StatusNotifier } from './pipeline/status-notifier.js';
import { RefusedWebhooks } from './pipeline/refused-webhooks.js';
import { UplinkPipeline } from './pipeline/uplink.js';
import { PACKAGE, PROJECT_ROOT } from './project-files.js';
import { Profiles } from './profiles.js';
import { bucketRoutes } from './routes/buckets.js';
import { measurementRoutes } from './routes/measurements.js';
import { formatterVersionRoutes } from './routes/formatter-versions.js';
import { recentTestRoutes } from './routes/recent-test.js';
import { DEFAULT_BACKOFF, type Backoff } from './mqtt/mqtt-link.js';
import { MqttConnections } from './mqtt/mqtt-connections.js';
import { MqttTransports } from './mqtt/mqtt-transports.js';
import { TtsMqtt } from './networks/tts/tts-mqtt.js';
import { deadLetterRoutes } from './routes/dead-letters.js';
import { deviceRoutes } from './routes/devices.js';
import { downlinkRoutes } from './routes/downlinks.js';
import { eventRoutes } from './routes/events.js';
import { formatterRoutes } from './routes/formatters.js';
import { iotdaRoutes } from './routes/iotda.js';
import { metricsRoutes } from './routes/metrics.js';
import { profileRoutes } from './routes/profiles.js';
import { publicRoutes } from './routes/public.js';
import type { Services } from './routes/services.js';
import { webhookRoutes } from './routes/webhooks.js';
import type { Store } from './store/store.js';

export interface AppDeps {
  store: Store;
  formatters: FormatterPool;
  adminToken: string;
  clock?: Clock;
  logger?: Logger;
  /** Base URL TTS uses to reach the plugin (PLUGIN_PUBLIC_URL). */
  publicUrl?: string;
  ttsTimeoutMs?: number;
  /** Where downlinks may go (PLUGIN_TTS_HOSTS, PLUGIN_TTS_ALLOW_PRIVATE); by default listed hosts none, private addresses refused. */
  ttsUrlPolicy?: TtsUrlPolicyOptions;
  /** How often due downlink retries and TTL expiries are processed; 0 disables the timer (tests tick by hand). */
  schedulerIntervalMs?: number;
  /** Waits between MQTT connection attempts (tests shorten them). */
  mqttBackoff?: Backoff;
  random?: () => number;
}

export interface PluginApp {
  koa: Koa;
  /** The HTTP server's request listener: the webhook intake, then Koa for everything it leaves. */
  handler: RequestListener;
  services: Services;
  /** Stops background work and live streams; the caller closes the HTTP server and the store. */
  close(): Promise<void>;
}

/** Builds one plugin instance; no globals, so tests can run many side by side. */
export async function createApp(deps: AppDeps): Promise<PluginApp> {
  const clock = deps.clock ?? systemClock;
  const logger = deps.logger ?? pino({ level: 'silent' });
  const { store, formatters } = deps;
  const events = new EventLog(store, logger);
  const stopFormatterEvents = recordFormatterEvents((listener) => formatters.listen(listener), events, logger);
  const background = new Background(logger);
  const profiles = new Profiles(store, formatters);
  await profiles.ensureDefault();
  const uplinks = new UplinkPipeline({ store, formatters, events, clock });
  const userAgent = `${PACKAGE.name}/${PACKAGE.version} (+LoRaWAN integration plugin)`;
  const timeoutMs = deps.ttsTimeoutMs ?? 10_000;
  const ttsPolicy = new TtsUrlPolicy(deps.ttsUrlPolicy ?? STRICT_TTS_URL_POLICY);
  const ttsClient = new TtsDownlinkClient({ userAgent, timeoutMs, policy: ttsPolicy });
  const lrc = new LrcClient({ userAgent, timeoutMs, now: () => clock.now() });
  const connections = new MqttConnections({ events, clock, logger, backoff: deps.mqttBackoff ?? DEFAULT_BACKOFF, random: deps.random ?? Math.random });
  const publish = (appId: string, topic: string, payload: string) => connections.publish(appId, topic, payload);
  const networks = new Networks([new TtsNetwork(ttsClient, publish), new ThingparkNetwork(lrc, publish)]);
  const leaseMs = claimLeaseMs(timeoutMs);
  const downlinks = new DownlinkService({
    store,
    leaseMs,
    formatters,
    profiles,
    events,
    clock,
    networks,
    ...(deps.random ? { random: deps.random } : {}),
  });
  const notifier = new StatusNotifier({
    store,
    profiles,
    events,
    clock,
    userAgent,
    timeoutMs,
    leaseMs,
    background,
    ...(deps.random ? { random: deps.random } : {}),
  });
  downlinks.onStatusChange((m) => notifier.onStatusChange(m));
  const refused = new RefusedWebhooks({ events, clock });
  const reports = new ReportHandler({ store, uplinks, downlinks, events, background });
  const admission = new TtsCredentialAdmission({ store, policy: ttsPolicy, events, clock });
  const webhooks = new TtsWebhooks({ profiles, reports, admission, events, clock, refused });
  const thingpark = new ThingparkReports({ profiles, reports, refused, clock });
  const ttsMqtt = new TtsMqtt({ webhooks, profiles, events, clock, logger });
  const thingparkMqtt = new ThingparkMqtt({ reports, profiles, events, clock, logger });
  const mqtt = new MqttTransports({ store, connections, transports: [ttsMqtt, thingparkMqtt], logger });
  profiles.onChange((appId) => void mqtt.sync(appId));
  await mqtt.syncAll();
  const stopNotices = store.onNotice((notice) => {
    if (notice.kind === 'events') events.relay(notice.events);
    else if (notice.kind === 'device-deleted') uplinks.forgetDevice(notice.deviceId);
    else if (notice.kind === 'profile') background.run('profile change', () => profiles.changedElsewhere(notice.appId));
    else {
      uplinks.forgetDevices();
      profiles.forgetAll();
      background.run('resync after missed notices', () => mqtt.syncAll());
    }
  });
  const metrics = new PluginMetrics({ store, formatters, uplinks, downlinks, clock });
  const services: Services = {
    store,
    formatters,
    clock,
    logger,
    events,
    profiles,
    uplinks,
    downlinks,
    notifier,
    networks,
    webhooks,
    connections,
    ttsUrlPolicy: ttsPolicy.options,
    publicUrl: deps.publicUrl ?? null,
    version: PACKAGE.version,
  };

  const openStreams = new Set<PassThrough>();
  const koa = new Koa({ proxy: false });
  koa.use(securityHeaders());
  koa.use(metrics.koaWebhookRejections());
  koa.use(errorHandler(logger));
  koa.use(jsonBody());
  koa.use(staticUi(join(PROJECT_ROOT, 'dist', 'ui')));
  const openRouters = [publicRoutes(services), webhookRoutes(services), iotdaRoutes(services, deps.adminToken)];
  for (const router of openRouters) koa.use(router.routes()).use(router.allowedMethods());

  const admin = adminAuth(deps.adminToken);
  const adminRouters = [
    profileRoutes(services),
    formatterVersionRoutes(services),
    deviceRoutes(services),
    downlinkRoutes(services),
    bucketRoutes(services),
    measurementRoutes(services),
    deadLetterRoutes(services),
    eventRoutes(services, openStreams),
    formatterRoutes(services),
    recentTestRoutes(services),
    metricsRoutes(metrics),
  ];
  koa.use(async (ctx, next) => {
    // Lowercased: the routers match paths case-insensitively, so /API/... must not slip past.
    const path = ctx.path.toLowerCase();
    if (path.startsWith('/api/') || path.startsWith('/downlink/') || path === '/metrics' || path.startsWith('/metrics/')) return admin(ctx, next);
    return next();
  });
  for (const router of adminRouters) koa.use(router.routes()).use(router.allowedMethods());

  let timer: NodeJS.Timeout | null = null;
  let ticking: Promise<void> = Promise.resolve();
  const interval = deps.schedulerIntervalMs ?? 1000;
  if (interval > 0) {
    timer = setInterval(() => {
      ticking = ticking
        .then(() => downlinks.tick())
        .then(() => notifier.deliverDue())
        .catch((err: unknown) => logger.error({ err }, 'downlink scheduler failed'));
    }, interval);
    timer.unref();
  }

  // Network reports bypass Koa: TTS webhooks in the plain case, ThingPark reports always.
  const intakes = [webhookIntake({ webhooks, logger, refused: metrics.webhookRefused }), thingparkIntake({ reports: thingpark, logger, refused: metrics.webhookRefused })];
  const koaHandler = koa.callback();
  const handler: RequestListener = (req, res) => {
    if (!intakes.some((intake) => intake(req, res))) void koaHandler(req, res);
  };

  return {
    koa,
    handler,
    services,
    async close() {
      stopFormatterEvents();
      stopNotices();
      await connections.closeAll();
      ttsClient.close();
      lrc.close();
      metrics.close();
      if (timer) clearInterval(timer);
      await ticking;
      await background.idle();
      for (const stream of openStreams) stream.end();
    },
  };
}
