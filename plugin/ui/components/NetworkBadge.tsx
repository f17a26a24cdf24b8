import type { NetworkName } from '../api/types.js';
import { networkName } from '../lib/networks.js';

/** Which network a device, message or application is on: a small badge, the full name on hover. */
export function NetworkBadge({ network }: { network: NetworkName }) {
  const name = networkName(network);
  return (
    <span class={`badge badge-network badge-network-${network}`} title={name.full}>
      {name.short}
    </span>
  );
}
