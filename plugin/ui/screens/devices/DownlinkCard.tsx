import { useState } from 'preact/hooks';
import { asApiError, type ApiError } from '../../api/errors.js';
import type { Device, DownlinkMessage, Json } from '../../api/types.js';
import { CodeEditor } from '../../components/CodeEditor.js';
import { ErrorNote } from '../../components/ErrorNote.js';
import { MessageStatus } from '../../components/MessageStatus.js';
import { useApp } from '../../lib/app-context.js';
import { prettyJson } from '../../lib/format.js';
import { networkName } from '../../lib/networks.js';

/**
 * The device's downlink property (Thinger's "downlink data"): editing and sending stores it and
 * sends it through the profile's downlink formatter.
 */
export function DownlinkCard({ device, onSent }: { device: Device; onSent(message: DownlinkMessage): void }) {
  const { api } = useApp();
  const [text, setText] = useState(() => prettyJson(device.properties.downlink));
  const [problem, setProblem] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ApiError | null>(null);
  const [sent, setSent] = useState<DownlinkMessage | null>(null);

  const send = async () => {
    let value: Json;
    try {
      value = JSON.parse(text) as Json;
    } catch (err) {
      setProblem(`Downlink data is not valid JSON: ${err instanceof Error ? err.message : String(err)}`);
      return;
    }
    setProblem(null);
    setError(null);
    setBusy(true);
    try {
      const answer = await api.sendDownlinkProperty(device.id, value);
      setSent(answer.message);
      onSent(answer.message);
    } catch (err) {
      setSent(null);
      setError(asApiError(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <section class="card" aria-labelledby="downlink-title">
      <header class="card-header">
        <h2 id="downlink-title">Downlink</h2>
        <p class="hint">
          Saved as the device’s downlink property and sent through the profile’s downlink formatter.
          {device.network === 'thingpark' && ' ThingPark takes bytes only: the downlink formatter must return bytes, not a decoded payload.'}
          {!device.downlink_ready && ` ${networkName(device.network).short} has not sent downlink credentials for this device yet: the message waits for its next uplink.`}
        </p>
      </header>
      <span class="field-label">Downlink data</span>
      <CodeEditor value={text} onChange={setText} language="json" label="Downlink data" size="short" />
      {problem && (
        <p class="field-error" role="alert">
          {problem}
        </p>
      )}
      <div class="button-row">
        <button type="button" class="btn btn-primary" onClick={send} disabled={busy}>
          {busy ? 'Sending…' : 'Send downlink'}
        </button>
      </div>
      {sent && (
        <p class="sent" role="status">
          {sent.status === 'FAILED' ? (
            <>
              <MessageStatus status={sent.status} /> <span class="text-error">{sent.error?.message ?? sent.detail}</span>
            </>
          ) : (
            // The status moves on (queued, sent, delivered): the history shows it live.
            <>
              Sent as <span class="mono">{sent.message_id}</span>; its status follows in the history.
            </>
          )}
        </p>
      )}
      <ErrorNote error={error} prefix="Not sent" />
    </section>
  );
}
