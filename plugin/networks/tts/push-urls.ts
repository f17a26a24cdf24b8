import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { BlockList, isIP, type LookupFunction } from 'node:net';
import type { Credentials } from '../network.js';
import { ttsCredentialsOf } from './tts-credentials.js';

/**
 * Where downlinks (and the application's TTS API key) may go. TTS sends the push and replace URLs
 * with every webhook, so whoever holds a webhook token chooses them: this policy decides which are
 * taken (at intake) and which are requested (at send time, the same rules again plus a DNS check).
 */

/** X-Downlink-Apikey / -Push / -Replace longer than this are refused unread (TTS sends ~100-250 chars). */
export const MAX_DOWNLINK_HEADER_LENGTH = 2048;

export type UrlRefusalReason =
  | 'header_too_long'
  | 'invalid_url'
  | 'unsupported_scheme'
  | 'credentials_in_url'
  | 'query_in_url'
  | 'not_a_tts_path'
  | 'origin_mismatch'
  | 'ids_mismatch'
  | 'private_address'
  | 'http_not_allowed'
  | 'host_not_allowed';

export interface UrlRefusal {
  reason: UrlRefusalReason;
  /** The URL's host (never the key, never the whole URL); null when it was not parsed. */
  host: string | null;
  message: string;
}

export interface TtsUrlPolicyOptions {
  /** PLUGIN_TTS_ALLOW_PRIVATE: loopback, private, link-local and unique-local addresses may be TTS. */
  allowPrivate: boolean;
  /** PLUGIN_TTS_HOSTS: hosts every application may use, whatever their address and scheme. */
  hosts: readonly string[];
}

/** TTS identifiers (application, webhook, device): lowercase letters, digits and single dashes, 3..36 chars. */
const ID = '[a-z0-9](?:-?[a-z0-9]){2,35}';
const TTS_DOWN_PATH = new RegExp(`^/api/v3/as/applications/(${ID})/webhooks/(${ID})/devices/(${ID})/down/(push|replace)$`);

/** Addresses that are not the public internet: refused unless PLUGIN_TTS_ALLOW_PRIVATE (or the host is listed). */
const NON_PUBLIC = new BlockList();
for (const [net, bits] of [
  ['0.0.0.0', 8], // "this network"
  ['10.0.0.0', 8],
  ['100.64.0.0', 10], // carrier-grade NAT
  ['127.0.0.0', 8],
  ['169.254.0.0', 16], // link-local, cloud metadata
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.0.2.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['198.51.100.0', 24],
  ['203.0.113.0', 24],
  ['224.0.0.0', 3], // multicast, reserved, broadcast
] as const) {
  NON_PUBLIC.addSubnet(net, bits, 'ipv4');
}
for (const [net, bits] of [
  ['::', 96], // unspecified, loopback, IPv4-compatible
  ['64:ff9b::', 96], // NAT64: would reach any IPv4 address
  ['64:ff9b:1::', 48],
  ['100::', 64],
  ['2001::', 32], // Teredo
  ['2001:db8::', 32],
  ['2002::', 16], // 6to4
  ['fc00::', 7], // unique-local
  ['fe80::', 10], // link-local
  ['fec0::', 10], // site-local
  ['ff00::', 8], // multicast
] as const) {
  NON_PUBLIC.addSubnet(net, bits, 'ipv6');
}
// IPv4-mapped IPv6 (::ffff:a.b.c.d) is checked against the IPv4 rules by BlockList itself.

/** An IP address outside the public internet. */
export function isNonPublicAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 0) return false;
  return NON_PUBLIC.check(address, family === 6 ? 'ipv6' : 'ipv4');
}

/** A URL's hostname without IPv6 brackets and trailing dot, as hosts are compared. */
export function normalizeHost(hostname: string): string {
  const h = hostname.toLowerCase().replace(/\.$/, '');
  return h.startsWith('[') && h.endsWith(']') ? h.slice(1, -1) : h;
}

/** Loopback by name or a non-public IP literal (no DNS: names are checked when connecting). */
function isPrivateHost(host: string): boolean {
  return host === 'localhost' || host.endsWith('.localhost') || isNonPublicAddress(host);
}

/**
 * A comma-separated host list (PLUGIN_TTS_HOSTS, a profile's downlink.tts_hosts) as normalized
 * hostnames; ports and schemes are ignored. Throws on an entry that is no host.
 */
export function parseHostList(text: string): string[] {
  const hosts: string[] = [];
  for (const raw of text.split(',')) {
    const entry = raw.trim();
    if (!entry) continue;
    let url: URL;
    try {
      url = new URL(`https://${isIP(entry) === 6 ? `[${entry}]` : entry.replace(/^[a-z]+:\/\//i, '')}`);
    } catch {
      throw new Error(`'${entry.slice(0, 100)}' is not a host name`);
    }
    if (url.pathname !== '/' || url.username || url.password || url.search || url.hash) {
      throw new Error(`'${entry.slice(0, 100)}' is not a host name`);
    }
    hosts.push(normalizeHost(url.hostname));
  }
  return hosts;
}

const refusal = (reason: UrlRefusalReason, host: string | null, message: string): UrlRefusal => ({
  reason,
  host: host === null ? null : host.slice(0, 253),
  message,
});

/** Ids of the TTS device whose webhook brought the URLs. */
export interface WebhookIds {
  applicationId: string;
  deviceId: string;
}

/** A refusal of the connect-time DNS check (a name that resolves to a non-public address). */
export class UrlRefusedError extends Error {
  constructor(readonly refusal: UrlRefusal) {
    super(refusal.message);
    this.name = 'UrlRefusedError';
  }
}

/** The rules that need nothing but the URL and the configuration (pins and profile lists are the caller's). */
/** No hosts listed, private addresses refused: each application's first public https TTS host only. */
export const STRICT_TTS_URL_POLICY: TtsUrlPolicyOptions = { allowPrivate: false, hosts: [] };

export class TtsUrlPolicy {
  private readonly allowPrivate: boolean;
  private readonly listed: ReadonlySet<string>;

  constructor(options: TtsUrlPolicyOptions) {
    this.allowPrivate = options.allowPrivate;
    this.listed = new Set(options.hosts.map(normalizeHost));
  }

  get options(): TtsUrlPolicyOptions {
    return { allowPrivate: this.allowPrivate, hosts: [...this.listed] };
  }

  /** In PLUGIN_TTS_HOSTS. */
  isListed(host: string): boolean {
    return this.listed.has(host);
  }

  /**
   * One push or replace URL on its own: http(s), no user info, query or fragment, a TTS downlink
   * path, an address and scheme the configuration allows.
   */
  checkUrl(url: URL, kind: 'push' | 'replace' | null): UrlRefusal | null {
    const host = normalizeHost(url.hostname);
    if (url.protocol !== 'https:' && url.protocol !== 'http:') {
      return refusal('unsupported_scheme', host || null, `${url.protocol.slice(0, 20)} URLs are not TTS downlink URLs`);
    }
    if (url.username || url.password) return refusal('credentials_in_url', host, `the URL on ${host} carries user credentials`);
    if (url.search || url.hash) return refusal('query_in_url', host, `the URL on ${host} has a query or fragment; TTS downlink URLs have none`);
    const path = TTS_DOWN_PATH.exec(url.pathname);
    if (!path || (kind !== null && path[4] !== kind)) {
      return refusal(
        'not_a_tts_path',
        host,
        `the URL on ${host} is not a TTS ${kind ?? 'downlink'} URL (/api/v3/as/applications/{app}/webhooks/{id}/devices/{device}/down/${kind ?? 'push|replace'})`,
      );
    }
    const listed = this.listed.has(host);
    const isPrivate = isPrivateHost(host);
    if (isPrivate && !listed && !this.allowPrivate) {
      return refusal('private_address', host, `${host} is a loopback, private or link-local address (set PLUGIN_TTS_ALLOW_PRIVATE=true, or list the host in PLUGIN_TTS_HOSTS)`);
    }
    if (url.protocol === 'http:' && !listed && !isPrivate) {
      return refusal('http_not_allowed', host, `plain http to ${host} would send the API key in clear (use https, or list the host in PLUGIN_TTS_HOSTS)`);
    }
    return null;
  }

  /**
   * The pair TTS sent with a webhook: each URL on its own, then one origin, one webhook and the
   * device (and application) the webhook is about.
   */
  checkPair(push: URL, replace: URL, ids: WebhookIds): UrlRefusal | null {
    const problem = this.checkUrl(push, 'push') ?? this.checkUrl(replace, 'replace');
    if (problem) return problem;
    const host = normalizeHost(push.hostname);
    if (push.origin !== replace.origin) {
      return refusal('origin_mismatch', host, `the push URL (${host}) and the replace URL (${normalizeHost(replace.hostname).slice(0, 253)}) are on different origins`);
    }
    const p = TTS_DOWN_PATH.exec(push.pathname)!;
    const r = TTS_DOWN_PATH.exec(replace.pathname)!;
    if (p[1] !== r[1] || p[2] !== r[2] || p[3] !== r[3] || p[1] !== ids.applicationId || p[3] !== ids.deviceId) {
      return refusal('ids_mismatch', host, `the URLs on ${host} are not the downlink URLs of device '${ids.deviceId}' of application '${ids.applicationId}'`);
    }
    return null;
  }

  /** Send time: the stored URL parsed and checked again (credentials stored before this policy included). */
  target(url: string): { ok: true; url: URL } | { ok: false; refusal: UrlRefusal } {
    if (url.length > MAX_DOWNLINK_HEADER_LENGTH) return { ok: false, refusal: refusal('header_too_long', null, 'the stored downlink URL is too long') };
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      return { ok: false, refusal: refusal('invalid_url', null, 'the stored downlink URL is not a URL') };
    }
    const problem = this.checkUrl(parsed, null);
    return problem ? { ok: false, refusal: problem } : { ok: true, url: parsed };
  }

  /**
   * The DNS lookup to connect with: for a name that is neither listed nor allowed to be private, every
   * address it resolves to must be public. Checked on the addresses connected to, so a name that
   * resolves differently later (DNS rebinding) is caught too. Undefined: the default lookup.
   */
  lookupFor(url: URL): LookupFunction | undefined {
    const host = normalizeHost(url.hostname);
    if (this.allowPrivate || this.listed.has(host) || isIP(host) !== 0) return undefined;
    return (hostname, options, callback) => {
      dnsLookup(hostname, { ...options, all: true }, (err, addresses: LookupAddress[]) => {
        if (err) return callback(err, '', 0);
        const bad = addresses.find((a) => isNonPublicAddress(a.address));
        if (bad) {
          const r = refusal('private_address', host, `${host} resolves to ${bad.address}, a loopback, private or link-local address (set PLUGIN_TTS_ALLOW_PRIVATE=true, or list the host in PLUGIN_TTS_HOSTS)`);
          return callback(Object.assign(new UrlRefusedError(r), { code: 'ERR_TTS_URL_REFUSED' }), '', 0);
        }
        if (options.all) return callback(null, addresses);
        const first = addresses[0];
        return first ? callback(null, first.address, first.family) : callback(new Error(`${host} has no address`), '', 0);
      });
    };
  }
}

/** Pinned TTS hosts of one application: the first it used, and those of the credentials stored before. */
export interface HostPinStore {
  listDevices(q: { appId?: string; limit: number; cursor?: string }): Promise<{ items: { id: string; downlinkReady: boolean }[]; nextCursor: string | null }>;
  getCredentials(deviceId: string): Promise<Credentials | null>;
}

const MAX_PINS = 32;
/** Credentialed devices looked at to find an application's hosts after a start (devices are in id order). */
const PIN_SCAN_LIMIT = 1000;
const PIN_SCAN_PAGE = 200;

/**
 * The TTS hosts each application's downlinks go to, trusted on first use. Nothing new is stored:
 * after a start, an application's pins are the hosts of the credentials already stored for its
 * devices (those that still pass the policy), so installs that stored credentials before this
 * existed keep them; an application with none pins the host of the first credentials it is sent.
 */
export class TtsHostPins {
  private readonly apps = new Map<string, Promise<Set<string>>>();

  constructor(
    private readonly store: HostPinStore,
    private readonly policy: TtsUrlPolicy,
    private readonly maxApps = 10_000,
  ) {}

  /** The application's pins (loaded once per start and application). */
  async of(appId: string): Promise<Set<string>> {
    let pins = this.apps.get(appId);
    if (pins) {
      // most recently used last: the oldest application is dropped first
      this.apps.delete(appId);
      this.apps.set(appId, pins);
      return pins;
    }
    pins = this.load(appId);
    this.apps.set(appId, pins);
    if (this.apps.size > this.maxApps) this.apps.delete(this.apps.keys().next().value!);
    pins.catch(() => this.apps.delete(appId));
    return pins;
  }

  /**
   * Whether `host` may take this application's downlinks: pinned, or the first host (then pinned).
   * Synchronous after the load, so two first webhooks at once pin one host, not two.
   */
  async admit(appId: string, host: string): Promise<{ ok: true; pinned: boolean } | { ok: false; pins: string[] }> {
    const pins = await this.of(appId);
    if (pins.has(host)) return { ok: true, pinned: false };
    if (pins.size === 0) {
      pins.add(host);
      return { ok: true, pinned: true };
    }
    return { ok: false, pins: [...pins] };
  }

  /** Records a host that was accepted otherwise (listed): an application's first host is pinned either way. */
  async note(appId: string, host: string): Promise<boolean> {
    const pins = await this.of(appId);
    if (pins.size > 0) return false;
    pins.add(host);
    return true;
  }

  private async load(appId: string): Promise<Set<string>> {
    const pins = new Set<string>();
    let cursor: string | undefined;
    let looked = 0;
    do {
      const page = await this.store.listDevices({ appId, limit: PIN_SCAN_PAGE, ...(cursor ? { cursor } : {}) });
      for (const device of page.items) {
        if (!device.downlinkReady) continue;
        const creds = ttsCredentialsOf(await this.store.getCredentials(device.id));
        looked++;
        const target = creds ? this.policy.target(creds.pushUrl) : null;
        if (target?.ok) pins.add(normalizeHost(target.url.hostname));
        if (pins.size >= MAX_PINS || looked >= PIN_SCAN_LIMIT) return pins;
      }
      cursor = page.nextCursor ?? undefined;
    } while (cursor);
    return pins;
  }
}
