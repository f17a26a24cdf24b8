import { useState } from 'preact/hooks';
import { asApiError, type ApiError } from '../../api/errors.js';
import type { Profile } from '../../api/types.js';
import { ErrorNote } from '../../components/ErrorNote.js';
import { useApp } from '../../lib/app-context.js';

/** Creates a profile with the defaults for one TTS application id. */
export function AddProfileForm(props: { existing: string[]; onCreated(profile: Profile): void; onCancel(): void }) {
  const { api } = useApp();
  const [appId, setAppId] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ApiError | null>(null);
  const [exists, setExists] = useState(false);

  const submit = async (e: Event) => {
    e.preventDefault();
    const id = appId.trim();
    // A PUT to an existing id would reset it to the defaults.
    if (props.existing.includes(id)) {
      setExists(true);
      return;
    }
    setBusy(true);
    setError(null);
    try {
      props.onCreated(await api.createProfile(id));
    } catch (err) {
      setError(asApiError(err));
      setBusy(false);
    }
  };

  return (
    <form class="card add-profile" onSubmit={submit}>
      <div class="field">
        <label class="field-label" for="new-app-id">
          TTS app ID
        </label>
        <div class="field-control">
          <input
            id="new-app-id"
            value={appId}
            spellcheck={false}
            autoComplete="off"
            placeholder="e.g. greenhouse-app"
            required
            autoFocus
            onInput={(e) => {
              setAppId(e.currentTarget.value);
              setExists(false);
            }}
          />
          <p class="hint">As shown in the TTS Console. The new profile starts with the default settings.</p>
          {exists && <p class="field-error">A profile for {appId.trim()} already exists.</p>}
          <ErrorNote error={error} prefix="Not created" />
        </div>
      </div>
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
