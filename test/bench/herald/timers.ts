/**
 * c. Timers: `count` triggers whose Delay node waits until a time spread uniformly over
 * `spreadMs`, all accepted before the first falls due. Fire time is the delay step's own
 * `fired_at` output (the scheduler's clock when the planner fired it), compared with its
 * `wake_at`; the following SMS send, timed at the provider, gives due -> delivery as well.
 * Delays that were accepted or parked (DELAY_SCHEDULED logged) only after they fell due measure
 * accept or ingest lag rather than the timer wheel: they are counted, and left out of lateness.
 * The lead before the first due time is generous (4x the accept time) so that parking the whole
 * batch, and the Postgres work it leaves behind, is over before timers fire; how long before the
 * first due time the last delay was parked is reported with the result.
 */
import { computeTimerMetrics, type TimerMetrics } from '../flow-metrics';
import { summarizeMs, type LatencySummary } from '../histogram';
import { acceptTriggers, waitForTerminal } from './e2e';
import { startHeraldStack } from './stack';
import { TIMER_NODES, timerWorkflow } from './workflows';

export interface TimersOptions {
  count: number;
  spreadMs: number;
  schedulers: number;
  partitions: number;
  batchSize: number;
  batchConcurrency: number;
  /** Measured accept rate (triggers/s) used to start the first timer after accepting ends. */
  acceptRate: number;
}

export interface TimersResult extends TimerMetrics {
  schedulers: number;
  leadMs: number;
  /** First due time minus the moment the last delay was parked (negative: parking overran). */
  parkedMarginMs: number | null;
  /** Due time -> the SMS after the delay is sent. */
  dueToNextSend: LatencySummary;
  peakRssMiB: Record<string, number | null>;
}

export async function runTimers(options: TimersOptions): Promise<TimersResult> {
  const stack = await startHeraldStack({ name: 'bench_timers', schedulers: options.schedulers, latencyMs: 0, partitions: options.partitions });
  try {
    const workflowId = await stack.client.createActiveWorkflow(timerWorkflow('bench timers'));
    // The first timer falls due after every trigger is accepted and, with margin, ingested.
    const leadMs = Math.round(2_000 + (options.count / Math.max(100, options.acceptRate)) * 4_000);
    const base = Date.now() + leadMs;
    const wakeOf = (i: number) => base + Math.floor((options.spreadMs * i) / options.count);
    const acceptedAt = await acceptTriggers(stack, workflowId, options.count, options.batchSize, options.batchConcurrency, (i) => ({ wake_at: new Date(wakeOf(i)).toISOString() }));
    // Nothing moves until the first timer is due: the stall window covers the wait.
    await waitForTerminal(stack.env, options.count, leadMs + options.spreadMs + 60_000);
    const rows = (await stack.env.knex('trigger_instances').select('id', stack.env.knex.raw(`context->'${TIMER_NODES[0]}' as delay`))) as Array<{ id: string; delay: { wake_at?: string; fired_at?: string } | null }>;
    const fired: Array<[string, number, number]> = [];
    const dueById = new Map<string, number>();
    const parkedLate = new Set<string>();
    for (const row of rows) {
      if (!row.delay?.wake_at || !row.delay.fired_at) continue;
      const due = Date.parse(row.delay.wake_at);
      dueById.set(row.id, due);
      fired.push([row.id, due, Date.parse(row.delay.fired_at)]);
      if ((acceptedAt.get(row.id) ?? 0) >= due) parkedLate.add(row.id);
    }
    // A delay parked only after it was due measures ingest lag, not the timer wheel: counted apart.
    const parkedRows = (await stack.env.knex('execution_logs').where({ event: 'DELAY_SCHEDULED' }).groupBy('trigger_id').select('trigger_id', stack.env.knex.raw('min(created_at) as at'))) as Array<{ trigger_id: string; at: Date }>;
    let lastParkedAt = Number.NEGATIVE_INFINITY;
    for (const row of parkedRows) {
      const due = dueById.get(row.trigger_id);
      lastParkedAt = Math.max(lastParkedAt, row.at.getTime());
      if (due !== undefined && row.at.getTime() >= due) parkedLate.add(row.trigger_id);
    }
    const parkedMarginMs = parkedRows.length > 0 ? base - lastParkedAt : null;
    const sends = await stack.collectSends();
    const dueToNextSend = summarizeMs(sends.filter((s) => s[1] === TIMER_NODES[1] && dueById.has(s[0]) && !parkedLate.has(s[0])).map((s) => s[3] - dueById.get(s[0])!));
    const peakRssMiB = await stack.peakRss();
    return { ...computeTimerMetrics(options.count, fired, parkedLate), schedulers: options.schedulers, leadMs, parkedMarginMs, dueToNextSend, peakRssMiB };
  } finally {
    await stack.stop();
  }
}
