import { Partitioners, type EachBatchPayload } from 'kafkajs';
import type { Logger } from 'pino';
import type { EmailProvider, SmsProvider } from '../../core/ports/providers';
import type { SchedulerStatus } from '../api/app/app-types';
import type { HeraldConfig } from '../config/config';
import { DeadLetterSink } from '../kafka/dead-letter';
import { headerText } from '../kafka/decode-trigger-message';
import { createKafka } from '../kafka/kafka-client';
import { ensureTopics } from '../kafka/topics';
import { startTriggerConsumer, type TriggerConsumer } from '../kafka/trigger-consumer';
import { connectPostgres } from '../postgres/connect';
import { createProviders } from '../providers';
import { LeaseManager } from '../redis/lease-manager';
import { closeRedisClient, createRedisClient } from '../redis/redis-client';
import { TimerWheel } from '../redis/timer-wheel';
import { ActorRegistry } from './actor-registry';
import { CheckpointBatcher } from './checkpoint-batcher';
import { inKafkaSpan } from '../telemetry/kafka-spans';
import { createSchedulerMetrics } from '../telemetry/scheduler-metrics';
import { startHeartbeat } from './heartbeat';
import { TriggerIngest, type IngestStats } from './ingest';
import { LoadBatcher } from './load-batcher';
import { PartitionManager } from './partition-manager';
import { WorkflowVersionCache, type SchedulerContext } from './scheduler-context';

export interface SchedulerDeps {
  providers?: { email: EmailProvider; sms: SmsProvider };
}

/** The cluster view (what heartbeats carry) plus this process's own counters. */
export interface SchedulerRuntimeStatus extends SchedulerStatus {
  fencedWrites: number;
  checkpoints: { written: number; conflicts: number; transactions: number; errors: number };
  ingest: IngestStats;
  /** Rows of timers held in memory, read ahead so that a fire does not wait for a read. */
  prefetchedRows: number;
}

export interface RunningScheduler {
  stop(): Promise<void>;
  status(): SchedulerRuntimeStatus;
}

/** In-flight steps get this long to finish on revocation or SIGTERM; the CLI exits by 9 s. */
const DRAIN_TIMEOUT_MS = 5_000;
const STOP_PART_TIMEOUT_MS = 7_000;

export async function startScheduler(config: HeraldConfig, parentLogger: Logger, deps: SchedulerDeps = {}): Promise<RunningScheduler> {
  const logger = parentLogger.child({ component: 'scheduler', schedulerId: config.scheduler.id });
  const startedAt = new Date();
  const knex = connectPostgres({
    ...config.postgres,
    url: withSessionTimeouts(config.postgres.url),
    applicationName: `herald-scheduler ${config.scheduler.id}`,
    logger,
  });
  const redis = createRedisClient(config.redis, 'herald-scheduler');
  const created = deps.providers ? null : createProviders(config.providers, { knex, logger });
  const providers = deps.providers ?? { email: created!.email, sms: created!.sms };

  const registry = new ActorRegistry(config.scheduler.maxActors, logger);
  const batcher = new CheckpointBatcher(knex, { windowMs: config.scheduler.checkpointWindowMs }, logger);
  const ctx: SchedulerContext = {
    config,
    logger,
    knex,
    wheel: new TimerWheel(redis, config.redis.prefix),
    leases: new LeaseManager(redis, config.redis.prefix, config.scheduler.leaseTtlMs, logger),
    batcher,
    loader: new LoadBatcher(knex),
    registry,
    providers,
    decideDeps: {
      random: { next: Math.random },
      limits: { maxDelayMs: config.limits.maxDelayMs, maxContextBytes: config.limits.maxContextBytes },
    },
    workflows: new WorkflowVersionCache(knex),
    providerTimeoutMs: config.providers.timeoutMs + 5_000,
    drainTimeoutMs: DRAIN_TIMEOUT_MS,
  };
  const manager = new PartitionManager(ctx);

  const kafka = createKafka(config, `herald-scheduler-${config.scheduler.id}`, logger);
  await ensureTopics(kafka, config, logger);
  const producer = kafka.producer({
    allowAutoTopicCreation: false,
    idempotent: true,
    maxInFlightRequests: 1,
    createPartitioner: Partitioners.DefaultPartitioner,
  });
  await producer.connect();
  const ingest = new TriggerIngest(knex, new DeadLetterSink(producer, config.kafka.deadLetterTopic), config.limits.maxPayloadBytes, logger);

  let closing = false;
  const closeSignal = new AbortController();

  async function onBatch(payload: EachBatchPayload): Promise<void> {
    const { batch } = payload;
    if (closing || batch.messages.length === 0) return;
    let ingested;
    try {
      ingested = await inKafkaSpan(
        { operation: 'process', topic: batch.topic, partition: batch.partition, messageCount: batch.messages.length },
        () => batch.messages.map((message) => headerText(message.headers, 'traceparent')),
        () => ingest.ingest(batch.topic, batch.partition, batch.messages),
      );
    } catch (error) {
      logger.warn({ err: error, partition: batch.partition, offset: batch.firstOffset() }, 'ingest failed; the batch will be retried');
      throw error;
    }
    // Every message is now a row or a dead letter: Postgres holds the state, the offset can go.
    payload.resolveOffset(batch.lastOffset());
    await payload.commitOffsetsIfNecessary();
    for (const trigger of ingested) {
      // Back-pressure: the next batch waits until actors have room.
      while (registry.freeCapacity() <= 0 && !closing && payload.isRunning() && !payload.isStale()) {
        await registry.waitForCapacity(closeSignal.signal, 1_000);
        await payload.heartbeat();
      }
      if (closing || !payload.isRunning() || payload.isStale()) return;
      manager.wake(trigger.partition, trigger.id);
    }
    await payload.heartbeat();
  }

  const consumer: TriggerConsumer = await startTriggerConsumer(
    kafka,
    config,
    {
      onAssignment: (partitions, why) => manager.applyAssignment(partitions, why),
      onRevokeAll: (why) => manager.applyAssignment([], why),
      onBatch,
    },
    logger,
  );

  function status(): SchedulerRuntimeStatus {
    const owned = manager.owned().filter((o) => o.status === 'recovering' || o.status === 'running');
    return {
      schedulerId: config.scheduler.id,
      partitions: owned.map((o) => ({ partition: o.partition, epoch: o.epoch })).sort((a, b) => a.partition - b.partition),
      actorsInMemory: registry.size,
      parkedTimers: owned.reduce((sum, o) => sum + o.parkedTimers, 0),
      consumerLag: consumer.lag(),
      startedAt,
      fencedWrites: batcher.counters.fenced,
      checkpoints: {
        written: batcher.counters.written,
        conflicts: batcher.counters.conflicts,
        transactions: batcher.counters.transactions,
        errors: batcher.counters.errors,
      },
      ingest: { ...ingest.stats },
      prefetchedRows: ctx.loader.prefetchedCount,
    };
  }

  ctx.metrics = createSchedulerMetrics(() => {
    const s = status();
    return { ...s, partitions: s.partitions.length };
  });

  const heartbeat = startHeartbeat({
    apiAddress: config.scheduler.apiAddress,
    workerKey: config.scheduler.workerKey,
    intervalMs: config.scheduler.heartbeatMs,
    status,
    logger,
  });
  logger.info({ topic: config.kafka.triggersTopic, group: config.kafka.schedulerGroup }, 'scheduler started');

  let stopping: Promise<void> | null = null;
  async function stop(): Promise<void> {
    closing = true;
    closeSignal.abort();
    heartbeat.stop();
    // Stop taking work and drain partitions (in-flight steps finish or are checkpointed, leases
    // released) while leaving the group; each part is bounded so SIGTERM exits well within 10 s.
    await Promise.all([
      bounded(consumer.stop(), STOP_PART_TIMEOUT_MS, () => logger.warn('consumer did not leave the group in time')),
      bounded(manager.stopAll(), STOP_PART_TIMEOUT_MS, () => logger.warn('partitions did not drain in time')),
    ]);
    await bounded(batcher.drain(), 1_000, () => undefined);
    await bounded(
      Promise.all([producer.disconnect(), created?.close(), closeRedisClient(redis), knex.destroy()].map((p) => Promise.resolve(p).catch(() => undefined))),
      1_500,
      () => logger.warn('some connections did not close in time'),
    );
    logger.info(status(), 'scheduler stopped');
  }

  return {
    stop() {
      stopping ??= stop();
      return stopping;
    },
    status,
  };
}

/**
 * Scheduler sessions never wait long on a lock or sit idle inside a transaction: an old owner
 * frozen mid-transaction (SIGSTOP) must not stall the new owner's epoch bump for long.
 */
export function withSessionTimeouts(url: string): string {
  const parsed = new URL(url);
  const existing = parsed.searchParams.get('options');
  const ours = '-c lock_timeout=5000 -c idle_in_transaction_session_timeout=10000';
  parsed.searchParams.set('options', existing ? `${existing} ${ours}` : ours);
  return parsed.toString();
}

async function bounded(work: Promise<unknown>, timeoutMs: number, onTimeout: () => void): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), timeoutMs);
  });
  try {
    const result = await Promise.race([work.then(() => 'done' as const, () => 'done' as const), timeout]);
    if (result === 'timeout') onTimeout();
  } finally {
    clearTimeout(timer);
  }
}
