import type { Knex } from 'knex';
import type { Logger } from 'pino';
import { HeraldError, TerminalError } from '../../../core/errors';
import type { ExecutionLogEntry } from '../../../core/trigger/log';
import { validateTriggerInput } from '../../../core/trigger/validate-trigger-input';
import type { HeraldConfig } from '../../config/config';
import type { TriggerPublisher } from '../../kafka/trigger-publisher';
import { listLogs } from '../../postgres/log-store';
import { listOutboxMessages } from '../../postgres/outbox-read-store';
import { classifyDbError, withDbErrors } from '../../postgres/pg-errors';
import { activeTraceparent } from '../../telemetry/tracing';
import { cancelTrigger, getTrigger, listTriggers, markPublished, retryTrigger } from '../../postgres/trigger-store';
import { createAcceptBatcher } from './accept-batcher';
import type { AcceptedTrigger, BatchResult, CreateTriggerInput, TriggerApp } from './app-types';
import { createWatchHub } from './watch-hub';

export const MAX_BATCH_CREATE = 1000;

export interface TriggerAppDeps {
  knex: Knex;
  publisher: TriggerPublisher;
  config: HeraldConfig;
  logger?: Logger;
  /** Tuning for tests and benchmarks; defaults suit production. */
  accept?: { maxBatch?: number; maxWaitMs?: number; maxConcurrent?: number };
  watchIntervalMs?: number;
}

/** TriggerApp plus the shutdown hook main.ts calls. */
export interface TriggerAppService extends TriggerApp {
  /** Finishes queued accepts and ends open watches. */
  close(): Promise<void>;
}

function invalidInput(violations: ReturnType<typeof validateTriggerInput>): TerminalError {
  return new TerminalError('INVALID_ARGUMENT', 'the trigger request is invalid', { violations });
}

/**
 * The input as the batcher gets it, with the caller's trace (the RPC's server span) captured now:
 * the batch runs later, in whichever call's context started it.
 */
function withTrace(input: CreateTriggerInput, traceparent: string | undefined): CreateTriggerInput {
  return traceparent ? { ...input, traceparent } : input;
}

function asHeraldError(error: unknown): HeraldError {
  return error instanceof HeraldError ? error : classifyDbError(error);
}

export function createTriggerApp(deps: TriggerAppDeps): TriggerAppService {
  const { knex, publisher, config, logger } = deps;
  const limits = { maxPayloadBytes: config.api.maxPayloadBytes };
  const batcher = createAcceptBatcher({ knex, publisher, partitions: config.kafka.partitions, logger, ...deps.accept });
  const hub = createWatchHub({ knex, logger, intervalMs: deps.watchIntervalMs });

  /** Re-publishing after a state change is best-effort: on failure the relay (or nothing, for cancel) covers it. */
  async function publishAfterChange(instance: Awaited<ReturnType<typeof getTrigger>>, reason: 'retried' | 'cancelled') {
    try {
      await publisher.publish([instance], reason);
      if (reason === 'retried') {
        await markPublished(knex, [instance.id]);
        instance.publishedAt = new Date();
      }
    } catch (error) {
      logger?.warn({ err: error, triggerId: instance.id, reason }, 'trigger ref not published');
    }
  }

  return {
    async create(input: CreateTriggerInput): Promise<AcceptedTrigger> {
      const violations = validateTriggerInput(input, limits);
      if (violations.length > 0) throw invalidInput(violations);
      return batcher.submit(withTrace(input, activeTraceparent()));
    },

    async batchCreate(inputs: CreateTriggerInput[]): Promise<BatchResult[]> {
      if (inputs.length > MAX_BATCH_CREATE) {
        throw new TerminalError('INVALID_ARGUMENT', `at most ${MAX_BATCH_CREATE} triggers per batch`, {
          violations: [{ path: 'requests', reason: 'INVALID_VALUE', message: `at most ${MAX_BATCH_CREATE} items, got ${inputs.length}` }],
        });
      }
      // All valid items go into the batcher in the same tick, so they share its round trips.
      const traceparent = activeTraceparent();
      const pending = inputs.map((input) => {
        const violations = validateTriggerInput(input, limits);
        return violations.length > 0 ? Promise.reject(invalidInput(violations)) : batcher.submit(withTrace(input, traceparent));
      });
      const settled = await Promise.allSettled(pending);
      return settled.map((s) => (s.status === 'fulfilled' ? { ok: s.value } : { error: asHeraldError(s.reason) }));
    },

    get: (id) => withDbErrors(() => getTrigger(knex, id)),

    list: (filter) => withDbErrors(() => listTriggers(knex, filter)),

    async cancel(id) {
      const instance = await withDbErrors(() => cancelTrigger(knex, id));
      // Lets the owning scheduler stop a live actor now rather than at its next checkpoint.
      await publishAfterChange(instance, 'cancelled');
      return instance;
    },

    async retry(id) {
      const instance = await withDbErrors(() => retryTrigger(knex, id));
      await publishAfterChange(instance, 'retried');
      return instance;
    },

    listLogs: (request) => withDbErrors(() => listLogs(knex, request)),

    async *watch(triggerId: string, signal: AbortSignal): AsyncGenerator<ExecutionLogEntry> {
      await withDbErrors(() => getTrigger(knex, triggerId));
      yield* hub.watch(triggerId, signal);
    },

    listOutbox: (request) => withDbErrors(() => listOutboxMessages(knex, request)),

    async close() {
      await batcher.close();
      await hub.close();
    },
  };
}
