/**
 * What one event may weigh: titles and details carry what formatters and peers wrote (errors,
 * logs, outputs), so each is cut before it is stored, and the log as a whole is trimmed by bytes
 * as well as by count.
 */
import type { EventInput } from './records.js';

export const MAX_TITLE_CHARS = 500;
export const MAX_DETAILS_CHARS = 16 * 1024;
export const DEFAULT_EVENT_CAP_BYTES = 256 * 1024 * 1024;
/** Top-level fields of cut details kept when each is at most this long as JSON (ids, counts, kinds). */
const KEPT_FIELD_CHARS = 256;

/** The event as stored: its title and its details' JSON, both bounded; `cut` when either was. */
export function boundedEvent(e: EventInput): { title: string; details: string; cut: boolean } {
  const titleCut = e.title.length > MAX_TITLE_CHARS;
  const title = titleCut ? `${e.title.slice(0, MAX_TITLE_CHARS)}…` : e.title;
  const details = JSON.stringify(e.details);
  if (details.length <= MAX_DETAILS_CHARS) return { title, details, cut: titleCut };
  const kept: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(e.details)) {
    const text = JSON.stringify(value);
    if (text !== undefined && text.length <= KEPT_FIELD_CHARS) kept[key] = value;
  }
  kept.truncated = `details of ${details.length} characters cut to the fields under ${KEPT_FIELD_CHARS} (limit ${MAX_DETAILS_CHARS} per event)`;
  return { title, details: JSON.stringify(kept), cut: true };
}
