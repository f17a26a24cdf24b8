import { useEffect, useState } from 'preact/hooks';
import { asApiError, type ApiError } from '../../api/errors.js';
import type { DeadLetter, FormatterError, FormatterTestResult, Json, NetworkName, ProfileSettings } from '../../api/types.js';
import { Badge } from '../../components/Badge.js';
import { CodeEditor } from '../../components/CodeEditor.js';
import { ConsoleLog } from '../../components/ConsoleLog.js';
import { ErrorNote } from '../../components/ErrorNote.js';
import { JsonBlock } from '../../components/JsonBlock.js';
import { SchemaField } from '../../components/SchemaField.js';
import { useApp } from '../../lib/app-context.js';
import { prettyJson } from '../../lib/format.js';
import { networkName } from '../../lib/networks.js';
import type { Loaded } from '../../lib/use-load.js';
import { problemOf, type JsonSchema } from '../../schema/json-schema.js';
import { DeadLetterNote } from './DeadLetterNote.js';
import { LineLink } from './LineLink.js';
import { SAMPLE_DOWNLINK, SAMPLE_UPLINKS } from './samples.js';

type Direction = 'uplink' | 'downlink';

interface Props {
  appId: string;
  /** The profile's network: which uplink report the sample is and the input may be. */
  network: NetworkName;
  /** The editor's (unsaved) formatter: the test runs what you see. */
  formatter: ProfileSettings['formatter'];
  fPortSchema: JsonSchema;
  /** A dead letter to test with (opened from the dead letters): its body becomes the input. */
  deadLetter: { id: number; loaded: Loaded<DeadLetter | null> } | null;
  /** The profile's formatter version now (null while unknown). */
  currentVersion: number | null;
  onErrors(errors: FormatterError[]): void;
  onReveal(line: number, column?: number): void;
}

/** The formatter test tool: same sandbox and limits as production, nothing stored. */
export function FormatterTestPanel({ appId, network, formatter, fPortSchema, deadLetter, currentVersion, onErrors, onReveal }: Props) {
  const { api } = useApp();
  const sampleUplink = SAMPLE_UPLINKS[network];
  const [input, setInput] = useState(() => prettyJson(sampleUplink));
  const [inputProblem, setInputProblem] = useState<string | null>(null);
  const [fPort, setFPort] = useState<Json>(null);
  const [running, setRunning] = useState<Direction | null>(null);
  const [result, setResult] = useState<{ direction: Direction; answer: FormatterTestResult } | null>(null);
  const [requestError, setRequestError] = useState<ApiError | null>(null);
  const letter = deadLetter?.loaded.data ?? null;

  // Once per dead letter: later edits of the input are the user's.
  useEffect(() => {
    if (letter) setInput(prettyJson(letter.body));
  }, [letter?.id]);

  const run = async (direction: Direction) => {
    if (direction === 'downlink' && problemOf(fPortSchema, fPort)) return;
    let parsed: Json;
    try {
      parsed = JSON.parse(input) as Json;
    } catch (err) {
      setInputProblem(`Test input is not valid JSON: ${err instanceof Error ? err.message : String(err)}`);
      return;
    }
    setInputProblem(null);
    setRunning(direction);
    setRequestError(null);
    try {
      const answer = await api.testFormatter({
        app_id: appId,
        direction,
        formatter,
        input: parsed,
        ...(direction === 'downlink' && typeof fPort === 'number' ? { f_port: fPort } : {}),
      });
      setResult({ direction, answer });
      // A failing normalizeUplink is marked in the editor too: it is part of the same script.
      onErrors(answer.normalized_error ? [...answer.errors, answer.normalized_error] : answer.errors);
    } catch (err) {
      setResult(null);
      setRequestError(asApiError(err));
      onErrors([]);
    } finally {
      setRunning(null);
    }
  };

  return (
    <section class="card test-panel" aria-labelledby="test-title">
      <header class="card-header">
        <h2 id="test-title">Test</h2>
        <p class="hint">Runs the script in the editor, saved or not, in the production sandbox. Nothing is stored.</p>
      </header>
      {deadLetter && <DeadLetterNote id={deadLetter.id} loaded={deadLetter.loaded} current={currentVersion} onReveal={onReveal} />}
      <div class="test-grid">
        <div class="test-input">
          <div class="test-input-head">
            <span class="field-label">
              Test input
            </span>
            <div class="button-row">
              <button type="button" class="btn btn-small" onClick={() => setInput(prettyJson(sampleUplink))}>
                Sample uplink
              </button>
              <button type="button" class="btn btn-small" onClick={() => setInput(prettyJson(SAMPLE_DOWNLINK))}>
                Sample downlink
              </button>
            </div>
          </div>
          <p class="hint">
            Uplink: {network === 'thingpark' ? 'a ThingPark DevEUI_uplink report (JSON)' : 'a TTS uplink webhook body'}, or {'{frm_payload | bytes, f_port}'}. Downlink: the JSON
            payload you would send.
          </p>
          <CodeEditor value={input} onChange={setInput} language="json" label="Test input" size="short" />
          {inputProblem && (
            <p class="field-error" role="alert">
              {inputProblem}
            </p>
          )}
          <div class="fields fields-inline">
            <SchemaField
              name="f_port"
              schema={{ ...fPortSchema, description: 'Downlink test only; empty uses the profile default.' }}
              value={fPort}
              onChange={setFPort}
              problem={problemOf(fPortSchema, fPort) ?? undefined}
              idPrefix="test"
            />
          </div>
          <div class="button-row">
            <button type="button" class="btn btn-primary" disabled={running !== null} onClick={() => run('uplink')}>
              {running === 'uplink' ? 'Running…' : 'Run uplink test'}
            </button>
            <button type="button" class="btn btn-primary" disabled={running !== null} onClick={() => run('downlink')}>
              {running === 'downlink' ? 'Running…' : 'Run downlink test'}
            </button>
          </div>
        </div>
        <section class="test-result" role="region" aria-label="Test result" aria-live="polite" aria-busy={running !== null}>
          {requestError && <ErrorNote error={requestError} prefix="The test did not run" />}
          {!result && !requestError && <p class="muted">Run a test to see the output, normalized measurements, console logs, warnings and errors.</p>}
          {result && <TestResult {...result} onReveal={onReveal} />}
        </section>
      </div>
    </section>
  );
}

function TestResult({ direction, answer, onReveal }: { direction: Direction; answer: FormatterTestResult; onReveal(line: number, column?: number): void }) {
  return (
    <>
      <div class="result-head">
        <span class="result-title">
          {direction === 'uplink' ? 'Uplink' : 'Downlink'} test <Badge tone={answer.ok ? 'ok' : 'error'}>{answer.ok ? 'passed' : 'failed'}</Badge>
        </span>
        <span class="muted">{answer.duration_ms} ms</span>
      </div>
      {answer.errors.map((error, i) => (
        <div class="error-note" key={i}>
          <strong>{error.kind} error: </strong>
          {error.message}
          <LineLink line={error.line} column={error.column} onReveal={onReveal} />
        </div>
      ))}
      {answer.warnings.length > 0 && (
        <>
          <h3>Warnings</h3>
          <ul class="warnings">
            {answer.warnings.map((w, i) => (
              <li key={i}>{w}</li>
            ))}
          </ul>
        </>
      )}
      {answer.ok && (
        <>
          <h3>Output</h3>
          <JsonBlock value={answer.output} label="Output" />
        </>
      )}
      {answer.normalized && (
        <>
          <h3>Normalized measurements</h3>
          <JsonBlock value={answer.normalized} label="Normalized measurements" />
        </>
      )}
      {answer.normalized_error && (
        <div class="error-note">
          <strong>normalizeUplink {answer.normalized_error.kind} error: </strong>
          {answer.normalized_error.message}
          <LineLink line={answer.normalized_error.line} column={answer.normalized_error.column} onReveal={onReveal} />
        </div>
      )}
      {answer.normalized_warnings && answer.normalized_warnings.length > 0 && (
        <>
          <h3>Normalization warnings</h3>
          <ul class="warnings" aria-label="Normalization warnings">
            {answer.normalized_warnings.map((w, i) => (
              <li key={i}>{w}</li>
            ))}
          </ul>
        </>
      )}
      {answer.request && (
        <>
          <h3>What would be sent to {networkName(answer.network).short}</h3>
          <JsonBlock value={answer.request} label={`What would be sent to ${networkName(answer.network).short}`} />
        </>
      )}
      <h3>Console</h3>
      {answer.logs.length === 0 ? (
        <p class="muted">No console output.</p>
      ) : (
        <ConsoleLog logs={answer.logs} label="Console logs" />
      )}
    </>
  );
}
