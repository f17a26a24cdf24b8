import type { Logger } from 'pino';

/**
 * Work started after an answer was sent (sending waiting downlinks, notifications). Tracked so
 * shutdown can wait for it instead of closing the database under it.
 */
export class Background {
  private readonly running = new Set<Promise<void>>();

  constructor(private readonly logger: Logger) {}

  run(what: string, work: () => Promise<void>): void {
    const task = work()
      .catch((err: unknown) => this.logger.error({ err }, `${what} failed`))
      .finally(() => this.running.delete(task));
    this.running.add(task);
  }

  async idle(): Promise<void> {
    while (this.running.size > 0) await Promise.all([...this.running]);
  }
}
