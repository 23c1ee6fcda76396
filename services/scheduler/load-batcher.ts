import type { Knex } from 'knex';
import { loadTriggersForRun, type LoadedTrigger } from '../postgres/scheduler-trigger-store';

interface Waiter {
  id: string;
  resolve(value: LoadedTrigger | null): void;
  reject(error: unknown): void;
}

const MAX_BATCH = 500;
const MAX_IN_FLIGHT = 3;

/**
 * Actors load their row when they wake; thousands waking at once (recovery, a burst of
 * messages, a wave of due timers) share one SELECT … WHERE id = ANY(…) per tick instead of
 * queueing for pool connections one by one. Due timers have their own lane that is always
 * read first: with a few batches in flight at most, a fire is not queued behind a backlog of
 * freshly ingested triggers (whose order does not matter) in the pool's FIFO.
 */
export class LoadBatcher {
  private readonly urgent: Waiter[] = [];
  private readonly normal: Waiter[] = [];
  private scheduled = false;
  private inFlight = 0;

  constructor(private readonly knex: Knex) {}

  load(id: string, urgent = false): Promise<LoadedTrigger | null> {
    return new Promise((resolve, reject) => {
      (urgent ? this.urgent : this.normal).push({ id, resolve, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  private flush(): void {
    this.scheduled = false;
    while (this.inFlight < MAX_IN_FLIGHT && (this.urgent.length > 0 || this.normal.length > 0)) {
      const batch = this.urgent.splice(0, MAX_BATCH);
      if (batch.length < MAX_BATCH) batch.push(...this.normal.splice(0, MAX_BATCH - batch.length));
      this.inFlight += 1;
      loadTriggersForRun(
        this.knex,
        batch.map((w) => w.id),
      )
        .then(
          (found) => {
            for (const waiter of batch) waiter.resolve(found.get(waiter.id) ?? null);
          },
          (error: unknown) => {
            for (const waiter of batch) waiter.reject(error);
          },
        )
        .finally(() => {
          this.inFlight -= 1;
          this.flush();
        });
    }
  }
}
