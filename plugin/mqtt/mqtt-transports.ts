import type { Logger } from 'pino';
import type { ProfileSettings } from '../schemas/profile.js';
import type { Store } from '../store/store.js';
import type { MqttConnections, MqttEndpoint } from './mqtt-connections.js';

/** A network that may reach a profile over MQTT: which connection the profile's settings ask for. */
export interface MqttTransport {
  endpointOf(appId: string, settings: ProfileSettings): MqttEndpoint | null;
}

/**
 * Keeps each profile's MQTT connection as its settings say: all at start, then the one profile
 * that changed. Changes of one profile are applied in order.
 */
export class MqttTransports {
  private queue = new Map<string, Promise<void>>();

  constructor(
    private readonly deps: { store: Store; connections: MqttConnections; transports: MqttTransport[]; logger: Logger },
  ) {}

  async syncAll(): Promise<void> {
    const profiles = await this.deps.store.listProfiles();
    await Promise.all(profiles.map((p) => this.sync(p.appId)));
  }

  sync(appId: string): Promise<void> {
    const previous = this.queue.get(appId) ?? Promise.resolve();
    const next = previous
      .then(() => this.apply(appId))
      .catch((err: unknown) => this.deps.logger.error({ err, appId }, 'could not update the MQTT connection'))
      .finally(() => {
        if (this.queue.get(appId) === next) this.queue.delete(appId);
      });
    this.queue.set(appId, next);
    return next;
  }

  private async apply(appId: string): Promise<void> {
    const row = await this.deps.store.getProfile(appId);
    let endpoint: MqttEndpoint | null = null;
    for (const transport of this.deps.transports) {
      endpoint ??= row ? transport.endpointOf(appId, row.settings) : null;
    }
    await this.deps.connections.set(appId, endpoint);
  }
}
