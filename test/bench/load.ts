/**
 * Load shapes: closed loop (a fixed number of callers, each sends as soon as its last call
 * returns: the maximum rate) and open loop (calls start on a fixed schedule whatever the
 * latency; latency counts from the scheduled start, so queueing is not hidden).
 */
import { LatencyRecorder, type LatencySummary } from './histogram';
import { preciseNow } from './processes';
import { perSecond } from './report';

export interface LoadResult {
  calls: number;
  errors: number;
  /** Items per second (triggers: calls x items per call). */
  itemsPerSecond: number;
  latency: LatencySummary;
  firstError?: string;
}

export async function closedLoop(concurrency: number, durationMs: number, itemsPerCall: number, callOnce: (i: number) => Promise<unknown>): Promise<LoadResult> {
  const latency = new LatencyRecorder();
  let calls = 0;
  let errors = 0;
  let firstError: string | undefined;
  let next = 0;
  const started = performance.now();
  const deadline = started + durationMs;
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (performance.now() < deadline) {
      const i = next++;
      const t0 = performance.now();
      try {
        await callOnce(i);
        latency.recordMs(performance.now() - t0);
        calls += 1;
      } catch (error) {
        errors += 1;
        firstError ??= String((error as Error).message ?? error);
      }
    }
  }));
  const elapsed = performance.now() - started;
  return { calls, errors, itemsPerSecond: perSecond(calls * itemsPerCall, elapsed), latency: latency.summary(), firstError };
}

export async function openLoop(callsPerSecond: number, durationMs: number, itemsPerCall: number, callOnce: (i: number) => Promise<unknown>, maxInFlight = 2_000): Promise<LoadResult> {
  const latency = new LatencyRecorder();
  let calls = 0;
  let errors = 0;
  let firstError: string | undefined;
  let inFlight = 0;
  const total = Math.max(1, Math.floor((callsPerSecond * durationMs) / 1000));
  const intervalMs = 1000 / callsPerSecond;
  const started = performance.now();
  const pending: Promise<void>[] = [];
  for (let i = 0; i < total; i++) {
    const scheduled = started + i * intervalMs;
    const wait = scheduled - performance.now();
    if (wait > 1) await new Promise((resolve) => setTimeout(resolve, wait));
    if (inFlight >= maxInFlight) {
      errors += 1;
      firstError ??= `more than ${maxInFlight} calls in flight: the server cannot keep this rate`;
      continue;
    }
    inFlight += 1;
    pending.push(callOnce(i).then(
      () => {
        latency.recordMs(performance.now() - scheduled);
        calls += 1;
      },
      (error) => {
        errors += 1;
        firstError ??= String((error as Error).message ?? error);
      },
    ).finally(() => (inFlight -= 1)));
  }
  await Promise.all(pending);
  const elapsed = performance.now() - started;
  return { calls, errors, itemsPerSecond: perSecond(calls * itemsPerCall, elapsed), latency: latency.summary(), firstError };
}

/** Adds `items` in chunks of `batch`, `concurrency` chunks in flight; `onChunk` sees each chunk's send time and result. */
export async function addInChunks<T, R>(items: T[], batch: number, concurrency: number, add: (chunk: T[]) => Promise<R>, onChunk: (chunk: T[], sentAt: number, result: R) => void): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < items.length) {
      const chunk = items.slice(next, next + batch);
      next += batch;
      const sentAt = preciseNow();
      onChunk(chunk, sentAt, await add(chunk));
    }
  }));
}

/** Open loop at `rate` triggers/s for `ms`, in calls of 10; returns id -> call start. */
export async function probeAccept(rate: number, ms: number, accept: (count: number) => Promise<string[]>): Promise<Map<string, number>> {
  const acceptedAt = new Map<string, number>();
  const perCall = 10;
  await openLoop(rate / perCall, ms, perCall, async () => {
    const sentAt = preciseNow();
    for (const id of await accept(perCall)) acceptedAt.set(id, sentAt);
  });
  return acceptedAt;
}
