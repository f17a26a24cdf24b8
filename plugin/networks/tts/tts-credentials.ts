import type { Credentials } from '../network.js';

/** What TTS sends in X-Downlink-Apikey / -Push / -Replace. `apiKey` is a secret: it goes to TTS only. */
// A type, not an interface: it is then a Credentials (a JSON object) as it is, with no copy per webhook.
export type TtsCredentials = {
  apiKey: string;
  pushUrl: string;
  replaceUrl: string;
};

/** Stored credentials read back as TTS's, or null when they are not (another network's, or damaged). */
export function ttsCredentialsOf(stored: Credentials | null): TtsCredentials | null {
  if (!stored) return null;
  const { apiKey, pushUrl, replaceUrl } = stored;
  return typeof apiKey === 'string' && typeof pushUrl === 'string' && typeof replaceUrl === 'string' ? { apiKey, pushUrl, replaceUrl } : null;
}
