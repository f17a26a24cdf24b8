import { useState } from 'preact/hooks';
import { asApiError, type ApiError } from '../api/errors.js';
import type { DeadLetter } from '../api/types.js';
import { Badge } from '../components/Badge.js';
import { ErrorNote } from '../components/ErrorNote.js';
import { JsonBlock } from '../components/JsonBlock.js';
import { NetworkBadge } from '../components/NetworkBadge.js';
import { useApp } from '../lib/app-context.js';
import { ago, dateTime } from '../lib/format.js';
import { hrefOf } from '../lib/router.js';
import { useLoad } from '../lib/use-load.js';
import { useNow } from '../lib/use-now.js';

type ReplayState = { kind: 'busy' } | { kind: 'done'; status: string } | { kind: 'failed'; error: ApiError };

/** Uplinks that could not be processed, kept whole; replay runs them through today's profile. */
export function DeadLettersScreen() {
  const { api } = useApp();
  const letters = useLoad(api.deadLetters, [api]);
  const [replays, setReplays] = useState<Record<number, ReplayState>>({});
  const [open, setOpen] = useState<number | null>(null);
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

  const items = letters.data ?? [];
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
      <ErrorNote error={letters.error} prefix="Dead letters could not be loaded" />
      {letters.data && items.length === 0 && (
        <div class="card empty">
          <p>No dead letters. Every uplink so far was processed.</p>
        </div>
      )}
      {items.length > 0 && (
        <ul class="letters">
          {items.map((l) => {
            const state = replays[l.id];
            const message = typeof l.error.message === 'string' ? l.error.message : JSON.stringify(l.error);
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
                      <span class="sub">{l.app_id}</span>
                    </div>
                    <p class="letter-error">{message}</p>
                    <p class="sub" title={dateTime(l.created_at)}>
                      #{l.id} · received {ago(l.created_at, now)}
                      {l.replayed_at && ` · replayed ${ago(l.replayed_at, now)}`}
                    </p>
                  </div>
                  <div class="button-row">
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
