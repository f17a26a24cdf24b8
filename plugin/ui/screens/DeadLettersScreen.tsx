import { useState } from 'preact/hooks';
import { asApiError, type ApiError } from '../api/errors.js';
import type { DeadLetter } from '../api/types.js';
import { Badge } from '../components/Badge.js';
import { ErrorNote } from '../components/ErrorNote.js';
import { JsonBlock } from '../components/JsonBlock.js';
import { NetworkBadge } from '../components/NetworkBadge.js';
import { ReplayAll } from '../components/ReplayAll.js';
import { useApp } from '../lib/app-context.js';
import { ago, dateTime } from '../lib/format.js';
import { hrefOf, navigate } from '../lib/router.js';
import { useLoad } from '../lib/use-load.js';
import { useNow } from '../lib/use-now.js';

type ReplayState = { kind: 'busy' } | { kind: 'done'; status: string } | { kind: 'failed'; error: ApiError };

/** The profile every application without its own runs. */
const DEFAULT_APP = 'default';

/** Reasons a formatter gave: the editor can run the letter's uplink again. */
const FORMATTER_REASONS = new Set(['formatter_error', 'suspended']);

/** Uplinks that could not be processed, kept whole; replay runs them through today's profile. */
export function DeadLettersScreen({ appId }: { appId?: string }) {
  const { api } = useApp();
  // Filtered by application: all of its letters that one replay-all takes; otherwise the newest. The
  // profiles tell which one runs each application. Asked in turn: a refused token signs out at the first 401.
  const letters = useLoad(async () => {
    const items = await api.deadLetters(appId ? { app_id: appId, limit: 1000 } : {});
    return { items, ownProfiles: new Set((await api.profiles()).map((p) => p.app_id)) };
  }, [api, appId]);
  const [replays, setReplays] = useState<Record<number, ReplayState>>({});
  const [open, setOpen] = useState<number | null>(null);
  const [replayedAll, setReplayedAll] = useState<string | null>(null);
  const now = useNow();

  const replay = async (letter: DeadLetter) => {
    setReplays((r) => ({ ...r, [letter.id]: { kind: 'busy' } }));
    try {
      const answer = await api.replayDeadLetter(letter.id);
      setReplays((r) => ({ ...r, [letter.id]: { kind: 'done', status: answer.status } }));
      letters.reload();
    } catch (err) {
      setReplays((r) => ({ ...r, [letter.id]: { kind: 'failed', error: asApiError(err) } }));
      letters.reload();
    }
  };

  const items = letters.data?.items ?? [];
  const ownProfiles = letters.data?.ownProfiles ?? new Set<string>();
  /** The profile whose formatter an application's uplinks run. */
  const profileOf = (app: string) => (ownProfiles.has(app) ? app : DEFAULT_APP);
  const apps = [...new Set([...ownProfiles, ...items.map((l) => l.app_id), ...(appId ? [appId] : [])])].filter((a) => a !== DEFAULT_APP).sort();
  const pending = items.filter((l) => !l.replayed_at).length;
  return (
    <div class="page">
      <header class="page-header">
        <div>
          <h1>Dead letters</h1>
          <p class="lead">Uplinks kept because their formatter failed or their device could not be provisioned. Fix the profile, then replay.</p>
        </div>
        <button type="button" class="btn" onClick={letters.reload} disabled={letters.loading}>
          Refresh
        </button>
      </header>
      <form class="card letters-filter" role="search" aria-label="Dead letter filters" onSubmit={(e) => e.preventDefault()}>
        <div class="letters-app">
          <label class="field-label" for="letters-app">
            Application
          </label>
          <select id="letters-app" value={appId ?? ''} onChange={(e) => navigate({ screen: 'dead-letters', ...(e.currentTarget.value ? { appId: e.currentTarget.value } : {}) })}>
            <option value="">All applications</option>
            {apps.map((a) => (
              <option key={a} value={a}>
                {a}
              </option>
            ))}
          </select>
        </div>
        {appId && (pending > 0 || replayedAll === appId) && (
          <div class="letters-replay">
            <span>
              {pending} waiting for a replay through the {profileOf(appId) === appId ? 'profile' : 'Default profile'}.
            </span>
            <ReplayAll
              // A new application: a new outcome.
              key={appId}
              appId={appId}
              onReplayed={() => {
                setReplayedAll(appId);
                letters.reload();
              }}
            />
          </div>
        )}
      </form>
      <ErrorNote error={letters.error} prefix="Dead letters could not be loaded" />
      {letters.data && items.length === 0 && (
        <div class="card empty">
          <p>{appId ? `No dead letters of ${appId}.` : 'No dead letters. Every uplink so far was processed.'}</p>
        </div>
      )}
      {items.length > 0 && (
        <ul class="letters">
          {items.map((l) => {
            const state = replays[l.id];
            const message = typeof l.error.message === 'string' ? l.error.message : JSON.stringify(l.error);
            const version = typeof l.error.formatter_version === 'number' ? l.error.formatter_version : null;
            return (
              <li key={l.id} class="card letter">
                <div class="letter-head">
                  <div class="letter-main">
                    <div class="letter-title">
                      <Badge tone={l.replayed_at ? 'muted' : 'error'}>{l.reason.replace(/_/g, ' ')}</Badge>
                      <a class="mono strong" href={hrefOf({ screen: 'device', id: l.device_id })}>
                        {l.device_id}
                      </a>
                      <NetworkBadge network={l.network} />
                      {appId ? (
                        <span class="sub">{l.app_id}</span>
                      ) : (
                        <a class="sub" href={hrefOf({ screen: 'dead-letters', appId: l.app_id })} aria-label={`Dead letters of ${l.app_id}`}>
                          {l.app_id}
                        </a>
                      )}
                    </div>
                    <p class="letter-error">{message}</p>
                    <p class="sub" title={dateTime(l.created_at)}>
                      #{l.id} · received {ago(l.created_at, now)}
                      {version !== null && ` · formatter version ${version}`}
                      {l.replayed_at && ` · replayed ${ago(l.replayed_at, now)}`}
                    </p>
                  </div>
                  <div class="button-row">
                    {FORMATTER_REASONS.has(l.reason) && (
                      <a
                        class="btn btn-small"
                        href={hrefOf({ screen: 'profiles', appId: profileOf(l.app_id), tab: 'payload', deadLetter: l.id })}
                        aria-label={`Open in editor: dead letter ${l.id}`}
                      >
                        Open in editor
                      </a>
                    )}
                    <button type="button" class="btn btn-small" aria-expanded={open === l.id} onClick={() => setOpen(open === l.id ? null : l.id)}>
                      {open === l.id ? 'Hide body' : 'Show body'}
                    </button>
                    {!l.replayed_at && (
                      <button type="button" class="btn btn-small btn-primary" disabled={state?.kind === 'busy'} onClick={() => replay(l)} aria-label={`Replay dead letter ${l.id}`}>
                        {state?.kind === 'busy' ? 'Replaying…' : 'Replay'}
                      </button>
                    )}
                  </div>
                </div>
                {state?.kind === 'done' && (
                  <p class="notice" role="status">
                    Replayed: {state.status}.
                  </p>
                )}
                {state?.kind === 'failed' && <ErrorNote error={state.error} prefix="Replay failed" />}
                {open === l.id && (
                  <div class="letter-body">
                    <h3>Error</h3>
                    <JsonBlock value={l.error} />
                    <h3>{l.network === 'tts' ? 'Webhook body' : 'Report body'}</h3>
                    <JsonBlock value={l.body} />
                  </div>
                )}
              </li>
            );
          })}
        </ul>
      )}
    </div>
  );
}
