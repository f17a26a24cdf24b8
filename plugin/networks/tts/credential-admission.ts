import { LRUCache } from 'lru-cache';
import type { Clock } from '../../clock.js';
import type { EventLog } from '../../events/event-log.js';
import { EventThrottle } from '../../events/event-throttle.js';
import type { ResolvedProfile } from '../../profiles.js';
import type { Store } from '../../store/store.js';
import type { TtsCredentials } from './tts-credentials.js';
import { normalizeHost, parseHostList, TtsHostPins, type TtsUrlPolicy, type UrlRefusal } from './push-urls.js';
import type { DownlinkHeaders } from './webhook.js';

const EMPTY_HOSTS: ReadonlySet<string> = new Set<string>();

/**
 * Which X-Downlink-* credentials a webhook may leave for its device: TTS-shaped URLs of this device
 * on one origin, an allowed address and scheme, and a host this application may use
 * (PLUGIN_TTS_HOSTS, the profile's downlink.tts_hosts, or its pinned TTS host: the first one seen).
 * Refused ones are an event (host and reason, never the key) and null: stored credentials stay.
 */
export class TtsCredentialAdmission {
  /** The TTS hosts each application's downlinks go to (see TtsHostPins). */
  private readonly pins: TtsHostPins;
  /** Per application, refused host and reason, the first refusal of each minute is an event. */
  private readonly refusals = new EventThrottle();
  private readonly profileHosts = new LRUCache<string, Set<string>>({ max: 1000 });

  constructor(private readonly deps: { store: Store; policy: TtsUrlPolicy; events: EventLog; clock: Clock }) {
    this.pins = new TtsHostPins(deps.store, deps.policy);
  }

  async admit(profile: ResolvedProfile, ids: { application_id: string; device_id: string }, headers: Exclude<DownlinkHeaders, { kind: 'absent' }>): Promise<TtsCredentials | null> {
    const { policy } = this.deps;
    if (headers.kind === 'refused') {
      await this.refuse(profile, ids.device_id, headers.refusal);
      return null;
    }
    const problem = policy.checkPair(headers.push, headers.replace, { applicationId: ids.application_id, deviceId: ids.device_id });
    if (problem) {
      await this.refuse(profile, ids.device_id, problem);
      return null;
    }
    const host = normalizeHost(headers.push.hostname);
    const credentials = { apiKey: headers.apiKey, pushUrl: headers.pushUrl, replaceUrl: headers.replaceUrl };
    if (policy.isListed(host) || this.hostsOf(profile).has(host)) {
      if (await this.pins.note(profile.appId, host)) await this.pinned(profile, host, 'listed');
      return credentials;
    }
    const admitted = await this.pins.admit(profile.appId, host);
    if (admitted.ok) {
      if (admitted.pinned) await this.pinned(profile, host, 'first');
      return credentials;
    }
    await this.refuse(profile, ids.device_id, {
      reason: 'host_not_allowed',
      host,
      message: `${host} is not a TTS host of application '${profile.appId}' (it uses ${admitted.pins.join(', ')}; add the host to the profile's downlink.tts_hosts or PLUGIN_TTS_HOSTS)`,
    });
    return null;
  }

  /** The profile's downlink.tts_hosts (entries that are no host are skipped). */
  private hostsOf(profile: ResolvedProfile): ReadonlySet<string> {
    const text = profile.settings.downlink.tts_hosts;
    if (!text) return EMPTY_HOSTS;
    let hosts = this.profileHosts.get(text);
    if (!hosts) {
      hosts = new Set<string>();
      for (const entry of text.split(',')) {
        try {
          for (const h of parseHostList(entry)) hosts.add(h);
        } catch {
          // not a host: matches nothing
        }
      }
      this.profileHosts.set(text, hosts);
    }
    return hosts;
  }

  private async pinned(profile: ResolvedProfile, host: string, how: 'first' | 'listed'): Promise<void> {
    await this.deps.events.record({
      appId: profile.appId,
      deviceId: null,
      category: 'webhook',
      severity: 'info',
      title: `Downlinks of this application go to TTS at ${host}`,
      details: { host, pinned: how === 'first' ? 'first TTS host this application used' : 'listed host, first used' },
    });
  }

  private async refuse(profile: ResolvedProfile, ttsDeviceId: string, refusal: UrlRefusal): Promise<void> {
    const key = `${profile.appId}\n${refusal.host ?? ''}\n${refusal.reason}`;
    const refused = this.refusals.take(key, this.deps.clock.now().getTime());
    if (refused === null) return;
    await this.deps.events.record({
      appId: profile.appId,
      deviceId: null,
      category: 'webhook',
      severity: 'warning',
      title: `Downlink URLs refused: ${refusal.message}`,
      details: {
        reason: refusal.reason,
        host: refusal.host,
        tts_device_id: ttsDeviceId,
        profile: profile.profileId,
        // Refused since the previous event for this application, host and reason (this one included).
        refused,
      },
    });
  }
}
