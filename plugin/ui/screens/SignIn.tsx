import { useState } from 'preact/hooks';
import { Api } from '../api/client.js';
import { ApiError, asApiError } from '../api/errors.js';
import { ErrorNote } from '../components/ErrorNote.js';
import { Logo } from '../components/Icon.js';

/** Checks the token against the API before keeping it. */
export function SignIn({ notice, onSignedIn }: { notice: string | null; onSignedIn(token: string): void }) {
  const [token, setToken] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ApiError | null>(null);

  const submit = async (e: Event) => {
    e.preventDefault();
    const value = token.trim();
    if (!value) return;
    setBusy(true);
    setError(null);
    try {
      await new Api(value, () => undefined).profiles();
      onSignedIn(value);
    } catch (err) {
      const apiError = asApiError(err);
      setError(
        apiError.status === 401
          ? new ApiError(401, apiError.code, 'This token was not accepted. Check data/admin-token or PLUGIN_ADMIN_TOKEN.')
          : apiError,
      );
      setBusy(false);
    }
  };

  return (
    <main class="signin">
      <form class="card signin-card" onSubmit={submit}>
        <div class="signin-brand">
          <Logo />
          <div>
            <h1>LoRaWAN Bridge</h1>
            <p class="muted">The Things Stack integration</p>
          </div>
        </div>
        {notice && (
          <p class="notice" role="status">
            {notice}
          </p>
        )}
        <label class="field-label" for="admin-token">
          Admin token
        </label>
        <input
          id="admin-token"
          type="password"
          autoComplete="current-password"
          spellcheck={false}
          value={token}
          onInput={(e) => setToken(e.currentTarget.value)}
          required
          autoFocus
        />
        <p class="hint">Printed once on first start and kept in data/admin-token. It stays in this browser tab only.</p>
        <ErrorNote error={error} />
        <button type="submit" class="btn btn-primary btn-block" disabled={busy}>
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
      </form>
    </main>
  );
}
