import { useState } from 'preact/hooks';
import { asApiError, type ApiError } from '../../api/errors.js';
import type { FormatterVersion } from '../../api/types.js';
import { ErrorNote } from '../../components/ErrorNote.js';
import { useApp } from '../../lib/app-context.js';

/** The API's limit on a version note. */
export const NOTE_MAX = 200;

/** A version's note, and a small form to change or remove it. */
export function VersionNote({ appId, version, onNoted }: { appId: string; version: FormatterVersion; onNoted(v: FormatterVersion): void }) {
  const { api } = useApp();
  const [text, setText] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ApiError | null>(null);

  const submit = async (e: Event) => {
    e.preventDefault();
    if (text === null) return;
    setBusy(true);
    setError(null);
    try {
      onNoted(await api.noteFormatterVersion(appId, version.version, text.trim() || null));
      setText(null);
    } catch (err) {
      setError(asApiError(err));
    } finally {
      setBusy(false);
    }
  };

  if (text === null) {
    return (
      <p class="version-note">
        {version.note ?? <span class="muted">No note</span>}
        <button type="button" class="link" aria-label={`Edit note of version ${version.version}`} onClick={() => setText(version.note ?? '')}>
          Edit note
        </button>
      </p>
    );
  }
  return (
    <form class="version-note-form" onSubmit={submit}>
      <input
        type="text"
        value={text}
        maxLength={NOTE_MAX}
        aria-label={`Note of version ${version.version}`}
        placeholder="What changed, why"
        onInput={(e) => setText(e.currentTarget.value)}
        // Opened on purpose, to type in.
        autoFocus
      />
      <button type="submit" class="btn btn-small btn-primary" disabled={busy}>
        {busy ? 'Setting…' : 'Set note'}
      </button>
      <button type="button" class="btn btn-small" onClick={() => setText(null)}>
        Cancel
      </button>
      <ErrorNote error={error} prefix="Note not set" />
    </form>
  );
}
