import { useState } from 'preact/hooks';
import type { DeadLetter } from '../../api/types.js';
import { ErrorNote } from '../../components/ErrorNote.js';
import { ReplayAll } from '../../components/ReplayAll.js';
import { useApp } from '../../lib/app-context.js';
import { ago } from '../../lib/format.js';
import { hrefOf } from '../../lib/router.js';
import { useLoad } from '../../lib/use-load.js';

interface Props {
  appId: string;
  /** Default runs for every application without a profile: their dead letters are listed, each with its own replay. */
  isDefault: boolean;
  /** Applications with a profile of their own (not run by Default). */
  ownProfiles: string[];
  /** When the profile was saved last: a save reloads the list. */
  savedAt: string;
  formatterDirty: boolean;
}

/** Dead letters of the applications this profile runs that wait for a replay, with Replay all per application. */
export function PendingDeadLetters({ appId, isDefault, ownProfiles, savedAt, formatterDirty }: Props) {
  const { api } = useApp();
  const letters = useLoad(() => api.deadLetters({ ...(isDefault ? {} : { app_id: appId }), limit: 1000 }), [api, appId, savedAt]);
  // Applications replayed here stay listed with their outcome, even with nothing left waiting.
  const [replayed, setReplayed] = useState<string[]>([]);

  if (letters.error) return <ErrorNote error={letters.error} prefix="Dead letters could not be loaded" />;
  const own = new Set(ownProfiles);
  const waiting = new Map<string, DeadLetter[]>();
  for (const l of letters.data ?? []) {
    if (l.replayed_at !== null || (isDefault ? own.has(l.app_id) : l.app_id !== appId)) continue;
    waiting.set(l.app_id, [...(waiting.get(l.app_id) ?? []), l]);
  }
  const apps = [...new Set([...waiting.keys(), ...replayed])].sort();
  if (apps.length === 0) return null;
  return (
    <section class="card" aria-labelledby="pending-title">
      <header class="card-header">
        <h2 id="pending-title">Dead letters waiting</h2>
        <p class="hint">
          Uplinks the formatter failed on are kept. Once the saved formatter handles them, replay them: each runs once through it, and what fails again is kept again.
          {formatterDirty && ' Save your edits first: replays run the saved formatter.'}
        </p>
      </header>
      <ul class="pending-list">
        {apps.map((app) => {
          const list = waiting.get(app) ?? [];
          // Listed newest first: the last is the oldest.
          const oldest = list[list.length - 1];
          return (
            <li key={app}>
              <span class="pending-text">
                <a href={hrefOf({ screen: 'dead-letters', appId: app })}>
                  {list.length} dead letter{list.length === 1 ? '' : 's'} of {app}
                </a>{' '}
                {list.length > 0 ? `waiting, the oldest from ${ago(oldest.created_at)}` : 'waiting'}
              </span>
              <ReplayAll
                appId={app}
                onReplayed={() => {
                  setReplayed((r) => (r.includes(app) ? r : [...r, app]));
                  letters.reload();
                }}
              />
            </li>
          );
        })}
      </ul>
    </section>
  );
}
