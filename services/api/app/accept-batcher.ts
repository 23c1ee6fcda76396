import type { Knex } from 'knex';
import type { Logger } from 'pino';
import { TerminalError } from '../../../core/errors';
import { initialTriggerState, partitionFor, triggerIdFor } from '../../../core/trigger/new-trigger';
import type { TriggerPublisher } from '../../kafka/trigger-publisher';
import { classifyDbError } from '../../postgres/pg-errors';
import { insertTriggers, markPublished, type NewTriggerRow } from '../../postgres/trigger-store';
import { getActiveWorkflows } from '../../postgres/workflow-store';
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
 *   1 query   resolving every distinct workflow to its active version,
 *   1 INSERT  … ON CONFLICT DO NOTHING for all new rows (+1 SELECT only if some conflicted),
 *   1 produce of all new refs (acks = all), then
 *   1 UPDATE  marking them published.
 * A publish failure does not fail the accept: the row is its own outbox, the relay re-publishes.
 */
export function createAcceptBatcher(options: AcceptBatcherOptions): MicroBatcher<CreateTriggerInput, AcceptedTrigger> {
  const { knex, publisher, partitions, logger } = options;
  const now = options.now ?? (() => new Date());

  async function acceptBatch(inputs: CreateTriggerInput[]): Promise<Array<AcceptedTrigger | Error>> {
    const results: Array<AcceptedTrigger | Error> = new Array(inputs.length);
    let accepted: Awaited<ReturnType<typeof insertTriggers>>;
    const drafts: NewTriggerRow[] = [];
    const draftOf: number[] = [];
    try {
      const workflows = await getActiveWorkflows(knex, inputs.map((input) => input.workflowId));
      // One clock reading per batch, truncated to ms by Date: it is both the row's created_at
      // and the context's trigger.created_at.
      const createdAt = now();
      inputs.forEach((input, i) => {
        const found = workflows.get(input.workflowId)!;
        if (found instanceof TerminalError) {
          results[i] = found;
          return;
        }
        const id = triggerIdFor(input.workflowId, input.idempotencyKey);
        drafts.push({
          id,
          workflowId: input.workflowId,
          workflowVersion: found.version,
          idempotencyKey: input.idempotencyKey,
          partition: partitionFor(id, partitions),
          source: 'api',
          recipient: input.recipient,
          payload: input.payload,
          state: initialTriggerState(found, { id, idempotencyKey: input.idempotencyKey, createdAt, recipient: input.recipient, payload: input.payload }),
          createdAt,
          publishedAt: null,
        });
        draftOf.push(i);
      });
      accepted = await insertTriggers(knex, drafts);
    } catch (error) {
      throw classifyDbError(error);
    }
    accepted.forEach((result, j) => {
      results[draftOf[j]] = result;
    });

    const fresh = accepted.filter((r) => !r.deduplicated).map((r) => r.instance);
    if (fresh.length > 0) {
      try {
        await publisher.publish(fresh, 'accepted');
        await markPublished(knex, fresh.map((t) => t.id));
        const at = new Date();
        for (const instance of fresh) instance.publishedAt = at;
      } catch (error) {
        logger?.warn({ err: error, count: fresh.length }, 'accepted triggers not published yet; the relay will retry');
      }
    }
    return results;
  }

  return createMicroBatcher<CreateTriggerInput, AcceptedTrigger>({
    maxBatch: options.maxBatch ?? 500,
    maxWaitMs: options.maxWaitMs ?? 2,
    maxConcurrent: options.maxConcurrent ?? 4,
    run: acceptBatch,
  });
}
