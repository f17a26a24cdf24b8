import type { ApiError } from '../api/errors.js';

/** An API error next to the thing that failed: message, code and the first validation issues. */
export function ErrorNote({ error, prefix }: { error: ApiError | null; prefix?: string }) {
  if (!error) return null;
  const issues = Array.isArray(error.details.errors) ? error.details.errors : [];
  return (
    <div class="error-note" role="alert">
      <strong>{prefix ? `${prefix}: ` : ''}</strong>
      {error.message}
      <code class="error-code">{error.code}</code>
      {issues.length > 0 && (
        <ul>
          {issues.slice(0, 5).map((issue, i) => (
            <li key={i}>{typeof issue === 'object' && issue !== null && !Array.isArray(issue) ? `${String(issue.path ?? '')} ${String(issue.message ?? '')}` : String(issue)}</li>
          ))}
        </ul>
      )}
    </div>
  );
}
