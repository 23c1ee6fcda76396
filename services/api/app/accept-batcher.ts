import type { Knex } from 'knex';
import type { Logger } from 'pino';
import { partitionFor } from '../../../core/trigger/new-trigger';
import type { TriggerPublisher } from '../../kafka/trigger-publisher';
import { classifyDbError } from '../../postgres/pg-errors';
import { createTriggerAcceptor } from '../../postgres/trigger-acceptor';
import { markPublished, newTriggerRow } from '../../postgres/trigger-store';
import type { AcceptedTrigger, CreateTriggerInput } from './app-types';
import { createMicroBatcher, type MicroBatcher } from './micro-batcher';

export interface AcceptBatcherOptions {
  knex: Knex;
  publisher: TriggerPublisher;
  partitions: number;
  logger?: Logger;
  maxBatch?: number;
  maxWaitMs?: number;
  maxConcurrent?: number;
  now?: () => Date;
}

/**
 * Trigger acceptance, batched. Every batch of already-validated inputs costs:
 *   1 INSERT  … ON CONFLICT DO NOTHING for all new rows, checking in the same statement that each
 *             workflow is active at the cached version (+1 SELECT only if some conflicted, +1
 *             query reading the workflows that are not cached or changed),
 *   1 produce of all new refs (acks = all), then
 *   1 UPDATE  marking them published.
 * The caller is answered once the rows are committed: from then on Postgres holds the trigger,
 * so the produce and the published mark run behind the answer instead of adding a broker round
 * trip to every accept. A publish failure does not fail anything: the row is its own outbox and
 * the relay re-publishes it.
 */
export function createAcceptBatcher(options: AcceptBatcherOptions): MicroBatcher<CreateTriggerInput, AcceptedTrigger> {
  const { knex, publisher, partitions, logger } = options;
  const now = options.now ?? (() => new Date());

  const acceptor = createTriggerAcceptor(knex);

  async function acceptBatch(inputs: CreateTriggerInput[]): Promise<Array<AcceptedTrigger | Error>> {
    // One clock reading per batch, truncated to ms by Date: it is both the row's created_at
    // and the context's trigger.created_at.
    const createdAt = now();
    let results: Array<AcceptedTrigger | Error>;
    try {
      results = await acceptor.accept(inputs, (version, input) =>
        newTriggerRow(version, input, { partitionOf: (id) => partitionFor(id, partitions), source: 'api', createdAt, publishedAt: null }),
      );
    } catch (error) {
      throw classifyDbError(error);
    }

    const fresh = results.flatMap((r) => (r instanceof Error || r.deduplicated ? [] : [r.instance]));
    if (fresh.length > 0) publishBehind(fresh);
    // A broker that falls behind slows accepts down instead of piling up publishes in memory.
    while (unpublished >= MAX_UNPUBLISHED && published.size > 0) await Promise.race(published);
    return results;
  }

  // Publishes of many accept batches share one Kafka send and one published mark. No wait window:
  // a lone publish goes at once, and batches form while two are in flight (at 100 triggers/s a
  // 5 ms window put 11 ms between a row's commit and its publish, natural batching 7 ms).
  const publishes = createMicroBatcher<AcceptedTrigger['instance'], void>({
    maxBatch: 2_000,
    maxWaitMs: 0,
    maxConcurrent: 2,
    run: async (fresh) => {
      try {
        await publisher.publish(fresh, 'accepted');
        await markPublished(knex, fresh.map((t) => t.id));
      } catch (error) {
        logger?.warn({ err: error, count: fresh.length }, 'accepted triggers not published yet; the relay will retry');
      }
      return fresh.map(() => undefined);
    },
  });
  let unpublished = 0;
  const published = new Set<Promise<void>>();
  function publishBehind(fresh: AcceptedTrigger['instance'][]): void {
    unpublished += fresh.length;
    const run = Promise.all(fresh.map((instance) => publishes.submit(instance).catch(() => undefined))).then(() => {
      unpublished -= fresh.length;
    });
    published.add(run);
    void run.finally(() => published.delete(run));
  }

  const batcher = createMicroBatcher<CreateTriggerInput, AcceptedTrigger>({
    maxBatch: options.maxBatch ?? 500,
    maxWaitMs: options.maxWaitMs ?? 2,
    maxConcurrent: options.maxConcurrent ?? 4,
    run: acceptBatch,
  });
  return {
    submit: (input) => batcher.submit(input),
    async close() {
      await batcher.close();
      await publishes.close();
    },
  };
}

const MAX_UNPUBLISHED = 4_000;
