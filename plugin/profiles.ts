import { LRUCache } from 'lru-cache';
import type { FormatterSpec } from '../formatters/contract.js';
import { DomainError, notFound } from './domain-error.js';
import { newToken, secretHash } from './http/secrets.js';
import { bodyValidator } from './schemas/validate.js';
import { DEFAULT_PROFILE, ProfileSettingsSchema, type ProfileSettings } from './schemas/profile.js';
import type { Store } from './store/store.js';
import type { FormatterPool } from '../sandbox/formatter-pool.js';
import type { MqttConnectionSettings } from './mqtt/mqtt-settings.js';
import { brokerOf, subscriptionOf, subscriptionsOverlap } from './networks/thingpark/mqtt-topics.js';

export const profileValidator = bodyValidator(ProfileSettingsSchema, 'invalid_profile');

/** Settings with every default applied. */
export function defaultSettings(): ProfileSettings {
  return profileValidator.parse({});
}

/** The profile that applies to an application: its own, else Default. */
export interface ResolvedProfile {
  /** The application the message belongs to. */
  appId: string;
  /** Whose settings apply: `appId` or `default`. */
  profileId: string;
  settings: ProfileSettings;
  webhookToken: string;
  /** sha256 of the token, computed once per cache fill for the constant-time check of every webhook. */
  webhookTokenHash: Buffer;
  /** The formatter's version number (events and dead letters name the version that ran). */
  formatterVersion: number;
}

/** A javascript formatter without a script passes data through, like `none` (the out-of-the-box Default). */
export function formatterSpec(settings: ProfileSettings): FormatterSpec {
  const { type, script, timeout_ms } = settings.formatter;
  const effective = type === 'javascript' && script.trim() === '' ? 'none' : type;
  return { type: effective, script, timeoutMs: timeout_ms };
}

/**
 * A write-only broker password is kept by a save without one only for the same broker, user and
 * CA: else anyone who may edit the profile could send the stored secret to a broker of theirs.
 */
function storedPassword(now: MqttConnectionSettings, before: MqttConnectionSettings | undefined): string | undefined {
  if (!before || before.url !== now.url || before.username !== now.username || before.ca !== now.ca) return undefined;
  return before.password;
}

/** The schema's pattern lets ports up to 99999 through; the URL must be one a socket can open. */
function checkBrokerUrl(url: string, path: string, refuse: (message: string, path: string) => never): void {
  let port = 0;
  try {
    port = Number(new URL(url).port || 0);
  } catch {
    refuse('the broker URL does not parse', path);
  }
  if (port > 65535) refuse('the broker port must be 1..65535', path);
}

/**
 * Application profiles. Lookups on the uplink path are cached briefly; the cache is dropped on
 * local writes and on other instances' (`changedElsewhere`), and expires on its own besides.
 */
export class Profiles {
  private readonly cache = new LRUCache<string, { settings: ProfileSettings; webhookToken: string; webhookTokenHash: Buffer; formatterVersion: number } | 'none'>({
    max: 10000,
    ttl: 2000,
  });

  /** Told the application id after each save or delete (connections follow their profile). */
  private readonly listeners = new Set<(appId: string) => void>();

  constructor(
    private readonly store: Store,
    private readonly formatters: FormatterPool,
  ) {}

  onChange(listener: (appId: string) => void): void {
    this.listeners.add(listener);
  }

  private changed(appId: string): void {
    for (const listener of this.listeners) listener(appId);
  }

  /** Makes sure the Default profile exists (first start). */
  async ensureDefault(): Promise<void> {
    if (!(await this.store.getProfile(DEFAULT_PROFILE))) {
      await this.store.putProfile(DEFAULT_PROFILE, defaultSettings(), newToken());
    }
  }

  private async lookup(appId: string) {
    const hit = this.cache.get(appId);
    if (hit !== undefined) return hit === 'none' ? null : hit;
    const row = await this.store.getProfile(appId);
    const value = row
      ? { settings: row.settings, webhookToken: row.webhookToken, webhookTokenHash: secretHash(row.webhookToken), formatterVersion: row.formatterVersion }
      : null;
    this.cache.set(appId, value ?? 'none');
    return value;
  }

  async resolve(appId: string): Promise<ResolvedProfile> {
    const own = await this.lookup(appId);
    if (own) return { appId, profileId: appId, ...own };
    const fallback = await this.lookup(DEFAULT_PROFILE);
    if (!fallback) throw new DomainError('unavailable', 'not_ready', 'the Default profile is missing');
    return { appId, profileId: DEFAULT_PROFILE, ...fallback };
  }

  async get(appId: string) {
    const row = await this.store.getProfile(appId);
    if (!row) throw notFound('profile', appId);
    return row;
  }

  list() {
    return this.store.listProfiles();
  }

  /**
   * Validates (schema, then the formatter compiled and its top level run in a formatter process)
   * and stores; a script that does not compile or whose top level fails is refused. Saving a
   * changed formatter resumes the suspended formatters it replaces.
   */
  /** `note`: said of the formatter version this save makes, when it changes the formatter. */
  async put(appId: string, body: unknown, note: string | null = null): Promise<{ created: boolean; settings: ProfileSettings; formatterVersion: number }> {
    const settings = profileValidator.parse(body ?? {});
    const before = await this.store.getProfile(appId);
    if (settings.network === 'thingpark') {
      this.connectThingpark(appId, settings, before?.settings);
      await this.refuseSharedTopics(appId, settings);
    }
    if (settings.tts_mqtt) this.connectTtsMqtt(appId, settings, before?.settings);
    // A device belongs to one network: its ids, credentials and messages are that network's.
    if (before && (before.settings.network ?? 'tts') !== settings.network && (await this.store.listDevices({ appId, limit: 1 })).items.length > 0) {
      throw new DomainError('conflict', 'network_in_use', `application '${appId}' has devices on ${before.settings.network}; delete them (or use a new application id) to move it to ${settings.network}`);
    }
    const problem = await this.formatters.check(appId, formatterSpec(settings));
    if (problem) {
      throw new DomainError('invalid', 'formatter_invalid', `formatter: ${problem.message}`, {
        kind: problem.kind,
        ...(problem.line !== undefined ? { line: problem.line, column: problem.column } : {}),
      });
    }
    const { created, formatterVersion } = await this.store.putProfile(appId, settings, newToken(), note);
    this.cache.delete(appId);
    // A new formatter (for a new profile: other than Default's, which ran until now) gets its chance.
    const formatter = JSON.stringify(formatterSpec(settings));
    if (!before || JSON.stringify(formatterSpec(before.settings)) !== formatter) await this.resumeFormatters(appId);
    this.changed(appId);
    return { created, settings, formatterVersion };
  }

  /**
   * A ThingPark profile needs its connection: over HTTP the AS key and the LRC's downlink URL, over
   * MQTT the broker with a password. The AS key and the password are write-only, so a save without
   * them keeps the stored ones. Default takes TTS webhooks of applications without a profile: it stays TTS.
   */
  private connectThingpark(appId: string, settings: ProfileSettings, before: ProfileSettings | undefined): void {
    const refuse = (message: string, path = '/thingpark') => {
      throw new DomainError('invalid', 'invalid_profile', message, { errors: [{ path, message }] });
    };
    if (appId === DEFAULT_PROFILE) refuse('the Default profile serves TTS applications without a profile of their own; add a profile for the ThingPark connection');
    const tp = settings.thingpark;
    if (!tp) return refuse('a ThingPark profile needs thingpark: {as_id, as_key, downlink_url}, or {as_id, transport: "mqtt", mqtt}');
    const stored = before?.network === 'thingpark' ? before.thingpark : undefined;
    tp.as_key = (tp.as_key ?? stored?.as_key)?.toLowerCase();
    if (tp.mqtt) tp.mqtt.password ??= storedPassword(tp.mqtt, stored?.mqtt);
    if (tp.transport !== 'mqtt') {
      if (!tp.as_key) refuse('thingpark.as_key is required (the Tunnel Interface Authentication Key, 32 hex digits)');
      if (!tp.downlink_url) refuse('thingpark.downlink_url is required over HTTP (the LRC downlink endpoint)');
      return;
    }
    if (!tp.mqtt) return refuse('thingpark.mqtt is required with transport mqtt: {url, username, password, uplink_topic, downlink_topic}', '/thingpark/mqtt');
    if (!tp.mqtt.password) refuse('thingpark.mqtt.password is required (the broker password of the plugin\'s user; again when the broker or user changes)', '/thingpark/mqtt/password');
    checkBrokerUrl(tp.mqtt.url, '/thingpark/mqtt/url', refuse);
    // One topic for both ways would bring the plugin its own downlinks as reports.
    if (tp.mqtt.uplink_topic === tp.mqtt.downlink_topic) refuse('thingpark.mqtt.uplink_topic and downlink_topic must differ', '/thingpark/mqtt/downlink_topic');
  }

  /**
   * Two ThingPark connections on one broker must not share topics: each would take the other's
   * devices (their reports) and send to them (downlinks). Each needs its own topic patterns.
   */
  private async refuseSharedTopics(appId: string, settings: ProfileSettings): Promise<void> {
    const mine = settings.thingpark?.transport === 'mqtt' ? settings.thingpark.mqtt : undefined;
    if (!mine) return;
    for (const other of await this.store.listProfiles()) {
      const theirs = other.settings.network === 'thingpark' && other.settings.thingpark?.transport === 'mqtt' ? other.settings.thingpark.mqtt : undefined;
      if (other.appId === appId || !theirs || brokerOf(theirs.url) !== brokerOf(mine.url)) continue;
      const topics = [subscriptionOf(mine.uplink_topic), subscriptionOf(mine.downlink_topic)];
      const taken = [subscriptionOf(theirs.uplink_topic), subscriptionOf(theirs.downlink_topic)];
      if (topics.some((t) => taken.some((u) => subscriptionsOverlap(t, u)))) {
        throw new DomainError('conflict', 'topic_in_use', `ThingPark connection '${other.appId}' uses the same topics on this broker; give each connection its own topic patterns`, {
          app_id: other.appId,
        });
      }
    }
  }

  /**
   * TTS over MQTT is one application's connection (its user name is the application's), so not
   * Default's; the password is write-only like the AS key.
   */
  private connectTtsMqtt(appId: string, settings: ProfileSettings, before: ProfileSettings | undefined): void {
    const refuse = (message: string, path = '/tts_mqtt') => {
      throw new DomainError('invalid', 'invalid_profile', message, { errors: [{ path, message }] });
    };
    const mqtt = settings.tts_mqtt!;
    if (settings.network !== 'tts') refuse('tts_mqtt is for TTS profiles');
    if (appId === DEFAULT_PROFILE) refuse('the Default profile serves every application without a profile; add a profile for the application to connect to TTS over MQTT');
    // The user is the application (TTS's rule): another application's user would reach its devices.
    if (mqtt.username.split('@')[0] !== appId) refuse(`tts_mqtt.username must be this application's: ${appId} or ${appId}@<tenant>`, '/tts_mqtt/username');
    checkBrokerUrl(mqtt.url, '/tts_mqtt/url', refuse);
    mqtt.password ??= storedPassword(mqtt, before?.tts_mqtt);
    if (!mqtt.password) refuse('tts_mqtt.password is required (a TTS API key that may read traffic and write downlinks; again when the broker or user changes)', '/tts_mqtt/password');
  }

  /** Lifts the suspensions this profile's save may fix: its application's, or for Default, those without a profile. */
  private async resumeFormatters(profileId: string): Promise<void> {
    for (const { appId } of this.formatters.suspensions()) {
      if (appId === profileId || (profileId === DEFAULT_PROFILE && !(await this.lookup(appId)))) this.formatters.resume(appId);
    }
  }

  /**
   * Makes a saved version the formatter in force again, as a new version (the history only grows),
   * through the same checks as any save.
   */
  async restoreFormatter(appId: string, version: number): Promise<{ formatterVersion: number }> {
    const row = await this.get(appId);
    const saved = await this.store.getFormatterVersion(appId, version);
    if (!saved) throw notFound('formatter version', String(version));
    const { formatterVersion } = await this.put(appId, { ...row.settings, formatter: saved.formatter }, `restored version ${version}`);
    return { formatterVersion };
  }

  async delete(appId: string): Promise<void> {
    if (appId === DEFAULT_PROFILE) {
      throw new DomainError('conflict', 'default_profile', 'the Default profile cannot be deleted');
    }
    if (!(await this.store.deleteProfile(appId))) throw notFound('profile', appId);
    this.cache.delete(appId);
    this.changed(appId);
  }

  /**
   * Another instance saved or deleted this profile: what this one cached of it goes, suspended
   * formatters it may fix get their chance, and connections follow, as after a local save.
   */
  async changedElsewhere(appId: string): Promise<void> {
    this.cache.delete(appId);
    await this.resumeFormatters(appId);
    this.changed(appId);
  }

  /** Drops every cached profile (changes from elsewhere may have been missed). */
  forgetAll(): void {
    this.cache.clear();
  }

  async rotateToken(appId: string): Promise<string> {
    const token = newToken();
    if (!(await this.store.setWebhookToken(appId, token))) throw notFound('profile', appId);
    this.cache.delete(appId);
    return token;
  }
}
