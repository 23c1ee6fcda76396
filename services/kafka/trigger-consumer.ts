import type { Consumer, EachBatchPayload, Kafka } from 'kafkajs';
import type { Logger } from 'pino';
import type { HeraldConfig } from '../config/config';

export interface TriggerConsumerHandlers {
  /**
   * The complete set of triggers-topic partitions assigned to this member, after every group
   * join. kafkajs has no "partitions revoked" callback: revocation is seen here, as a partition
   * missing from the new set, and the handler must stop it before doing anything else.
   */
  onAssignment(partitions: number[], why: string): void;
  /** The consumer crashed or stopped: nothing is assigned to us any more. */
  onRevokeAll(why: string): void;
  /** One fetched batch of one partition; resolve offsets only for messages whose rows exist. */
  onBatch(payload: EachBatchPayload): Promise<void>;
}

export interface TriggerConsumer {
  /** Total consumer lag (messages) over the partitions we consumed, as of their last batch. */
  lag(): number;
  /** Stops fetching, waits for running batches, leaves the group. */
  stop(): Promise<void>;
}

/**
 * The scheduler's membership of `herald-scheduler` on `herald.triggers`. The session timeout
 * (HERALD_KAFKA_SESSION_TIMEOUT_MS, 10 s by default) is short so a dead member's partitions move
 * quickly; the Redlock lease and the epoch keep the overlap safe while they do.
 */
export async function startTriggerConsumer(
  kafka: Kafka,
  config: HeraldConfig,
  handlers: TriggerConsumerHandlers,
  logger: Logger,
): Promise<TriggerConsumer> {
  const topic = config.kafka.triggersTopic;
  const consumer: Consumer = kafka.consumer({
    groupId: config.kafka.schedulerGroup,
    sessionTimeout: config.kafka.sessionTimeoutMs,
    rebalanceTimeout: 30_000,
    // Several heartbeats per session, so one slow one never costs the membership.
    heartbeatInterval: Math.min(1_000, Math.floor(config.kafka.sessionTimeoutMs / 5)),
    maxWaitTimeInMs: 500,
    allowAutoTopicCreation: false,
    retry: { retries: 10, initialRetryTime: 300, maxRetryTime: 5_000 },
  });
  const lagByPartition = new Map<number, number>();

  consumer.on(consumer.events.GROUP_JOIN, (event) => {
    const partitions = (event.payload.memberAssignment[topic] ?? []).slice().sort((a, b) => a - b);
    for (const p of lagByPartition.keys()) if (!partitions.includes(p)) lagByPartition.delete(p);
    handlers.onAssignment(partitions, `group join as ${event.payload.memberId}`);
  });
  consumer.on(consumer.events.CRASH, (event) => {
    logger.error({ err: event.payload.error, restart: event.payload.restart }, 'trigger consumer crashed');
    lagByPartition.clear();
    handlers.onRevokeAll('consumer crashed');
  });
  consumer.on(consumer.events.STOP, () => {
    lagByPartition.clear();
    handlers.onRevokeAll('consumer stopped');
  });

  await consumer.connect();
  // A new group starts at the beginning: messages produced before any scheduler ran are triggers too.
  await consumer.subscribe({ topics: [topic], fromBeginning: true });
  await consumer.run({
    autoCommit: true,
    eachBatchAutoResolve: false,
    partitionsConsumedConcurrently: Math.max(1, config.kafka.partitions),
    eachBatch: async (payload) => {
      await handlers.onBatch(payload);
      const lag = Number(payload.batch.offsetLag());
      if (Number.isFinite(lag)) lagByPartition.set(payload.batch.partition, lag);
    },
  });

  return {
    lag() {
      let total = 0;
      for (const lag of lagByPartition.values()) total += lag;
      return total;
    },
    async stop() {
      await consumer.disconnect();
    },
  };
}
