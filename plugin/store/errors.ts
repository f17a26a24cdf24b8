/** A write that lost a race with another one (e.g. a dead letter replayed twice at once); nothing was written. */
export class WriteConflict extends Error {}
