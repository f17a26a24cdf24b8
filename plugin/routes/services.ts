import type { Logger } from 'pino';
import type { FormatterPool } from '../../sandbox/formatter-pool.js';
import type { Clock } from '../clock.js';
import type { EventLog } from '../events/event-log.js';
import type { DownlinkService } from '../pipeline/downlink.js';
import type { StatusNotifier } from '../pipeline/status-notifier.js';
import type { UplinkPipeline } from '../pipeline/uplink.js';
import type { WebhookHandler } from '../pipeline/webhook.js';
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
  webhooks: WebhookHandler;
  publicUrl: string | null;
  version: string;
}
