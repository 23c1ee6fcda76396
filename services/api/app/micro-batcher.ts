import { RetryableError } from '../../../core/errors';

/**
 * Group commit for request paths: concurrent callers' items are collected for at most
 * `maxWaitMs` (or until `maxBatch` items) and handled by ONE `run` call, so N concurrent
 * requests cost a few database round trips and one Kafka batch instead of N of each.
 *
 * `maxWaitMs: 0` is "natural batching": a lone caller is served on the next turn of the event
 * loop with no added delay, and items pile up only while `maxConcurrent` runs are in flight.
 */
export interface MicroBatcherOptions<I, O> {
  maxBatch: number;
  maxWaitMs: number;
  /** Runs in flight at once; beyond that, items wait and form bigger batches. */
  maxConcurrent: number;
  /** Must return one result per item, in order: a value, or an Error for that item alone. */
  run(items: I[]): Promise<Array<O | Error>>;
}

export interface MicroBatcher<I, O> {
  submit(item: I): Promise<O>;
  /** Serves what is queued, waits for in-flight runs, then refuses new items. */
  close(): Promise<void>;
}

interface Waiting<I, O> {
  item: I;
  resolve(value: O): void;
  reject(error: unknown): void;
}

export function createMicroBatcher<I, O>(options: MicroBatcherOptions<I, O>): MicroBatcher<I, O> {
  const queue: Array<Waiting<I, O>> = [];
  const running = new Set<Promise<void>>();
  let timer: NodeJS.Timeout | NodeJS.Immediate | null = null;
  let closed = false;

  function clearTimer(): void {
    if (timer === null) return;
    if (options.maxWaitMs > 0) clearTimeout(timer as NodeJS.Timeout);
    else clearImmediate(timer as NodeJS.Immediate);
    timer = null;
  }

  function schedule(): void {
    if (queue.length >= options.maxBatch) {
      clearTimer();
      drain();
    } else if (timer === null) {
      timer = options.maxWaitMs > 0 ? setTimeout(onTimer, options.maxWaitMs) : setImmediate(onTimer);
    }
  }

  function onTimer(): void {
    timer = null;
    drain();
  }

  /** Starts runs while slots are free; what stays queued is picked up when a run ends. */
  function drain(): void {
    while (queue.length > 0 && running.size < options.maxConcurrent) {
      const batch = queue.splice(0, options.maxBatch);
      const run = execute(batch).finally(() => {
        running.delete(run);
        // These items already waited for a slot: no second wait window.
        if (queue.length > 0) drain();
      });
      running.add(run);
    }
  }

  async function execute(batch: Array<Waiting<I, O>>): Promise<void> {
    let results: Array<O | Error>;
    try {
      results = await options.run(batch.map((w) => w.item));
    } catch (error) {
      for (const w of batch) w.reject(error);
      return;
    }
    batch.forEach((w, i) => {
      const result = results[i];
      if (result instanceof Error) w.reject(result);
      else w.resolve(result as O);
    });
  }

  return {
    submit(item) {
      if (closed) return Promise.reject(new RetryableError('SHUTTING_DOWN', 'the server is shutting down'));
      return new Promise<O>((resolve, reject) => {
        queue.push({ item, resolve, reject });
        schedule();
      });
    },
    async close() {
      closed = true;
      clearTimer();
      while (queue.length > 0 || running.size > 0) {
        drain();
        await Promise.allSettled([...running]);
      }
    },
  };
}
