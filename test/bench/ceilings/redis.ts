/**
 * Redis ceiling for the timer wheel, through the scheduler's own TimerWheel
 * (services/redis/timer-wheel.ts): parking (ZADD) one timer per call, and the atomic Lua claim
 * (ZRANGEBYSCORE due members + ZREM) one timer per call and in batches. Keys live under this
 * run's own prefix and are deleted afterwards.
 */
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { TimerWheel } from '../../../services/redis/timer-wheel';
import { LatencyRecorder, type LatencySummary } from '../histogram';
import { perSecond } from '../report';

export interface RedisCeilingOptions {
  url: string;
  timers: number;
  claimBatch: number;
  concurrency: number;
  partitions: number;
}

export interface RedisCeiling {
  /** TimerWheel.add with one timer per call, `concurrency` calls in flight. */
  parkOpsPerSecond: number;
  /** Claim calls/s when each call claims one timer. */
  claimOpsPerSecond: number;
  claimLatency: LatencySummary;
  /** Timers/s claimed when each call takes up to `claimBatch` due members. */
  batchedClaimTimersPerSecond: number;
  claimBatch: number;
  concurrency: number;
}

const idOf = (i: number) => `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`;

/** Runs `worker(w)` for w in [0, concurrency). */
const inParallel = (concurrency: number, worker: (w: number) => Promise<void>) => Promise.all(Array.from({ length: concurrency }, (_, w) => worker(w)));

async function park(wheel: TimerWheel, options: RedisCeilingOptions): Promise<number> {
  const due = Date.now();
  let next = 0;
  const started = performance.now();
  await inParallel(options.concurrency, async () => {
    while (next < options.timers) {
      const i = next++;
      await wheel.add(i % options.partitions, [{ triggerId: idOf(i), wakeAtMs: due - (i % 1000) }]);
    }
  });
  return performance.now() - started;
}

async function claimAll(wheel: TimerWheel, partitions: number, batch: number, concurrency: number, latency?: LatencyRecorder) {
  let claimed = 0;
  const started = performance.now();
  await inParallel(concurrency, async (w) => {
    // Each worker sweeps its share of the partitions, as each owner sweeps its own.
    for (let p = 0; p < partitions; p++) {
      if (concurrency <= partitions ? p % concurrency !== w : p !== w % partitions) continue;
      for (;;) {
        const t0 = performance.now();
        const got = await wheel.claimDue(p, Date.now(), batch);
        latency?.recordMs(performance.now() - t0);
        if (got.length === 0) break;
        claimed += got.length;
      }
    }
  });
  return { claimed, elapsed: performance.now() - started };
}

export async function measureRedisCeiling(options: RedisCeilingOptions): Promise<RedisCeiling> {
  const prefix = `bench_redis_${randomBytes(3).toString('hex')}:`;
  const redis = new Redis(options.url);
  const wheel = new TimerWheel(redis, prefix);
  try {
    const parkMs = await park(wheel, options);
    const latency = new LatencyRecorder();
    const single = await claimAll(wheel, options.partitions, 1, options.concurrency, latency);
    await park(wheel, options);
    const batched = await claimAll(wheel, options.partitions, options.claimBatch, Math.min(options.concurrency, options.partitions));
    return {
      parkOpsPerSecond: perSecond(options.timers, parkMs),
      claimOpsPerSecond: perSecond(single.claimed, single.elapsed),
      claimLatency: latency.summary(),
      batchedClaimTimersPerSecond: perSecond(batched.claimed, batched.elapsed),
      claimBatch: options.claimBatch,
      concurrency: options.concurrency,
    };
  } finally {
    await redis.del(...Array.from({ length: options.partitions }, (_, p) => wheel.keyFor(p)));
    redis.disconnect();
  }
}
