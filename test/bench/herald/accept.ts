/**
 * a. Accept: CreateTrigger (unary, `concurrency` callers) and BatchCreateTriggers, each at its
 * maximum rate (closed loop) and then at half of it (open loop). Only the api runs, so this is
 * the control plane alone: Postgres insert + Kafka produce per trigger.
 */
import type { Knex } from 'knex';
import { pollUntil } from '../../support/test-env';
import type { BenchArgs } from '../args';
import { formatLatency } from '../histogram';
import { int, type ResultRow } from '../report';
import { closedLoop, openLoop, type LoadResult } from '../load';
import { startHeraldStack } from './stack';
import { threeStepWorkflow, triggerRequest } from './workflows';

export interface AcceptResults {
  unaryMax: LoadResult;
  unaryHalf: LoadResult;
  batchMax: LoadResult;
  batchHalf: LoadResult;
  concurrency: number;
  batchSize: number;
  batchConcurrency: number;
  peakRssMiB: Record<string, number | null>;
}

const S = 'a. accept';

async function waitUntilPublished(knex: Knex): Promise<void> {
  await pollUntil(
    async () => {
      const [{ n }] = (await knex('trigger_instances').whereNull('published_at').count({ n: '*' })) as Array<{ n: string }>;
      return Number(n) === 0;
    },
    { timeoutMs: 60_000, intervalMs: 100, what: 'every accepted trigger to be published' },
  );
}

export async function runAccept(args: BenchArgs, rows: ResultRow[]): Promise<AcceptResults> {
  const stack = await startHeraldStack({ name: 'bench_accept', schedulers: 0, latencyMs: 0, partitions: args.partitions });
  let peakRssMiB: Record<string, number | null> = {};
  try {
    const client = stack.client;
    const workflowId = await client.createActiveWorkflow(threeStepWorkflow('bench accept'));
    let key = 0;
    const unary = () => client.createTrigger(triggerRequest(workflowId, `u-${key++}`));
    const batch = async () => {
      const results = await client.batchCreateTriggers(Array.from({ length: args.batchSize }, () => triggerRequest(workflowId, `b-${key++}`)));
      const failed = results.find((r) => r.error);
      if (failed) throw new Error(`batch item refused: ${failed.error}`);
    };
    // Warm-up: connections, prepared paths, JIT.
    await closedLoop(8, Math.min(1_000, args.acceptDurationMs / 2), 1, unary);

    // Each open loop starts once the api has published everything the closed loop before it
    // accepted: the half-rate latency is then the api's own, not the tail of the previous burst.
    const drained = () => waitUntilPublished(stack.env.knex);
    const unaryMax = await closedLoop(args.acceptConcurrency, args.acceptDurationMs, 1, unary);
    await drained();
    const unaryHalf = await openLoop(unaryMax.itemsPerSecond / 2, args.acceptDurationMs, 1, unary);
    const batchMax = await closedLoop(args.batchConcurrency, args.acceptDurationMs, args.batchSize, batch);
    await drained();
    const batchHalf = await openLoop(batchMax.itemsPerSecond / 2 / args.batchSize, args.acceptDurationMs, args.batchSize, batch);
    peakRssMiB = await stack.peakRss();

    const errorsNote = (r: LoadResult) => (r.errors ? `${r.errors} errors, first: ${r.firstError}` : undefined);
    rows.push(
      { section: S, name: `CreateTrigger, ${args.acceptConcurrency} concurrent (max)`, value: `${int(unaryMax.itemsPerSecond)} triggers/s; ${formatLatency(unaryMax.latency)}`, note: errorsNote(unaryMax) },
      { section: S, name: `CreateTrigger, open loop at half max (${int(unaryMax.itemsPerSecond / 2)}/s)`, value: `${int(unaryHalf.itemsPerSecond)} triggers/s; ${formatLatency(unaryHalf.latency)}`, measured: unaryHalf.latency.p99, target: { op: '<=', value: 25, label: 'p99 <= 25 ms' }, note: errorsNote(unaryHalf) },
      { section: S, name: `BatchCreateTriggers x${args.batchSize}, ${args.batchConcurrency} concurrent (max)`, value: `${int(batchMax.itemsPerSecond)} triggers/s; call ${formatLatency(batchMax.latency)}`, note: errorsNote(batchMax) },
      { section: S, name: `BatchCreateTriggers x${args.batchSize}, open loop at half max`, value: `${int(batchHalf.itemsPerSecond)} triggers/s; call ${formatLatency(batchHalf.latency)}`, note: errorsNote(batchHalf) },
      { section: S, name: 'api peak RSS', value: Object.values(peakRssMiB).map((v) => `${v ?? '?'} MiB`).join(', ') },
    );
    return { unaryMax, unaryHalf, batchMax, batchHalf, concurrency: args.acceptConcurrency, batchSize: args.batchSize, batchConcurrency: args.batchConcurrency, peakRssMiB };
  } finally {
    await stack.stop();
  }
}
