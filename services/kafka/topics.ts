import type { Admin, Kafka } from 'kafkajs';
import type { Logger } from 'pino';
import type { HeraldConfig } from '../config/config';

/**
 * Creates `herald.triggers` (config.kafka.partitions partitions) and `herald.triggers.dlq` if
 * they are missing. Safe to call from every api and scheduler at start, concurrently.
 * An existing triggers topic with fewer partitions than configured is an error, not altered:
 * the api stores and produces to `partitionFor(id, HERALD_PARTITIONS)`, so a missing partition
 * would strand triggers; adding partitions under a running cluster is an operator's call.
 * Returns the partition count the triggers topic actually has.
 */
export async function ensureTopics(kafka: Kafka, config: HeraldConfig, logger?: Logger): Promise<number> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const wanted = [
      { topic: config.kafka.triggersTopic, numPartitions: config.kafka.partitions },
      { topic: config.kafka.deadLetterTopic, numPartitions: 1 },
    ];
    const existing = new Set(await admin.listTopics());
    const missing = wanted.filter((t) => !existing.has(t.topic));
    if (missing.length > 0) await createTopicsAndWaitForLeaders(admin, missing, logger);
    const actual = await waitForPartitionLeaders(admin, config.kafka.triggersTopic, logger);
    if (actual < config.kafka.partitions) {
      logger?.error({ topic: config.kafka.triggersTopic, actual, configured: config.kafka.partitions }, 'triggers topic is too small');
      throw new Error(
        `topic ${config.kafka.triggersTopic} has ${actual} partitions but HERALD_PARTITIONS=${config.kafka.partitions}; ` +
          'add partitions (kafka-topics --alter) or lower HERALD_PARTITIONS',
      );
    }
    return actual;
  } finally {
    await admin.disconnect();
  }
}

/**
 * Creates the topics and waits until every partition has a leader. kafkajs's own
 * `waitForLeaders` retries only LEADER_NOT_AVAILABLE, but a KRaft broker answers a topic it
 * created a moment ago with UNKNOWN_TOPIC_OR_PARTITION until its metadata catches up, which
 * kafkajs then throws. Returns false when every topic already existed (another process won).
 */
export async function createTopicsAndWaitForLeaders(
  admin: Admin,
  topics: Array<{ topic: string; numPartitions: number }>,
  logger?: Logger,
): Promise<boolean> {
  let created = true;
  try {
    created = await admin.createTopics({ topics, waitForLeaders: false });
  } catch (error) {
    // Another process created it between our list and our create: that is the goal anyway.
    if (!isTopicExists(error)) throw error;
    created = false;
  }
  for (const { topic } of topics) await waitForPartitionLeaders(admin, topic, logger);
  return created;
}

/**
 * A topic another process created a moment ago is listed before every broker serves it: its
 * metadata answers UNKNOWN_TOPIC_OR_PARTITION or LEADER_NOT_AVAILABLE for a while. Those are
 * transient, so wait (bounded) for every partition to have a leader instead of failing start.
 */
async function waitForPartitionLeaders(admin: Admin, topic: string, logger?: Logger): Promise<number> {
  const deadline = Date.now() + METADATA_WAIT_MS;
  for (let delayMs = 100; ; delayMs = Math.min(delayMs * 2, 2_000)) {
    try {
      const metadata = await admin.fetchTopicMetadata({ topics: [topic] });
      const partitions = metadata.topics[0]?.partitions ?? [];
      if (partitions.length > 0 && partitions.every((p) => p.leader >= 0)) return partitions.length;
    } catch (error) {
      if (!isTransientMetadataError(error) || Date.now() > deadline) throw error;
      logger?.debug({ topic, err: error }, 'topic metadata not ready yet');
    }
    if (Date.now() > deadline) throw new Error(`topic ${topic} has partitions without a leader after ${METADATA_WAIT_MS} ms`);
    await new Promise((resolve) => setTimeout(resolve, delayMs));
  }
}

const METADATA_WAIT_MS = 30_000;

function isTransientMetadataError(error: unknown): boolean {
  const e = error as { retriable?: boolean; type?: string } | null;
  return e?.retriable === true || e?.type === 'UNKNOWN_TOPIC_OR_PARTITION' || e?.type === 'LEADER_NOT_AVAILABLE';
}

function isTopicExists(error: unknown): boolean {
  const e = error as { type?: string; errors?: Array<{ type?: string }> } | null;
  if (!e) return false;
  if (e.type === 'TOPIC_ALREADY_EXISTS') return true;
  return Array.isArray(e.errors) && e.errors.length > 0 && e.errors.every((inner) => inner.type === 'TOPIC_ALREADY_EXISTS');
}
