/**
 * b. End to end: N triggers of email -> sms -> email through the api and S scheduler processes,
 * capture providers with a fixed latency. Sends are timed at the provider (herald-host.ts),
 * exactly as the BullMQ peer's, and the same metrics are computed from them.
 */
import { randomUUID } from 'node:crypto';
import type { TestEnv } from '../../support/test-env';
import { computeFlowMetrics, type FlowMetrics, type SendRecord } from '../flow-metrics';
import { addInChunks, probeAccept } from '../load';
import type { SendTuple } from './herald-host';
import type { CpuUsage } from '../processes';
import { startHeraldStack, type HeraldStack } from './stack';
import { THREE_STEP_NODES, threeStepWorkflow, triggerRequest } from './workflows';

export interface E2eOptions {
  n: number;
  schedulers: number;
  latencyMs: number;
  partitions: number;
  batchSize: number;
  batchConcurrency: number;
  probeRate: number;
  probeMs: number;
}

export interface E2eResult {
  schedulers: number;
  latencyMs: number;
  metrics: FlowMetrics;
  /** Latency at a steady open-loop rate after the burst (no backlog). */
  probe?: FlowMetrics & { rate: number };
  terminal: Record<string, number>;
  /** last_error.reason of the failed triggers, counted. */
  failureReasons: Record<string, number>;
  /** Checkpoint row writes per step: sum(version - 1) over the triggers / steps sent. */
  checkpointsPerStep: number;
  logRowsPerStep: number;
  peakRssMiB: Record<string, number | null>;
  /** CPU over the burst (accept to all terminal). */
  cpu: CpuUsage;
}

/** Resolves once `expected` triggers are terminal; fails if nothing moves for `stallMs`. */
export async function waitForTerminal(env: TestEnv, expected: number, stallMs = 60_000): Promise<Record<string, number>> {
  let last = -1;
  let lastChange = Date.now();
  for (;;) {
    const rows = (await env.knex('trigger_instances').select('status').count('* as n').groupBy('status')) as Array<{ status: string; n: string }>;
    const byStatus = Object.fromEntries(rows.map((r) => [r.status, Number(r.n)]));
    const done = (byStatus.completed ?? 0) + (byStatus.failed ?? 0) + (byStatus.cancelled ?? 0);
    if (done >= expected) return byStatus;
    const progress = rows.reduce((sum, r) => sum + Number(r.n) * (r.status === 'enqueued' ? 0 : r.status === 'processing' ? 1 : 2), 0);
    if (progress !== last) {
      last = progress;
      lastChange = Date.now();
    } else if (Date.now() - lastChange > stallMs) {
      throw new Error(`no progress for ${stallMs} ms: ${JSON.stringify(byStatus)} of ${expected}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

export function toSendRecords(sends: SendTuple[], nodes: readonly string[]): SendRecord[] {
  return sends.map(([trigger, nodeId, , start, end]) => ({ trigger, step: nodes.indexOf(nodeId), start, end }));
}

/** Accepts `n` triggers in batches; returns trigger id -> time its batch was sent. */
export async function acceptTriggers(stack: HeraldStack, workflowId: string, n: number, batchSize: number, concurrency: number, payload: (i: number) => Record<string, unknown> = () => ({})): Promise<Map<string, number>> {
  const acceptedAt = new Map<string, number>();
  const indexes = Array.from({ length: n }, (_, i) => i);
  const run = randomUUID().slice(0, 8);
  await addInChunks(indexes, batchSize, concurrency,
    async (chunk) => {
      const results = await stack.client.batchCreateTriggers(chunk.map((i) => triggerRequest(workflowId, `${run}-${i}`, payload(i))));
      const failed = results.find((r) => r.error);
      if (failed) throw new Error(`BatchCreateTriggers refused an item: ${failed.error}`);
      return results.map((r) => r.id!);
    },
    (_chunk, sentAt, ids) => ids.forEach((id) => acceptedAt.set(id, sentAt)));
  return acceptedAt;
}

export async function runE2e(options: E2eOptions): Promise<E2eResult> {
  const stack = await startHeraldStack({ name: `bench_e2e_${options.schedulers}s_${options.latencyMs}ms`, schedulers: options.schedulers, latencyMs: options.latencyMs, partitions: options.partitions });
  let peakRssMiB: Record<string, number | null> = {};
  try {
    const workflowId = await stack.client.createActiveWorkflow(threeStepWorkflow(`bench e2e ${options.schedulers}s ${options.latencyMs}ms`));
    const endCpuWindow = await stack.cpuWindow();
    const acceptedAt = await acceptTriggers(stack, workflowId, options.n, options.batchSize, options.batchConcurrency);
    let terminal = await waitForTerminal(stack.env, options.n);
    const cpu = await endCpuWindow();
    let probeAcceptedAt = new Map<string, number>();
    if (options.probeRate > 0 && options.probeMs > 0) {
      let key = 0;
      probeAcceptedAt = await probeAccept(options.probeRate, options.probeMs, async (count) => {
        const results = await stack.client.batchCreateTriggers(Array.from({ length: count }, () => triggerRequest(workflowId, `probe-${key++}`)));
        return results.filter((r) => r.id).map((r) => r.id!);
      });
      terminal = await waitForTerminal(stack.env, options.n + probeAcceptedAt.size);
    }
    const records = toSendRecords(await stack.collectSends(), THREE_STEP_NODES);
    peakRssMiB = await stack.peakRss();
    const metrics = computeFlowMetrics(records.filter((r) => !probeAcceptedAt.has(r.trigger)), acceptedAt, THREE_STEP_NODES.length);
    const probe = probeAcceptedAt.size
      ? { ...computeFlowMetrics(records.filter((r) => probeAcceptedAt.has(r.trigger)), probeAcceptedAt, THREE_STEP_NODES.length), rate: options.probeRate }
      : undefined;
    const [{ checkpoints }] = (await stack.env.knex('trigger_instances').select(stack.env.knex.raw('coalesce(sum(version - 1), 0)::bigint as checkpoints'))) as Array<{ checkpoints: number }>;
    const failed = (await stack.env.knex('trigger_instances').where({ status: 'failed' }).select(stack.env.knex.raw("coalesce(last_error->>'reason', 'unknown') as reason")).count('* as n').groupBy('reason')) as Array<{ reason: string; n: string }>;
    const failureReasons = Object.fromEntries(failed.map((f) => [f.reason, Number(f.n)]));
    const [{ logs }] = (await stack.env.knex('execution_logs').count('* as logs')) as Array<{ logs: string }>;
    const steps = Math.max(1, records.length);
    return { schedulers: options.schedulers, latencyMs: options.latencyMs, metrics, probe, terminal, failureReasons, cpu, checkpointsPerStep: Number(checkpoints) / steps, logRowsPerStep: Number(logs) / steps, peakRssMiB };
  } finally {
    await stack.stop();
  }
}
