import { useState } from 'preact/hooks';
import { asApiError, type ApiError } from '../../api/errors.js';
import type { CodecExamplesAnswer, ProfileSettings } from '../../api/types.js';
import { Badge } from '../../components/Badge.js';
import { ErrorNote } from '../../components/ErrorNote.js';
import { useApp } from '../../lib/app-context.js';
import { CodecExampleItem } from './CodecExampleItem.js';

interface Props {
  appId: string;
  /** The editor's formatter: its script is the codec; its time limit applies. */
  formatter: ProfileSettings['formatter'];
  onReveal(line: number, column?: number): void;
}

/** Where a refused YAML went wrong: a path into it, or a line and column of the text. */
function whereOf(error: ApiError): string {
  const { path, line, column } = error.details;
  if (typeof path === 'string') return ` (at ${path})`;
  if (typeof line === 'number') return ` (line ${line}${typeof column === 'number' ? `, column ${column}` : ''})`;
  return '';
}

/** A TTS Device Repository codec: the editor's script against the examples of its codec YAML. */
export function CodecExamplesPanel({ appId, formatter, onReveal }: Props) {
  const { api } = useApp();
  const [yaml, setYaml] = useState('');
  const [running, setRunning] = useState(false);
  const [result, setResult] = useState<{ script: string; yaml: string; answer: CodecExamplesAnswer } | null>(null);
  const [error, setError] = useState<ApiError | null>(null);

  const run = async () => {
    setRunning(true);
    setError(null);
    try {
      const answer = await api.runCodecExamples({ app_id: appId, script: formatter.script, yaml, timeout_ms: formatter.timeout_ms });
      setResult({ script: formatter.script, yaml, answer });
    } catch (err) {
      setResult(null);
      setError(asApiError(err));
    } finally {
      setRunning(false);
    }
  };

  const answer = result?.answer;
  const failedFirst = answer ? [...answer.examples.filter((e) => !e.ok), ...answer.examples.filter((e) => e.ok)] : [];
  return (
    <section class="card" aria-labelledby="codec-title">
      <header class="card-header">
        <h2 id="codec-title">Codec from the Device Repository</h2>
        <p class="hint">
          Paste the device's codec YAML (the file beside the codec script in the TTS Device Repository). Its examples run against the script in the editor, saved or not, as
          TTS checks them. Nothing is stored.
        </p>
      </header>
      <label class="field-label" for="codec-yaml">
        Codec YAML
      </label>
      <textarea
        id="codec-yaml"
        class="mono codec-yaml"
        rows={10}
        spellcheck={false}
        value={yaml}
        placeholder={'uplinkDecoder:\n  fileName: codec.js\n  examples:\n    - description: …\n      input: { fPort: 1, bytes: [1, 2] }\n      output: { data: { … } }'}
        onInput={(e) => setYaml(e.currentTarget.value)}
      />
      <div class="button-row">
        <button type="button" class="btn btn-primary" disabled={running || !yaml.trim() || !formatter.script.trim()} onClick={() => void run()}>
          {running ? 'Running…' : 'Run examples'}
        </button>
        {!formatter.script.trim() && <span class="hint">The editor holds no script to run.</span>}
      </div>
      {error?.code === 'invalid_codec' ? (
        <div class="error-note" role="alert">
          <strong>The codec YAML was refused{whereOf(error)}: </strong>
          {error.message}
        </div>
      ) : (
        <ErrorNote error={error} prefix="Not run" />
      )}
      {answer && (
        <div class="codec-result">
          <p class="run-counts" role="status">
            <Badge tone={answer.counts.failed ? 'error' : 'ok'}>{answer.counts.failed} failed</Badge>
            <Badge tone={answer.counts.passed ? 'ok' : 'muted'}>{answer.counts.passed} passed</Badge>
            <span class="sub">
              of {answer.examples.length} example{answer.examples.length === 1 ? '' : 's'}
            </span>
          </p>
          {(result.script !== formatter.script || result.yaml !== yaml) && <p class="hint">The script or the YAML changed since this run: run again to see your latest edits.</p>}
          <ol class="runs" aria-label="Codec examples">
            {failedFirst.map((example) => (
              <CodecExampleItem key={`${example.section}-${example.index}`} example={example} onReveal={onReveal} />
            ))}
          </ol>
        </div>
      )}
    </section>
  );
}
