import { useEffect, useRef, useState } from 'preact/hooks';
import { asApiError, type ApiError } from '../../api/errors.js';
import type { NetworkName, Profile, ProfileSettings } from '../../api/types.js';
import { ConnectionBadge } from '../../components/ConnectionStatus.js';
import { ErrorNote } from '../../components/ErrorNote.js';
import { NetworkBadge } from '../../components/NetworkBadge.js';
import { SchemaField } from '../../components/SchemaField.js';
import { Tabs, type TabSpec } from '../../components/Tabs.js';
import { useApp } from '../../lib/app-context.js';
import { ago } from '../../lib/format.js';
import { networkName } from '../../lib/networks.js';
import { navigate, type ProfileTab } from '../../lib/router.js';
import { useConnection } from '../../lib/use-connection.js';
import { useEventStream } from '../../lib/use-event-stream.js';
import { useLoad } from '../../lib/use-load.js';
import { useThrottled } from '../../lib/use-throttled.js';
import { isObject, problemsOf, type JsonSchema } from '../../schema/json-schema.js';
import { AddProfileForm } from './AddProfileForm.js';
import { draftOf, mqttProblems } from './mqtt-fields.js';
import { PayloadProcessing, type ScriptProblem } from './PayloadProcessing.js';
import { SettingsFields } from './SettingsFields.js';
import { activeSuspensions, useSuspensionClock, withoutSuspensionOf } from './SuspensionNote.js';
import { thingparkProblems } from './thingpark-fields.js';
import { ThingparkSettings } from './ThingparkSettings.js';
import { TtsMqttSettings } from './TtsMqttSettings.js';
import { WebhookSettings } from './WebhookSettings.js';

/** The profile every application without its own falls back to; it cannot be deleted. */
const DEFAULT_APP = 'default';

/** The last tab is about the profile's network: TTS webhook settings, or the ThingPark connection. */
const tabsFor = (network: NetworkName): TabSpec<ProfileTab>[] => [
  { key: 'uplink', label: 'Uplink' },
  { key: 'downlink', label: 'Downlink' },
  { key: 'payload', label: 'Payload processing' },
  { key: 'webhook', label: network === 'thingpark' ? 'ThingPark settings' : 'Webhook settings' },
];

/** Downlink settings that only mean something on TTS. */
const TTS_ONLY_DOWNLINK = new Set(['tts_hosts']);

type SaveState = { kind: 'idle' } | { kind: 'saving' } | { kind: 'saved' } | { kind: 'invalid'; count: number } | { kind: 'failed'; error: ApiError };

/**
 * The settings part of a profile view: the keys the settings schema defines. Secrets come as
 * whether one is stored (`as_key_set`, `password_set`) instead, and a save without them keeps them.
 */
function settingsOf(profile: Profile, schema: JsonSchema): ProfileSettings {
  const keys = Object.keys(schema.properties ?? {});
  const settings = Object.fromEntries(keys.map((k) => [k, profile[k as keyof Profile]])) as Record<string, unknown>;
  if (profile.thingpark) {
    const { as_key_set: _set, mqtt, ...connection } = profile.thingpark;
    settings.thingpark = { ...connection, ...(mqtt ? { mqtt: draftOf(mqtt) } : {}) };
  }
  if (profile.tts_mqtt) settings.tts_mqtt = draftOf(profile.tts_mqtt);
  return settings as unknown as ProfileSettings;
}

/** Whether the saved profile has an MQTT connection to show the state of, and whether it is meant to be up. */
function mqttOf(profile: Profile | undefined): { on: boolean } | null {
  if (profile?.tts_mqtt) return { on: profile.enabled && profile.tts_mqtt.enabled };
  if (profile?.thingpark?.transport === 'mqtt' && profile.thingpark.mqtt) return { on: profile.enabled };
  return null;
}

const networkOf = (settings: { network?: NetworkName } | null | undefined): NetworkName => settings?.network ?? 'tts';

/**
 * Client-side problems by JSON pointer: the schema's, and those of the connections, which know
 * what a transport needs and that an empty secret keeps the stored one (`saved`).
 */
function clientProblems(schema: JsonSchema, draft: ProfileSettings, saved: Profile | undefined): Record<string, string> {
  const problems = problemsOf(schema, draft);
  for (const key of Object.keys(problems)) if (key.startsWith('/thingpark/') || key.startsWith('/tts_mqtt/')) delete problems[key];
  if (draft.tts_mqtt) {
    Object.assign(problems, mqttProblems(schema.properties?.tts_mqtt ?? {}, draft.tts_mqtt, '/tts_mqtt', { passwordRequired: saved?.tts_mqtt?.password_set !== true }));
  }
  if (networkOf(draft) !== 'thingpark') return problems;
  const passwordRequired = saved?.thingpark?.mqtt?.password_set !== true;
  return { ...problems, ...thingparkProblems(schema.properties?.thingpark ?? {}, draft.thingpark ?? {}, { keyRequired: false, passwordRequired }) };
}

/** Server validation issues ({path, message}) by JSON pointer, to show next to their fields. */
function serverProblems(state: SaveState): Record<string, string> {
  if (state.kind !== 'failed' || !Array.isArray(state.error.details.errors)) return {};
  const out: Record<string, string> = {};
  for (const issue of state.error.details.errors) {
    if (isObject(issue) && typeof issue.path === 'string') out[issue.path] = String(issue.message ?? 'is invalid');
  }
  return out;
}

export function ProfilesScreen({ appId, tab, deadLetter }: { appId: string | null; tab: ProfileTab; deadLetter?: number }) {
  const { api, manifest } = useApp();
  const schema = manifest.settings.schema;
  const sub = (key: string): JsonSchema => schema.properties?.[key] ?? {};
  const profiles = useLoad(api.profiles, [api]);
  const selected = appId ?? DEFAULT_APP;
  const [drafts, setDrafts] = useState<Record<string, ProfileSettings>>({});
  const [save, setSave] = useState<SaveState>({ kind: 'idle' });
  const [scriptProblem, setScriptProblem] = useState<ScriptProblem | null>(null);
  const [versionNote, setVersionNote] = useState('');
  const [adding, setAdding] = useState(false);
  const [deleting, setDeleting] = useState<'ask' | 'busy' | null>(null);
  const [deleteError, setDeleteError] = useState<ApiError | null>(null);
  const suspensionClock = useSuspensionClock(profiles.data);

  // Formatters are suspended and resumed while the screen is open: formatter events reload the
  // profiles, which list the suspensions (drafts are kept apart, so no edit is lost).
  const refresh = useThrottled(profiles.reload, 2000);
  useEventStream({ category: 'formatter' }, refresh);

  // The saved profile's MQTT connection, live: in the profile bar and on the settings tab.
  const profile = profiles.data?.find((p) => p.app_id === selected);
  const mqtt = mqttOf(profile);
  const connection = useConnection(selected, mqtt?.on === true, profile?.updated_at ?? '');

  // Ctrl/Cmd+S saves, as in an editor; the ref always holds this render's save.
  const saveRef = useRef<() => void>(() => undefined);
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if ((e.ctrlKey || e.metaKey) && e.key.toLowerCase() === 's') {
        e.preventDefault();
        saveRef.current();
      }
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, []);

  // Save and delete outcomes belong to the profile they were about.
  useEffect(() => {
    setSave({ kind: 'idle' });
    setDeleting(null);
    setDeleteError(null);
    setVersionNote('');
  }, [selected]);

  const go = (app: string, t: ProfileTab = tab) => navigate({ screen: 'profiles', appId: app, tab: t });

  if (profiles.error) return <ErrorNote error={profiles.error} prefix="Profiles could not be loaded" />;
  const list = profiles.data;
  if (!list) return <p class="muted">Loading profiles…</p>;

  const saved = profile ? settingsOf(profile, schema) : null;
  const draft = drafts[selected] ?? saved;
  const dirty = draft !== null && JSON.stringify(draft) !== JSON.stringify(saved);
  const formatterDirty = draft !== null && saved !== null && JSON.stringify(draft.formatter) !== JSON.stringify(saved.formatter);
  const problems = draft ? { ...clientProblems(schema, draft, profile), ...serverProblems(save) } : {};
  const network = networkOf(draft);
  const suspensions = profile ? activeSuspensions(profile, suspensionClock) : [];

  const update = (next: ProfileSettings) => {
    setDrafts((d) => ({ ...d, [selected]: next }));
    if (save.kind !== 'saving') setSave({ kind: 'idle' });
  };

  const onSave = async () => {
    if (!draft || save.kind === 'saving') return;
    const count = Object.keys(clientProblems(schema, draft, profile)).length;
    if (count) return setSave({ kind: 'invalid', count });
    setSave({ kind: 'saving' });
    // The note names the version the save makes; a save that leaves the formatter alone makes none.
    const note = formatterDirty ? versionNote.trim() : '';
    try {
      const updated = await api.saveProfile(selected, draft, note || undefined);
      // The answer lists no suspensions any more: the save lifted them (and this application's, wherever listed).
      profiles.set(withoutSuspensionOf(list, selected).map((p) => (p.app_id === selected ? updated : p)));
      setDrafts(({ [selected]: _saved, ...rest }) => rest);
      setScriptProblem(null);
      setVersionNote('');
      setSave({ kind: 'saved' });
    } catch (err) {
      const error = asApiError(err);
      if (error.code === 'formatter_invalid') {
        const { line, column } = error.details;
        setScriptProblem({
          script: draft.formatter.script,
          message: error.message.replace(/^formatter:\s*/, ''),
          ...(typeof line === 'number' ? { line } : {}),
          ...(typeof column === 'number' ? { column } : {}),
        });
      }
      setSave({ kind: 'failed', error });
    }
  };

  saveRef.current = () => void onSave();

  /** A restore saved an old formatter as a new version: the profile and the editor show it; other unsaved settings stay. */
  const onRestored = async () => {
    const restored = await api.profile(selected);
    profiles.set(withoutSuspensionOf(list, selected).map((p) => (p.app_id === selected ? restored : p)));
    setDrafts(({ [selected]: mine, ...rest }) => (mine ? { ...rest, [selected]: { ...mine, formatter: settingsOf(restored, schema).formatter } } : rest));
    setScriptProblem(null);
    setVersionNote('');
  };

  const onDelete = async () => {
    setDeleting('busy');
    setDeleteError(null);
    try {
      await api.deleteProfile(selected);
      // Its application now runs the Default formatter, so Default lists its suspension.
      const moved = profile?.formatter_suspensions ?? [];
      profiles.set(list.filter((p) => p.app_id !== selected).map((p) => (p.app_id === DEFAULT_APP && moved.length ? { ...p, formatter_suspensions: [...p.formatter_suspensions, ...moved] } : p)));
      setDeleting(null);
      go(DEFAULT_APP);
    } catch (err) {
      setDeleteError(asApiError(err));
      setDeleting('ask');
    }
  };

  return (
    <div class="page">
      <header class="page-header">
        <div>
          <h1>Application profiles</h1>
          <p class="lead">Settings {manifest.settings.scope}.</p>
        </div>
      </header>

      <div class="card profile-bar">
        <div class="profile-pick">
          <label class="field-label" for="profile-select">
            Application
          </label>
          <select id="profile-select" value={selected} onChange={(e) => go(e.currentTarget.value)}>
            {list.map((p) => (
              <option key={p.app_id} value={p.app_id}>
                {p.app_id === DEFAULT_APP ? 'Default (all other applications)' : p.app_id}
                {networkOf(p) === 'thingpark' ? ' · ThingPark' : ''}
                {activeSuspensions(p, suspensionClock).length > 0 ? ' (suspended)' : ''}
                {drafts[p.app_id] && JSON.stringify(drafts[p.app_id]) !== JSON.stringify(settingsOf(p, schema)) ? ' (unsaved)' : ''}
              </option>
            ))}
          </select>
        </div>
        {draft && (
          <div class="profile-network">
            <span class="field-label">Network</span>
            <span class="network-value">
              <NetworkBadge network={network} />
              {networkName(network).full !== networkName(network).short && ` ${networkName(network).full}`}
              {mqtt && <ConnectionBadge status={connection} />}
            </span>
          </div>
        )}
        {draft && (
          <div class="profile-enabled">
            <SchemaField name="enabled" schema={sub('enabled')} value={draft.enabled} onChange={(v) => update({ ...draft, enabled: v === true })} idPrefix="profile" />
          </div>
        )}
        <div class="button-row profile-actions">
          <button type="button" class="btn" onClick={() => setAdding(!adding)} aria-expanded={adding}>
            Add application
          </button>
          {selected !== DEFAULT_APP && profile && deleting === null && (
            <button type="button" class="btn btn-danger-outline" onClick={() => setDeleting('ask')}>
              Delete profile
            </button>
          )}
        </div>
        {deleting !== null && (
          <div class="confirm-row" role="group" aria-label="Confirm deletion">
            <span>
              Delete the profile of <strong>{selected}</strong>? Its messages then use the Default profile.
            </span>
            <button type="button" class="btn btn-danger" disabled={deleting === 'busy'} onClick={onDelete}>
              {deleting === 'busy' ? 'Deleting…' : 'Delete'}
            </button>
            <button type="button" class="btn" onClick={() => setDeleting(null)}>
              Cancel
            </button>
            <ErrorNote error={deleteError} prefix="Not deleted" />
          </div>
        )}
      </div>

      {adding && (
        <AddProfileForm
          existing={list.map((p) => p.app_id)}
          onCancel={() => setAdding(false)}
          onCreated={(created) => {
            // Creating it lifted its suspension, listed under Default until now.
            profiles.set([...withoutSuspensionOf(list, created.app_id), created]);
            setAdding(false);
            // A new ThingPark connection: next comes what to set in ThingPark.
            go(created.app_id, networkOf(created) === 'thingpark' ? 'webhook' : 'uplink');
          }}
        />
      )}

      {!profile || !draft ? (
        <div class="card empty">
          <p>
            There is no profile for <strong>{selected}</strong>; its messages use the Default profile.
          </p>
          <button type="button" class="btn" onClick={() => go(DEFAULT_APP)}>
            Open Default
          </button>
        </div>
      ) : (
        <>
          <Tabs label="Profile settings" tabs={tabsFor(network)} active={tab} onSelect={(t) => go(selected, t)}>
            {tab === 'uplink' && (
              <section class="card">
                <SettingsFields schema={sub('uplink')} value={draft.uplink} path="/uplink" problems={problems} onChange={(v) => update({ ...draft, uplink: v as ProfileSettings['uplink'] })} />
              </section>
            )}
            {tab === 'downlink' && (
              <section class="card">
                <SettingsFields
                  schema={sub('downlink')}
                  value={draft.downlink}
                  path="/downlink"
                  problems={problems}
                  {...(network === 'tts' ? {} : { only: Object.keys(sub('downlink').properties ?? {}).filter((k) => !TTS_ONLY_DOWNLINK.has(k)) })}
                  onChange={(v) => update({ ...draft, downlink: v as ProfileSettings['downlink'] })}
                />
              </section>
            )}
            {tab === 'payload' && (
              <PayloadProcessing
                // Runs, diffs and test results belong to one application's formatter.
                key={selected}
                appId={selected}
                network={network}
                schema={sub('formatter')}
                fPortSchema={sub('downlink').properties?.f_port ?? {}}
                value={draft.formatter}
                problems={problems}
                saveProblem={scriptProblem}
                suspensions={suspensions}
                isDefault={selected === DEFAULT_APP}
                ownProfiles={list.map((p) => p.app_id).filter((a) => a !== DEFAULT_APP)}
                savedAt={profile.updated_at}
                formatterDirty={formatterDirty}
                versionNote={versionNote}
                onVersionNote={setVersionNote}
                onRestored={onRestored}
                deadLetterId={deadLetter}
                onChange={(formatter) => update({ ...draft, formatter })}
              />
            )}
            {tab === 'webhook' &&
              (network === 'thingpark' ? (
                <ThingparkSettings
                  appId={selected}
                  schema={sub('thingpark')}
                  value={draft.thingpark ?? {}}
                  problems={problems}
                  saved={profile.thingpark}
                  connection={connection}
                  savedAt={profile.updated_at}
                  onChange={(thingpark) => update({ ...draft, thingpark: thingpark as ProfileSettings['thingpark'] })}
                />
              ) : (
                <WebhookSettings
                  appId={selected}
                  mqtt={
                    <TtsMqttSettings
                      appId={selected}
                      isDefault={selected === DEFAULT_APP}
                      schema={sub('tts_mqtt')}
                      value={draft.tts_mqtt}
                      saved={profile.tts_mqtt}
                      problems={problems}
                      connection={connection}
                      onChange={(ttsMqtt) => update({ ...draft, tts_mqtt: ttsMqtt as ProfileSettings['tts_mqtt'] })}
                    />
                  }
                />
              ))}
          </Tabs>

          <div class="save-bar" role="group" aria-label="Save profile">
            <div class="save-status" role="status">
              {save.kind === 'saving' && 'Saving…'}
              {save.kind === 'saved' && !dirty && 'Saved.'}
              {save.kind === 'invalid' && <span class="text-error">Not saved: {save.count === 1 ? 'one field needs' : `${save.count} fields need`} a fix (marked in red).</span>}
              {save.kind === 'idle' && (dirty ? <span class="text-warn">Unsaved changes</span> : <span class="muted">Last saved {ago(profile.updated_at)}</span>)}
            </div>
            {save.kind === 'failed' && <ErrorNote error={save.error} prefix="Not saved" />}
            <button type="button" class="btn btn-primary" onClick={onSave} disabled={save.kind === 'saving'} title="Save (Ctrl+S)">
              Save
            </button>
          </div>
        </>
      )}
    </div>
  );
}
