import { useState } from 'preact/hooks';
import { asApiError, type ApiError } from '../../api/errors.js';
import type { NetworkName, Profile } from '../../api/types.js';
import { ErrorNote } from '../../components/ErrorNote.js';
import { SchemaField } from '../../components/SchemaField.js';
import { useApp } from '../../lib/app-context.js';
import { APP_ID_PATTERN, NETWORK_NAMES } from '../../lib/networks.js';
import type { JsonSchema } from '../../schema/json-schema.js';
import { keyInput, thingparkFieldSchema, THINGPARK_FIELDS, thingparkProblems, type ThingparkField } from './thingpark-fields.js';

const CHOICES: { network: NetworkName; hint: string }[] = [
  { network: 'tts', hint: 'A TTS application sends its webhooks here; downlinks go back with the API key TTS sends along.' },
  { network: 'thingpark', hint: 'An AS routing profile (Generic HTTPS, tunnel interface) sends its reports here, signed with its tunnel key; downlinks go to the LRC.' },
];

const ID_TEXT: Record<NetworkName, { label: string; hint: string }> = {
  tts: { label: 'TTS app ID', hint: 'As shown in the TTS Console. The new profile starts with the default settings.' },
  thingpark: {
    label: 'Connection name',
    hint: 'Your name for this ThingPark connection (its app ID here): it becomes part of the URL ThingPark posts to. The rest of the profile starts with the default settings.',
  },
};

/** A new connection is made over HTTP; MQTT is chosen on its ThingPark settings tab. */
type ThingparkDraft = Record<ThingparkField, unknown>;

/**
 * Creates a profile for one application: a TTS application id with the defaults, or a named
 * ThingPark connection with its AS ID, tunnel key (write-only) and LRC downlink URL.
 */
export function AddProfileForm(props: { existing: string[]; onCreated(profile: Profile): void; onCancel(): void }) {
  const { api, manifest } = useApp();
  const tpSchema: JsonSchema = manifest.settings.schema.properties?.thingpark ?? {};
  const [network, setNetwork] = useState<NetworkName>('tts');
  const [appId, setAppId] = useState('');
  const [tp, setTp] = useState<ThingparkDraft>(() => ({
    as_id: '',
    as_key: '',
    downlink_url: '',
    max_clock_skew_s: tpSchema.properties?.max_clock_skew_s?.default ?? 60,
  }));
  // Field problems show once a create was tried, then follow the edits.
  const [tried, setTried] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ApiError | null>(null);
  const [exists, setExists] = useState(false);

  const id = appId.trim();
  const idProblem = !APP_ID_PATTERN.test(id) ? 'App IDs are 3–36 lowercase letters, digits and single dashes (no dash first or last).' : null;
  const tpProblems = network === 'thingpark' ? thingparkProblems(tpSchema, tp, { keyRequired: true }) : {};
  const serverProblems = serverFieldProblems(error);

  const submit = async (e: Event) => {
    e.preventDefault();
    setTried(true);
    // A PUT to an existing id would reset it to the defaults.
    if (props.existing.includes(id)) {
      setExists(true);
      return;
    }
    if (idProblem || Object.keys(tpProblems).length) return;
    setBusy(true);
    setError(null);
    try {
      const settings =
        network === 'thingpark'
          ? {
              network,
              thingpark: {
                as_id: String(tp.as_id),
                as_key: String(tp.as_key),
                downlink_url: String(tp.downlink_url),
                max_clock_skew_s: tp.max_clock_skew_s as number,
              },
            }
          : {};
      props.onCreated(await api.createProfile(id, settings));
    } catch (err) {
      setError(asApiError(err));
      setBusy(false);
    }
  };

  const text = ID_TEXT[network];
  return (
    <form class="card add-profile" onSubmit={submit} noValidate aria-label="Add application">
      <div class="field">
        <span class="field-label" id="new-network-label">
          Network
        </span>
        <div class="field-control choices" role="radiogroup" aria-labelledby="new-network-label">
          {CHOICES.map((c) => (
            <div key={c.network} class={`choice${network === c.network ? ' choice-selected' : ''}`}>
              <label>
                <input
                  type="radio"
                  name="new-network"
                  value={c.network}
                  checked={network === c.network}
                  aria-describedby={`new-network-${c.network}-hint`}
                  onChange={() => {
                    setNetwork(c.network);
                    setError(null);
                  }}
                />
                <span class="choice-name">{NETWORK_NAMES[c.network].full}</span>
              </label>
              <p class="hint" id={`new-network-${c.network}-hint`}>
                {c.hint}
              </p>
            </div>
          ))}
        </div>
      </div>
      <div class="field">
        <label class="field-label" for="new-app-id">
          {text.label}
        </label>
        <div class="field-control">
          <input
            id="new-app-id"
            value={appId}
            spellcheck={false}
            autoComplete="off"
            placeholder={network === 'thingpark' ? 'e.g. factory-thingpark' : 'e.g. greenhouse-app'}
            required
            autoFocus
            aria-invalid={(tried && idProblem) || exists ? true : undefined}
            aria-describedby="new-app-id-hint"
            onInput={(e) => {
              setAppId(e.currentTarget.value);
              setExists(false);
            }}
          />
          <p class="hint" id="new-app-id-hint">
            {text.hint}
          </p>
          {tried && idProblem && <p class="field-error">{idProblem}</p>}
          {exists && <p class="field-error">A profile for {id} already exists.</p>}
        </div>
      </div>
      {network === 'thingpark' && (
        <div class="fields">
          {THINGPARK_FIELDS.map((key) => (
            <SchemaField
              key={key}
              name={key}
              schema={thingparkFieldSchema(tpSchema, key, 'new')}
              value={tp[key]}
              problem={(tried ? tpProblems[`/thingpark/${key}`] : undefined) ?? serverProblems[`/thingpark/${key}`]}
              idPrefix="new-thingpark"
              {...(key === 'downlink_url' ? { placeholder: 'https://api.thingpark.com/thingpark/lrc/rest/downlink' } : {})}
              onChange={(v) => setTp({ ...tp, [key]: key === 'as_key' ? keyInput(v) : v })}
            />
          ))}
        </div>
      )}
      <ErrorNote error={error} prefix="Not created" />
      <div class="actions">
        <button type="submit" class="btn btn-primary" disabled={busy}>
          {busy ? 'Creating…' : 'Create profile'}
        </button>
        <button type="button" class="btn" onClick={props.onCancel}>
          Cancel
        </button>
      </div>
    </form>
  );
}

/** Server validation issues ({path, message}) by JSON pointer. */
export function serverFieldProblems(error: ApiError | null): Record<string, string> {
  const out: Record<string, string> = {};
  const issues = error?.details.errors;
  if (!Array.isArray(issues)) return out;
  for (const issue of issues) {
    if (typeof issue === 'object' && issue !== null && !Array.isArray(issue) && typeof issue.path === 'string') {
      out[issue.path] = String(issue.message ?? 'is invalid');
    }
  }
  return out;
}
