import { useState } from 'preact/hooks';
import { asApiError, type ApiError } from '../../api/errors.js';
import type { FormatterVersion, FormatterVersionList } from '../../api/types.js';
import { Badge } from '../../components/Badge.js';
import { ConfirmDialog } from '../../components/ConfirmDialog.js';
import { DiffView } from '../../components/DiffView.js';
import { ErrorNote } from '../../components/ErrorNote.js';
import { useApp } from '../../lib/app-context.js';
import { ago, byteSize, dateTime } from '../../lib/format.js';
import type { Loaded } from '../../lib/use-load.js';
import { VersionNote } from './VersionNote.js';

/** Versions listed before "Show all": the recent ones are those compared and restored. */
const FIRST = 8;

interface Props {
  appId: string;
  /** The profile's versions, loaded again after each save. */
  versions: Loaded<FormatterVersionList>;
  /** The editor's script, saved or not: what a version is compared with. */
  editorScript: string;
  /** The editor holds formatter changes not saved yet (a restore replaces them). */
  editorDirty: boolean;
  /** After a restore: load the profile again, so that the editor shows the restored script. */
  onRestored(): Promise<void>;
}

type Comparison = { version: number; script: string | null; error: ApiError | null };
type Restore = { version: FormatterVersion; busy: boolean; error: ApiError | null };

/** Every saved formatter of the profile: notes, a diff against the editor, restore as a new version. */
export function VersionsPanel({ appId, versions, editorScript, editorDirty, onRestored }: Props) {
  const { api } = useApp();
  const [showAll, setShowAll] = useState(false);
  const [comparison, setComparison] = useState<Comparison | null>(null);
  const [restore, setRestore] = useState<Restore | null>(null);
  const [restored, setRestored] = useState<{ from: number; to: number } | null>(null);
  const [reloadError, setReloadError] = useState<ApiError | null>(null);

  const compare = async (version: number) => {
    if (comparison?.version === version) return setComparison(null);
    setComparison({ version, script: null, error: null });
    try {
      const { script } = await api.formatterVersion(appId, version);
      setComparison((c) => (c?.version === version ? { version, script, error: null } : c));
    } catch (err) {
      setComparison((c) => (c?.version === version ? { version, script: null, error: asApiError(err) } : c));
    }
  };

  const confirmRestore = async () => {
    if (!restore) return;
    setRestore({ ...restore, busy: true, error: null });
    let version: number;
    try {
      ({ version } = await api.restoreFormatterVersion(appId, restore.version.version));
    } catch (err) {
      return setRestore({ ...restore, busy: false, error: asApiError(err) });
    }
    setRestore(null);
    setReloadError(null);
    try {
      await onRestored();
      setRestored({ from: restore.version.version, to: version });
    } catch (err) {
      setReloadError(asApiError(err));
    }
  };

  const items = versions.data?.items ?? [];
  const shownItems = showAll ? items : items.slice(0, FIRST);
  return (
    <section class="card" aria-labelledby="versions-title">
      <header class="card-header">
        <h2 id="versions-title">Versions</h2>
        <p class="hint">Every save that changes the formatter is a version (the last 100 are kept). Compare one with the editor, or restore it as a new version.</p>
      </header>
      <ErrorNote error={versions.error} prefix="Versions could not be loaded" />
      <ErrorNote error={reloadError} prefix="Restored, but the profile could not be loaded again (reload the page)" />
      {restored && (
        <p class="notice" role="status">
          Version {restored.from} restored as version {restored.to}; the editor shows its script.
        </p>
      )}
      {versions.data && items.length === 0 && <p class="muted">No versions yet: the formatter was never saved.</p>}
      {items.length > 0 && (
        <ol class="versions" aria-label="Formatter versions">
          {shownItems.map((v) => (
            <li key={v.version} class="version">
              <div class="version-head">
                <div class="version-main">
                  <span class="version-title">
                    <strong>Version {v.version}</strong>
                    {v.current && <Badge tone="ok">current</Badge>}
                  </span>
                  <span class="sub">
                    <time dateTime={v.created_at} title={dateTime(v.created_at)}>
                      {ago(v.created_at)}
                    </time>{' '}
                    · {byteSize(v.size)}
                    {v.type !== 'javascript' && ` · ${v.type}`} · {v.timeout_ms} ms limit
                  </span>
                </div>
                <div class="button-row">
                  <button
                    type="button"
                    class="btn btn-small"
                    aria-pressed={comparison?.version === v.version}
                    aria-label={`Compare version ${v.version} with the editor`}
                    onClick={() => void compare(v.version)}
                  >
                    Compare
                  </button>
                  {!v.current && (
                    <button type="button" class="btn btn-small" aria-label={`Restore version ${v.version}`} onClick={() => setRestore({ version: v, busy: false, error: null })}>
                      Restore
                    </button>
                  )}
                </div>
              </div>
              <VersionNote
                appId={appId}
                version={v}
                onNoted={(noted) => versions.data && versions.set({ ...versions.data, items: items.map((x) => (x.version === noted.version ? { ...x, note: noted.note } : x)) })}
              />
              {comparison?.version === v.version && (
                <div class="version-diff">
                  <ErrorNote error={comparison.error} prefix="The version could not be loaded" />
                  {comparison.script === null && !comparison.error && <p class="muted">Loading version {v.version}…</p>}
                  {comparison.script !== null && (
                    <>
                      <p class="hint">
                        Lines marked − are only in version {v.version}, lines marked + only in the editor{editorDirty ? ' (unsaved)' : ''}.
                      </p>
                      <DiffView oldText={comparison.script} newText={editorScript} label={`Version ${v.version} against the editor`} />
                    </>
                  )}
                </div>
              )}
            </li>
          ))}
        </ol>
      )}
      {items.length > FIRST && (
        <button type="button" class="btn btn-small versions-more" onClick={() => setShowAll(!showAll)} aria-expanded={showAll}>
          {showAll ? 'Show fewer' : `Show all ${items.length} versions`}
        </button>
      )}
      {restore && (
        <ConfirmDialog
          title={`Restore version ${restore.version.version}?`}
          confirmLabel="Restore"
          busyLabel="Restoring…"
          busy={restore.busy}
          error={restore.error}
          errorPrefix="Not restored"
          onConfirm={() => void confirmRestore()}
          onCancel={() => setRestore(null)}
        >
          <p>
            Its formatter ({byteSize(restore.version.size)}, saved {dateTime(restore.version.created_at)}) is saved as version {(versions.data?.current ?? 0) + 1} and runs from now on. The versions after it
            stay in the list.
          </p>
          {editorDirty && <p class="text-warn">The unsaved changes to the formatter in the editor are replaced.</p>}
        </ConfirmDialog>
      )}
    </section>
  );
}
