import { useEffect, useState } from 'preact/hooks';
import type { FormatterSuspension, Profile } from '../../api/types.js';
import { ago, clockTime, dateTime } from '../../lib/format.js';
import { useNow } from '../../lib/use-now.js';

/** " (line 3, column 7)" when a line is known. */
export const where = (line?: number, column?: number) => (line === undefined ? '' : ` (line ${line}${column !== undefined ? `, column ${column}` : ''})`);

const endsAt = (s: FormatterSuspension) => Date.parse(s.suspended_until);

/** The profile's suspensions still in force at `now`. */
export function activeSuspensions(profile: Profile, now: number): FormatterSuspension[] {
  return profile.formatter_suspensions.filter((s) => endsAt(s) > now);
}

/**
 * The time suspensions are judged by: moves on only when the next of them ends, so an ended one
 * drops out of the screen without re-rendering it every second.
 */
export function useSuspensionClock(profiles: Profile[] | null): number {
  const [now, setNow] = useState(Date.now);
  let next = Infinity;
  for (const p of profiles ?? []) for (const s of p.formatter_suspensions) if (endsAt(s) > now) next = Math.min(next, endsAt(s));
  useEffect(() => {
    if (next === Infinity) return;
    const t = setTimeout(() => setNow(Date.now()), Math.min(Math.max(0, next - Date.now()) + 50, 2 ** 31 - 1));
    return () => clearTimeout(t);
  }, [next, now]);
  return now;
}

/** Saving a profile for `appId` lifted its suspension, wherever it was listed (Default's list too). */
export function withoutSuspensionOf(profiles: Profile[], appId: string): Profile[] {
  return profiles.map((p) =>
    p.formatter_suspensions.some((s) => s.app_id === appId) ? { ...p, formatter_suspensions: p.formatter_suspensions.filter((s) => s.app_id !== appId) } : p,
  );
}

const sentence = (text: string) => (/[.!?]$/.test(text) ? text : `${text}.`);

function SuspensionLine({ suspension: s, now }: { suspension: FormatterSuspension; now: number }) {
  const error = s.last_error;
  const failures =
    s.kills > 0
      ? `its calls stopped ${s.kills === 1 ? 'a formatter process' : `${s.kills} formatter processes`}`
      : s.failures === 1
        ? '1 timeout or memory error'
        : `${s.failures} timeouts or memory errors in a row`;
  const lastError = sentence(`${error.message || error.kind}${where(error.line, error.column)}`);
  return (
    <p>
      <strong>Formatter of {s.app_id} suspended</strong>
      {' until '}
      <time dateTime={s.suspended_until} title={dateTime(s.suspended_until)}>
        {endsAt(s) - now > 12 * 3_600_000 ? dateTime(s.suspended_until) : clockTime(s.suspended_until)}
      </time>
      {/* The countdown changes every second: hidden from screen readers, so the alert is not read out again each time. */}
      <span aria-hidden="true">{` (${ago(s.suspended_until, now)})`}</span>
      {` after ${failures}. Last error: ${lastError} Saving a new script resumes it.`}
    </p>
  );
}

/**
 * The warning at the top of Payload processing while formatters this profile runs are suspended:
 * one line per application, with until when, why, and that saving a new script resumes it.
 */
export function SuspensionNote({ suspensions, isDefault }: { suspensions: FormatterSuspension[]; isDefault: boolean }) {
  const now = useNow(1000);
  const active = suspensions.filter((s) => endsAt(s) > now);
  if (active.length === 0) return null;
  return (
    <div class="warn-note" role="alert">
      {active.map((s) => (
        <SuspensionLine key={s.app_id} suspension={s} now={now} />
      ))}
      <p class="hint">
        {isDefault && (active.length === 1 ? 'It has no profile of its own and runs the Default formatter. ' : 'They have no profile of their own and run the Default formatter. ')}
        While suspended, uplinks are kept as dead letters: replay them from Dead letters after the fix.
      </p>
    </div>
  );
}
