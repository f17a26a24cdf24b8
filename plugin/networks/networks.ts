import type { Network } from './network.js';
import type { NetworkName } from './network-ids.js';

/** The networks this plugin speaks, by name. */
export class Networks {
  private readonly byName: ReadonlyMap<NetworkName, Network>;

  constructor(networks: Network[]) {
    this.byName = new Map(networks.map((n) => [n.name, n]));
  }

  get(name: NetworkName): Network {
    const network = this.byName.get(name);
    if (!network) throw new Error(`network '${name}' is not set up`);
    return network;
  }
}
