import { DomainError, notFound } from '../domain-error.js';
import type { Networks } from '../networks/networks.js';
import type { Profiles } from '../profiles.js';
import type { Clock } from '../clock.js';
import { DEFAULT_PROFILE } from '../schemas/profile.js';
import { WriteConflict } from '../store/errors.js';
import type { Store } from '../store/store.js';
import type { UplinkOutcome, UplinkPipeline } from './uplink.js';

type Deps = { store: Store; networks: Networks; profiles: Profiles; uplinks: UplinkPipeline; clock: Clock };

/** Dead letters one replay-all takes, oldest first; the rest wait for the next one. */
export const REPLAY_ALL_LIMIT = 1000;
/** Wall time one replay-all may take (each replay runs the formatter): the rest wait for the next call. */
export const REPLAY_ALL_BUDGET_MS = 30_000;

/**
 * Runs a dead letter's uplink through today's profile and formatter. Stored: it leaves the list;
 * failed again: it is resolved by a new dead letter (so each replay is one attempt, never a loop).
 */
export async function replayDeadLetter(deps: Deps, id: number): Promise<UplinkOutcome> {
  const letter = Number.isSafeInteger(id) ? await deps.store.getDeadLetter(id) : null;
  if (!letter) throw notFound('dead letter', String(id));
  if (letter.replayedAt) throw new DomainError('conflict', 'already_replayed', `dead letter ${id} was replayed at ${letter.replayedAt}`);
  const uplink = deps.networks.get(letter.network).uplinkOf(letter.body, letter.appId, deps.clock.now());
  if (!uplink) throw new DomainError('unprocessable', 'not_an_uplink', `dead letter ${id} holds no uplink`);
  const profile = await deps.profiles.resolve(letter.appId ?? DEFAULT_PROFILE);
  return deps.uplinks.handle({ uplink, profile, credentials: null, replayOf: id }).catch((err: unknown) => {
    if (err instanceof WriteConflict) throw new DomainError('conflict', 'already_replayed', err.message);
    throw err;
  });
}

export interface ReplayAllResult {
  app_id: string;
  replayed: number;
  stored: number;
  /** Failed again: each is a new dead letter now. */
  failed: number;
  /** Replayed meanwhile by someone else, or holding no uplink. */
  skipped: number;
  /** More dead letters than one replay-all takes are waiting. */
  more: boolean;
}

/** Every dead letter of an application not replayed yet, each once, oldest first. */
export async function replayAllDeadLetters(deps: Deps, appId: string): Promise<ReplayAllResult> {
  // Ids taken once, before any replay (the dead letters a failed replay makes are not replayed
  // again); each letter's body is read only when its turn comes.
  const ids = await deps.store.pendingDeadLetterIds(appId, REPLAY_ALL_LIMIT + 1);
  const result: ReplayAllResult = { app_id: appId, replayed: 0, stored: 0, failed: 0, skipped: 0, more: ids.length > REPLAY_ALL_LIMIT };
  const until = Date.now() + REPLAY_ALL_BUDGET_MS;
  for (const id of ids.slice(0, REPLAY_ALL_LIMIT)) {
    if (Date.now() > until) {
      result.more = true;
      break;
    }
    try {
      const outcome = await replayDeadLetter(deps, id);
      result.replayed++;
      if (outcome.status === 'dead_letter') result.failed++;
      else result.stored++;
    } catch (err) {
      if (!(err instanceof DomainError)) throw err;
      result.skipped++;
    }
  }
  return result;
}
