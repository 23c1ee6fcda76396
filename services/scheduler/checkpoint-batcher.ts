import type { Knex } from 'knex';
import type { Logger } from 'pino';
import { writeCheckpoints, type CheckpointOutcome, type CheckpointWrite } from '../postgres/checkpoint-store';

interface Pending {
  write: CheckpointWrite;
  resolve(outcome: CheckpointOutcome): void;
  reject(error: unknown): void;
}

export interface CheckpointBatcherOptions {
  windowMs: number;
  /** Rows per transaction; a full batch flushes without waiting for the window. */
  maxBatch?: number;
  /** Statements in flight at once; each holds a pool connection while it runs. */
  maxInFlight?: number;
}

/**
 * Group commit: checkpoints submitted within `windowMs` of each other share one transaction, so
 * throughput is not one fsync per step. Each caller gets its own row's outcome. While a flush is
 * in flight new submissions keep collecting, so under load batches grow on their own.
 */
export class CheckpointBatcher {
  private queue: Pending[] = [];
  /** Checkpoints of due timers' passes: written ahead of the queue (order across triggers is free). */
  private urgent: Pending[] = [];
  private timer: NodeJS.Timeout | null = null;
  private inFlight = 0;
  private idleWaiters: Array<() => void> = [];
  private readonly maxBatch: number;
  private readonly maxInFlight: number;
  /** Written, fenced and conflicting rows since start; shown in status and logs. */
  readonly counters = { written: 0, fenced: 0, conflicts: 0, transactions: 0, errors: 0 };

  constructor(
    private readonly knex: Knex,
    private readonly options: CheckpointBatcherOptions,
    private readonly logger: Logger,
  ) {
    this.maxBatch = options.maxBatch ?? 500;
    this.maxInFlight = options.maxInFlight ?? 4;
  }

  submit(write: CheckpointWrite, urgent = false): Promise<CheckpointOutcome> {
    return new Promise((resolve, reject) => {
      (urgent ? this.urgent : this.queue).push({ write, resolve, reject });
      if (this.queued() >= this.maxBatch) this.flushSoon(0);
      else this.flushSoon(this.options.windowMs);
    });
  }

  /** Resolves once nothing is queued or being written. */
  async drain(): Promise<void> {
    if (this.queued() === 0 && this.inFlight === 0) return;
    await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
  }

  private flushSoon(delayMs: number): void {
    if (this.timer && delayMs > 0) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = null;
      this.flush();
    }, delayMs);
  }

  private flush(): void {
    while (this.queued() > 0 && this.inFlight < this.maxInFlight) {
      const batch = this.urgent.splice(0, this.maxBatch);
      if (batch.length < this.maxBatch) batch.push(...this.queue.splice(0, this.maxBatch - batch.length));
      this.inFlight += 1;
      void this.writeBatch(batch).finally(() => {
        this.inFlight -= 1;
        if (this.queued() > 0) this.flushSoon(0);
        else if (this.inFlight === 0) this.notifyIdle();
      });
    }
  }

  private queued(): number {
    return this.urgent.length + this.queue.length;
  }

  private notifyIdle(): void {
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const resolve of waiters) resolve();
  }

  private async writeBatch(batch: Pending[]): Promise<void> {
    this.counters.transactions += 1;
    try {
      const outcomes = await writeCheckpoints(
        this.knex,
        batch.map((p) => p.write),
      );
      outcomes.forEach((outcome, i) => this.settle(batch[i], outcome));
    } catch (error) {
      this.counters.errors += 1;
      this.logger.warn({ err: error, rows: batch.length }, 'checkpoint transaction failed');
      if (batch.length === 1) {
        batch[0].reject(error);
        return;
      }
      // One bad row (or a deadlock with a stale owner) must not fail its neighbours: retry alone.
      for (const pending of batch) {
        try {
          const [outcome] = await writeCheckpoints(this.knex, [pending.write]);
          this.settle(pending, outcome);
        } catch (single) {
          pending.reject(single);
        }
      }
    }
  }

  private settle(pending: Pending, outcome: CheckpointOutcome): void {
    if (outcome.kind === 'written') this.counters.written += 1;
    else if (outcome.kind === 'fenced') this.counters.fenced += 1;
    else this.counters.conflicts += 1;
    pending.resolve(outcome);
  }
}
