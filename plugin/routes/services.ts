import type { Logger } from 'pino';
import type { FormatterPool } from '../../sandbox/formatter-pool.js';
import type { Clock } from '../clock.js';
import type { EventLog } from '../events/event-log.js';
import type { MqttConnections } from '../mqtt/mqtt-connections.js';
import type { Networks } from '../networks/networks.js';
import type { TtsUrlPolicyOptions } from '../networks/tts/push-urls.js';
import type { TtsWebhooks } from '../networks/tts/tts-webhooks.js';
import type { DownlinkService } from '../pipeline/downlink.js';
import type { StatusNotifier } from '../pipeline/status-notifier.js';
import type { UplinkPipeline } from '../pipeline/uplink.js';
import type { Profiles } from '../profiles.js';
import type { Store } from '../store/store.js';

/** What route handlers may use; built once per app by createApp. */
export interface Services {
  store: Store;
  formatters: FormatterPool;
  clock: Clock;
  logger: Logger;
  events: EventLog;
  profiles: Profiles;
  uplinks: UplinkPipeline;
  downlinks: DownlinkService;
  notifier: StatusNotifier;
  networks: Networks;
  webhooks: TtsWebhooks;
  /** Each profile's MQTT connection, when it has one. */
  connections: MqttConnections;
  /** The TTS downlink URL policy in force (PLUGIN_TTS_HOSTS, PLUGIN_TTS_ALLOW_PRIVATE). */
  ttsUrlPolicy: TtsUrlPolicyOptions;
  publicUrl: string | null;
  version: string;
}
