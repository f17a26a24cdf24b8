import { useState } from 'preact/hooks';
import { asApiError, type ApiError } from '../api/errors.js';
import type { ReplayAllResult } from '../api/types.js';
import { useApp } from '../lib/app-context.js';
import { ErrorNote } from './ErrorNote.js';

/** "3 replayed: 2 stored, 1 failed again", and what else there is to know. */
function replaySummary(r: ReplayAllResult): string {
  if (r.replayed === 0 && r.skipped === 0) return 'Nothing to replay: no dead letter of this application is waiting.';
  const parts = [`${r.replayed} replayed: ${r.stored} stored, ${r.failed} failed again`];
  if (r.skipped) parts.push(`${r.skipped} skipped (replayed meanwhile, or no uplink)`);
  let text = parts.join('; ');
  if (r.failed) text += '. Those that failed again are new dead letters';
  if (r.more) text += '. More are waiting: replay all again';
  return `${text}.`;
}

/** Replays every pending dead letter of one application through its profile's saved formatter. */
export function ReplayAll({ appId, onReplayed }: { appId: string; onReplayed(result: ReplayAllResult): void }) {
  const { api } = useApp();
  const [busy, setBusy] = useState(false);
  const [result, setResult] = useState<ReplayAllResult | null>(null);
  const [error, setError] = useState<ApiError | null>(null);

  const replay = async () => {
    setBusy(true);
    setError(null);
    try {
      const answer = await api.replayAllDeadLetters(appId);
      setResult(answer);
      onReplayed(answer);
    } catch (err) {
      setError(asApiError(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <div class="replay-all">
      <button type="button" class="btn btn-primary btn-small" disabled={busy} onClick={() => void replay()} aria-label={`Replay all dead letters of ${appId}`}>
        {busy ? 'Replaying…' : 'Replay all'}
      </button>
      <span role="status" class="replay-result">
        {result && replaySummary(result)}
      </span>
      <ErrorNote error={error} prefix="Not replayed" />
    </div>
  );
}
