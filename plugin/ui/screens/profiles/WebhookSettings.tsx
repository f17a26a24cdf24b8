import type { ComponentChildren } from 'preact';
import { useState } from 'preact/hooks';
import { asApiError, type ApiError } from '../../api/errors.js';
import { CopyButton } from '../../components/CopyButton.js';
import { ErrorNote } from '../../components/ErrorNote.js';
import { useApp } from '../../lib/app-context.js';
import { download } from '../../lib/download.js';
import { useLoad } from '../../lib/use-load.js';

/** What to paste into the TTS Console (custom webhook), the template YAML, the MQTT connection (`mqtt`), and token rotation. */
export function WebhookSettings({ appId, mqtt }: { appId: string; mqtt: ComponentChildren }) {
  const { api } = useApp();
  const setup = useLoad(() => api.webhook(appId), [api, appId]);
  const [reveal, setReveal] = useState(false);
  const [confirming, setConfirming] = useState(false);
  const [rotating, setRotating] = useState(false);
  const [rotateError, setRotateError] = useState<ApiError | null>(null);
  const [rotated, setRotated] = useState(false);

  const rotate = async () => {
    setRotating(true);
    setRotateError(null);
    try {
      setup.set(await api.rotateWebhookToken(appId));
      setRotated(true);
      setConfirming(false);
    } catch (err) {
      setRotateError(asApiError(err));
    } finally {
      setRotating(false);
    }
  };

  if (setup.error) return <ErrorNote error={setup.error} prefix="Webhook settings could not be loaded" />;
  const s = setup.data;
  if (!s) return <p class="muted">Loading webhook settings…</p>;
  // The ProfilesScreen shows ThingPark profiles' own tab; this is only a profile changed meanwhile.
  if (s.network === 'thingpark') return <p class="muted">This profile is a ThingPark connection: it takes no TTS webhooks.</p>;
  const authorization = s.headers.Authorization;
  const masked = authorization.replace(/^(Bearer\s+.{4}).+$/, '$1••••••••••••');

  return (
    <div class="stack">
      <section class="card" aria-labelledby="webhook-title">
        <header class="card-header">
          <h2 id="webhook-title">Connect The Things Stack</h2>
          <p class="hint">
            In the TTS Console open the application{appId === 'default' ? '' : ` ${appId}`}, then Integrations › Webhooks › Add webhook › Custom webhook, and enter these
            values. Turn on “Create downlink API key” so downlinks can be sent.
          </p>
        </header>
        <dl class="kv">
          <dt>Webhook format</dt>
          <dd>JSON</dd>
          <dt>Base URL</dt>
          <dd class="copyable">
            <code>{s.base_url}</code>
            <CopyButton text={s.base_url} label="Copy base URL" />
          </dd>
          <dt>Additional header</dt>
          <dd class="copyable">
            <code>
              Authorization: <span aria-label={reveal ? undefined : 'hidden token'}>{reveal ? authorization : masked}</span>
            </code>
            <button type="button" class="btn btn-small" aria-pressed={reveal} onClick={() => setReveal(!reveal)}>
              {reveal ? 'Hide' : 'Show'}
            </button>
            <CopyButton text={authorization} label="Copy Authorization header value" />
          </dd>
        </dl>
        {rotated && (
          <p class="notice" role="status">
            New token active. Update the Authorization header in TTS: webhooks with the old token are refused.
          </p>
        )}
        <h3>Enabled event types and paths</h3>
        <table class="table compact">
          <thead>
            <tr>
              <th scope="col">Message type</th>
              <th scope="col">Path</th>
            </tr>
          </thead>
          <tbody>
            {Object.entries(s.paths).map(([type, path]) => (
              <tr key={type}>
                <td>{type.replace(/_/g, ' ')}</td>
                <td>
                  <code>{path}</code>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </section>

      <section class="card" aria-labelledby="template-title">
        <header class="card-header">
          <h2 id="template-title">Webhook template</h2>
          <p class="hint">The same settings as a TTS webhook template (YAML), with this profile’s token.</p>
        </header>
        <div class="button-row">
          <button type="button" class="btn" onClick={() => download(new Blob([s.template], { type: 'application/yaml' }), `lorawan-bridge-${appId}.yml`)}>
            Download template
          </button>
          <CopyButton text={s.template} label="Copy template YAML" small={false} />
        </div>
        <details class="disclosure">
          <summary>Show YAML</summary>
          <pre class="json" tabIndex={0} role="region" aria-label="Webhook template">{reveal ? s.template : s.template.replace(authorization, masked)}</pre>
        </details>
      </section>

      {mqtt}

      <section class="card danger-zone" aria-labelledby="rotate-title">
        <header class="card-header">
          <h2 id="rotate-title">Webhook token</h2>
          <p class="hint">Rotate the token if it leaked. TTS is refused until you paste the new Authorization header there.</p>
        </header>
        {confirming ? (
          <div class="button-row">
            <span>Rotate the token of {appId} now?</span>
            <button type="button" class="btn btn-danger" disabled={rotating} onClick={rotate}>
              {rotating ? 'Rotating…' : 'Rotate now'}
            </button>
            <button type="button" class="btn" onClick={() => setConfirming(false)}>
              Cancel
            </button>
          </div>
        ) : (
          <button type="button" class="btn btn-danger-outline" onClick={() => setConfirming(true)}>
            Rotate token
          </button>
        )}
        <ErrorNote error={rotateError} prefix="Not rotated" />
      </section>
    </div>
  );
}
