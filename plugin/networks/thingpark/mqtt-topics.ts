/**
 * ThingPark's MQTT topic patterns (reference A.4): a topic with `{DevEUI}` where the device's EUI
 * goes, e.g. `mqtt/things/{DevEUI}/uplink`. The schema makes sure there is exactly one.
 */

export const DEVEUI_PLACEHOLDER = '{DevEUI}';

const EUI = /^[0-9A-Fa-f]{16}$/;

/** The subscription for every device: the level holding the placeholder becomes `+` (a wildcard is a whole level). */
export function subscriptionOf(pattern: string): string {
  return pattern
    .split('/')
    .map((level) => (level.includes(DEVEUI_PLACEHOLDER) ? '+' : level))
    .join('/');
}

/** The DevEUI (upper case) a topic names under the pattern; null when it names none. */
export function devEuiIn(pattern: string, topic: string): string | null {
  const at = pattern.indexOf(DEVEUI_PLACEHOLDER);
  const prefix = pattern.slice(0, at);
  const suffix = pattern.slice(at + DEVEUI_PLACEHOLDER.length);
  if (topic.length < prefix.length + suffix.length || !topic.startsWith(prefix) || !topic.endsWith(suffix)) return null;
  const eui = topic.slice(prefix.length, topic.length - suffix.length);
  return EUI.test(eui) ? eui.toUpperCase() : null;
}

/** One device's topic. */
export function topicOf(pattern: string, devEui: string): string {
  return pattern.replace(DEVEUI_PLACEHOLDER, () => devEui);
}

/** Whether some topic matches both subscriptions (levels equal, or either is `+`; no `#` in ours). */
export function subscriptionsOverlap(a: string, b: string): boolean {
  const x = a.split('/');
  const y = b.split('/');
  return x.length === y.length && x.every((level, i) => level === '+' || y[i] === '+' || level === y[i]);
}

/** Where a broker is, whatever the spelling of its URL: scheme, host and port. */
export function brokerOf(url: string): string {
  const u = new URL(url);
  return `${u.protocol}//${u.hostname.toLowerCase()}:${u.port || (u.protocol === 'mqtts:' ? '8883' : '1883')}`;
}
