import type { Knex } from 'knex';
import { loadTriggersForRun, type LoadedTrigger } from '../postgres/scheduler-trigger-store';

interface Waiter {
  id: string;
  resolve(value: LoadedTrigger | null): void;
  reject(error: unknown): void;
}

const MAX_BATCH = 500;

/**
 * Actors load their row when they wake; thousands waking at once (recovery, a burst of
 * messages, a wave of due timers) share one SELECT … WHERE id = ANY(…) per tick instead of
 * queueing for pool connections one by one.
 */
export class LoadBatcher {
  private queue: Waiter[] = [];
  private scheduled = false;

  constructor(private readonly knex: Knex) {}

  load(id: string): Promise<LoadedTrigger | null> {
    return new Promise((resolve, reject) => {
      this.queue.push({ id, resolve, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  private flush(): void {
    this.scheduled = false;
    while (this.queue.length > 0) {
      const batch = this.queue.splice(0, MAX_BATCH);
      loadTriggersForRun(
        this.knex,
        batch.map((w) => w.id),
      ).then(
        (found) => {
          for (const waiter of batch) waiter.resolve(found.get(waiter.id) ?? null);
        },
        (error: unknown) => {
          for (const waiter of batch) waiter.reject(error);
        },
      );
    }
  }
}
