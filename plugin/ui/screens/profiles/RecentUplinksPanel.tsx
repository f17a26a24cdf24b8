import { useEffect, useState } from 'preact/hooks';
import { asApiError, type ApiError } from '../../api/errors.js';
import type { ProfileSettings, RecentStatus, RecentTestAnswer } from '../../api/types.js';
import { Badge } from '../../components/Badge.js';
import { ErrorNote } from '../../components/ErrorNote.js';
import { useApp } from '../../lib/app-context.js';
import { LineLink } from './LineLink.js';
import { RecentRunItem, STATUS_TONE } from './RecentRunItem.js';

const STATUSES: RecentStatus[] = ['changed', 'failed', 'same'];
type Filter = RecentStatus | 'all';

interface Props {
  /** The profile's application; Default's runs for applications without one, so which is asked. */
  appId: string;
  isDefault: boolean;
  /** Default only: the application to run for (that of a dead letter being looked at), until the user types another. */
  initialApp: string;
  /** The editor's (unsaved) formatter. */
  formatter: ProfileSettings['formatter'];
  onReveal(line: number, column?: number): void;
}

/** The editor's script over the application's recent uplinks as they arrived, each against what was stored then. */
export function RecentUplinksPanel({ appId, isDefault, initialApp, formatter, onReveal }: Props) {
  const { api } = useApp();
  const [app, setApp] = useState(initialApp);
  const [running, setRunning] = useState(false);
  const [result, setResult] = useState<{ script: string; answer: RecentTestAnswer } | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const [filter, setFilter] = useState<Filter>('all');
  const target = isDefault ? app.trim() : appId;

  // The dead letter loads after the panel: its application then becomes the one to run.
  useEffect(() => {
    if (initialApp) setApp(initialApp);
  }, [initialApp]);

  const run = async () => {
    if (!target) return;
    setRunning(true);
    setError(null);
    try {
      setResult({ script: formatter.script, answer: await api.testRecent({ app_id: target, formatter }) });
      setFilter('all');
    } catch (err) {
      setResult(null);
      setError(asApiError(err));
    } finally {
      setRunning(false);
    }
  };

  const answer = result?.answer;
  const items = answer ? answer.items.filter((i) => filter === 'all' || i.status === filter) : [];
  const refused = error?.code === 'formatter_invalid' ? error : null;
  return (
    <section class="card" aria-labelledby="recent-title">
      <header class="card-header">
        <h2 id="recent-title">Run on recent uplinks</h2>
        <p class="hint">
          Runs the script in the editor, saved or not, over the application's last 200 uplinks as they arrived, and sets each output beside what was stored then. Nothing is
          stored.
        </p>
      </header>
      <div class="recent-controls">
        {isDefault && (
          <div class="recent-app">
            <label class="field-label" for="recent-app">
              Application
            </label>
            <input id="recent-app" type="text" value={app} maxLength={36} placeholder="an application without a profile" onInput={(e) => setApp(e.currentTarget.value)} />
          </div>
        )}
        <button type="button" class="btn btn-primary" disabled={running || !target} onClick={() => void run()}>
          {running ? 'Running…' : 'Run on recent uplinks'}
        </button>
      </div>
      {refused ? (
        <div class="error-note" role="alert">
          <strong>The script does not compile: </strong>
          {refused.message.replace(/^formatter:\s*/, '')}
          <LineLink
            line={typeof refused.details.line === 'number' ? refused.details.line : undefined}
            column={typeof refused.details.column === 'number' ? refused.details.column : undefined}
            onReveal={onReveal}
          />
        </div>
      ) : (
        <ErrorNote error={error} prefix="Not run" />
      )}
      {answer && (
        <div class="recent-result">
          <p class="run-counts" role="status">
            {answer.counts.total === 0 ? (
              `${answer.app_id} has no recent uplinks yet: they are kept as they arrive.`
            ) : (
              <>
                {STATUSES.map((s) => (
                  <Badge key={s} tone={answer.counts[s] ? STATUS_TONE[s] : 'muted'}>
                    {answer.counts[s]} {s}
                  </Badge>
                ))}
                <span class="sub">
                  of {answer.counts.total} uplink{answer.counts.total === 1 ? '' : 's'} of {answer.app_id}
                </span>
              </>
            )}
          </p>
          {result.script !== formatter.script && <p class="hint">The script changed since this run: run again to see your latest edits.</p>}
          {answer.counts.total > 0 && (
            <div class="segmented" role="group" aria-label="Show uplinks">
              {(['all', ...STATUSES] as Filter[]).map((f) => (
                <button key={f} type="button" class="segment" aria-pressed={filter === f} onClick={() => setFilter(f)}>
                  {f === 'all' ? 'All' : f[0].toUpperCase() + f.slice(1)} ({f === 'all' ? answer.counts.total : answer.counts[f]})
                </button>
              ))}
            </div>
          )}
          {answer.counts.total > 0 && items.length === 0 && <p class="muted">No {filter} uplinks.</p>}
          {items.length > 0 && (
            <ol class="runs" aria-label="Recent uplinks">
              {items.map((run) => (
                <RecentRunItem key={run.seq} run={run} onReveal={onReveal} />
              ))}
            </ol>
          )}
        </div>
      )}
    </section>
  );
}
