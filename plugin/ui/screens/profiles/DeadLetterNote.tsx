import type { DeadLetter } from '../../api/types.js';
import { ErrorNote } from '../../components/ErrorNote.js';
import { dateTime } from '../../lib/format.js';
import type { Loaded } from '../../lib/use-load.js';
import { LineLink } from './LineLink.js';

interface Props {
  id: number;
  loaded: Loaded<DeadLetter | null>;
  /** The profile's formatter version now (null while unknown). */
  current: number | null;
  onReveal(line: number, column?: number): void;
}

/** Which dead letter the test input holds, and which formatter version failed on it. */
export function DeadLetterNote({ id, loaded, current, onReveal }: Props) {
  if (loaded.error) return <ErrorNote error={loaded.error} prefix={`Dead letter #${id} could not be loaded`} />;
  if (loaded.loading && !loaded.data) return <p class="muted">Loading dead letter #{id}…</p>;
  const letter = loaded.data;
  if (!letter) return <p class="warn-note">Dead letter #{id} was not found among this profile's last 1000 dead letters.</p>;
  const { kind, message, line, column, formatter_version: version } = letter.error;
  const failed = typeof version === 'number' ? version : null;
  return (
    <div class="notice dead-letter-note">
      <p>
        <strong>The test input is dead letter #{letter.id}</strong>: the uplink of {letter.device_id} ({letter.app_id}) kept {dateTime(letter.created_at)}.
      </p>
      <p>
        {failed === null ? 'The formatter' : `Formatter version ${failed}`} failed on it
        {failed !== null && current !== null && (failed === current ? ' (the version saved now)' : `; the profile runs version ${current} now`)}: {String(kind ?? 'error')} error: {String(message ?? '')}
        {/* The line is the failed version's: it only points into the editor when that version is the saved one. */}
        {failed === current && typeof line === 'number' && <LineLink line={line} column={typeof column === 'number' ? column : undefined} onReveal={onReveal} />}
      </p>
    </div>
  );
}
