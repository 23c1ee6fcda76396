/**
 * d. Recovery: two schedulers under a steady open-loop load (email -> sms -> email, 20 ms
 * providers); SIGKILL one. The triggers it was running (non-terminal, in its partitions, at the
 * kill) are "affected"; recovery is the time until every one of them has advanced (its row
 * version moved or it finished). Partition takeover time is reported alongside.
 */
import type { BenchProcess } from '../processes';
import { openLoop } from '../load';
import { startHeraldStack } from './stack';
import { threeStepWorkflow, triggerRequest } from './workflows';

export interface RecoveryOptions {
  rate: number;
  killAfterMs: number;
  partitions: number;
  latencyMs: number;
  timeoutMs?: number;
}

export interface RecoveryResult {
  victimPartitions: number[];
  affected: number;
  /** Seconds from SIGKILL until every affected trigger advanced; null if it never did. */
  recoverySeconds: number | null;
  /** Seconds from SIGKILL until the survivor owned every partition of the victim. */
  takeoverSeconds: number | null;
  stuckAtTimeout: number;
  peakRssMiB: Record<string, number | null>;
}

export async function runRecovery(options: RecoveryOptions): Promise<RecoveryResult> {
  const stack = await startHeraldStack({ name: 'bench_recovery', schedulers: 2, latencyMs: options.latencyMs, partitions: options.partitions, extraEnv: { HERALD_LOG_LEVEL: 'info' } });
  const knex = stack.env.knex;
  const timeoutMs = options.timeoutMs ?? 120_000;
  try {
    const workflowId = await stack.client.createActiveWorkflow(threeStepWorkflow('bench recovery'));
    let stopLoad = false;
    let key = 0;
    const perCall = 10;
    // Runs until stopped: open loop at `rate` triggers/s in calls of 10.
    const load = (async () => {
      while (!stopLoad) {
        await openLoop(options.rate / perCall, 1_000, perCall, () => stack.client.batchCreateTriggers(Array.from({ length: perCall }, () => triggerRequest(workflowId, `r-${key++}`))));
      }
    })();
    await new Promise((resolve) => setTimeout(resolve, options.killAfterMs));

    const victim: BenchProcess = stack.schedulers[1];
    const victimId = stack.schedulerIds[1];
    const survivorId = stack.schedulerIds[0];
    const peakRssMiB = await stack.peakRss();
    victim.kill('SIGKILL');
    const killedAt = Date.now();
    const owned = (await knex('partition_leases').where({ owner: victimId }).select('partition', 'epoch')) as Array<{ partition: number; epoch: number }>;
    const victimPartitions = owned.map((r) => r.partition).sort((a, b) => a - b);
    await knex.raw(
      `CREATE TABLE bench_affected AS SELECT id, version FROM trigger_instances WHERE partition = ANY(?::int[]) AND status IN ('enqueued', 'processing')`,
      [victimPartitions],
    );
    const [{ affected }] = (await knex.raw('SELECT count(*)::int AS affected FROM bench_affected')).rows;

    let recoverySeconds: number | null = null;
    let takeoverSeconds: number | null = null;
    let stuck = affected;
    while (Date.now() - killedAt < timeoutMs && (recoverySeconds === null || takeoverSeconds === null)) {
      if (takeoverSeconds === null) {
        const rows = (await knex('partition_leases').whereIn('partition', victimPartitions).select('owner')) as Array<{ owner: string | null }>;
        if (rows.every((r) => r.owner === survivorId)) takeoverSeconds = (Date.now() - killedAt) / 1000;
      }
      if (recoverySeconds === null) {
        stuck = (await knex.raw(
          `SELECT count(*)::int AS n FROM bench_affected a JOIN trigger_instances t USING (id)
            WHERE t.version = a.version AND t.status IN ('enqueued', 'processing')`,
        )).rows[0].n;
        if (stuck === 0) recoverySeconds = (Date.now() - killedAt) / 1000;
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    stopLoad = true;
    await load;
    const survivorRss = await stack.peakRss();
    return { victimPartitions, affected, recoverySeconds, takeoverSeconds, stuckAtTimeout: stuck, peakRssMiB: { ...peakRssMiB, ...Object.fromEntries(Object.entries(survivorRss).filter(([, v]) => v !== null)) } };
  } finally {
    await stack.stop();
  }
}
