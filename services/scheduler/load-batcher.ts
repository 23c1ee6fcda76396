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
 * Rows read ahead for timers held in memory; beyond this, timers load when they fire. The poller
 * holds no more timers than there are free actor slots, so this is about one actor per row.
 */
const MAX_PREFETCHED = 10_000;

/**
 * Actors load their row when they wake; thousands waking at once (recovery, a burst of
 * messages, a wave of due timers) share one SELECT … WHERE id = ANY(…) per tick instead of
 * queueing for pool connections one by one. Due timers have their own lane that is always
 * read first: with a few batches in flight at most, a fire is not queued behind a backlog of
 * freshly ingested triggers (whose order does not matter) in the pool's FIFO.
 *
 * A timer held in memory is read ahead (`prefetch`), so when it fires its actor decides at
 * once instead of waiting for a read. A row read ahead may be stale by then (an operator
 * cancelled it, or its own actor wrote it since): the checkpoint is conditional on the row's
 * version, so a stale row ends in a conflict and a fresh read, never in a wrong step. Each row
 * read ahead serves one load only, and `forget` drops it when its trigger is checkpointed.
 */
export class LoadBatcher {
  private readonly urgent: Waiter[] = [];
  private readonly normal: Waiter[] = [];
  private readonly prefetched = new Map<string, { loaded: LoadedTrigger; expiresAt: number }>();
  private readonly prefetching = new Set<string>();
  private scheduled = false;
  private inFlight = 0;

  constructor(private readonly knex: Knex) {}

  load(id: string, urgent = false): Promise<LoadedTrigger | null> {
    const hit = this.takePrefetched(id);
    if (hit) return Promise.resolve(hit);
    return this.enqueue(id, urgent);
  }

  /** Reads `ids` in the background, behind every pending load, and keeps them for `ttlMs`. */
  prefetch(ids: string[], ttlMs: number): void {
    if (this.prefetched.size + this.prefetching.size >= MAX_PREFETCHED) this.dropExpired();
    for (const id of ids) {
      if (this.prefetched.size + this.prefetching.size >= MAX_PREFETCHED) return;
      if (this.prefetched.has(id) || this.prefetching.has(id)) continue;
      this.prefetching.add(id);
      this.enqueue(id, false).then(
        (loaded) => {
          // Forgotten while in flight: the row was written since this read started.
          if (!this.prefetching.delete(id) || !loaded) return;
          this.prefetched.set(id, { loaded, expiresAt: Date.now() + ttlMs });
        },
        () => this.prefetching.delete(id),
      );
    }
  }

  /** The trigger's row changed (its actor checkpointed): a row read ahead is stale. */
  forget(id: string): void {
    this.prefetched.delete(id);
    this.prefetching.delete(id);
  }

  get prefetchedCount(): number {
    return this.prefetched.size;
  }

  private takePrefetched(id: string): LoadedTrigger | null {
    const entry = this.prefetched.get(id);
    if (!entry) return null;
    this.prefetched.delete(id);
    return entry.expiresAt >= Date.now() ? entry.loaded : null;
  }

  private dropExpired(): void {
    const now = Date.now();
    for (const [id, entry] of this.prefetched) if (entry.expiresAt < now) this.prefetched.delete(id);
  }

  private enqueue(id: string, urgent: boolean): Promise<LoadedTrigger | null> {
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
