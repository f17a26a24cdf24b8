/** A write that lost a race with another one (e.g. a dead letter replayed twice at once); nothing was written. */
export class WriteConflict extends Error {}

/**
 * A write that would provision a device or bucket that exists already and belongs to another
 * application (two applications' first uplinks of one id raced); nothing was written.
 */
export class OwnedElsewhere extends Error {
  constructor(
    readonly kind: 'device' | 'bucket',
    readonly id: string,
    readonly ownerAppId: string,
  ) {
    super(`${kind} '${id}' belongs to application '${ownerAppId}'`);
    this.name = 'OwnedElsewhere';
  }
}
