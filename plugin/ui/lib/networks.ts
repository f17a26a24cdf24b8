import type { NetworkName } from '../api/types.js';

/** How the UI names each network: in full (choices, titles) and short (badges, "sent to …"). */
export const NETWORK_NAMES: Record<NetworkName, { full: string; short: string }> = {
  tts: { full: 'The Things Stack', short: 'TTS' },
  thingpark: { full: 'ThingPark', short: 'ThingPark' },
};

export const networkName = (network: NetworkName | undefined): { full: string; short: string } => NETWORK_NAMES[network ?? 'tts'];

/**
 * Application ids (the plugin's APP_ID_PATTERN, plugin/schemas/profile.ts; a test keeps the two
 * equal): TTS's rule, also for a ThingPark connection's name. Copied, since that module brings the
 * server's schema library along.
 */
export const APP_ID_PATTERN = /^[a-z0-9](?:-?[a-z0-9]){2,35}$/;
