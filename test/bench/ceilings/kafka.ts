/**
 * Kafka ceiling with kafkajs and Herald's topic config: 12 partitions, an idempotent producer with
 * acks=-1, keyed ~300-byte messages; then one consumer group reading them back with eachBatch.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { Kafka, logLevel } from 'kafkajs';
import { createTopicsAndWaitForLeaders } from '../../../services/kafka/topics';
import { LatencyRecorder, type LatencySummary } from '../histogram';
import { perSecond } from '../report';

export interface KafkaCeilingOptions {
  brokers: string[];
  partitions: number;
  messages: number;
  messageBytes: number;
  batch: number;
}

export interface KafkaCeiling {
  producePerSecond: number;
  produceBatchLatency: LatencySummary;
  /** One message per send(), acks=-1, 64 in flight: what an un-batched accept path would get. */
  unbatchedProducePerSecond: number;
  consumePerSecond: number;
  messages: number;
  messageBytes: number;
  batch: number;
}

function messageValue(bytes: number, id: string): Buffer {
  const base = { workflowId: '00000000-0000-4000-8000-000000000001', idempotencyKey: id, recipient: { id: `user-${id}`, email: 'user@example.com' }, payload: { note: '' } };
  const pad = Math.max(0, bytes - Buffer.byteLength(JSON.stringify(base)));
  base.payload.note = 'x'.repeat(pad);
  return Buffer.from(JSON.stringify(base));
}

export async function measureKafkaCeiling(options: KafkaCeilingOptions): Promise<KafkaCeiling> {
  const prefix = `bench_kafka_${randomBytes(3).toString('hex')}.`;
  const topic = `${prefix}herald.triggers`;
  const kafka = new Kafka({ clientId: 'herald-bench', brokers: options.brokers, logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  await createTopicsAndWaitForLeaders(admin, [{ topic, numPartitions: options.partitions }]);
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false });
  await producer.connect();
  const consumer = kafka.consumer({ groupId: `${prefix}bench-consumer`, maxBytes: 10 * 1024 * 1024 });
  try {
    // Warm-up: metadata, producer id and connections to the partition leaders.
    await producer.send({ topic, acks: -1, messages: [{ key: randomUUID(), value: messageValue(options.messageBytes, 'warm') }] });

    const latency = new LatencyRecorder();
    const started = performance.now();
    for (let sent = 0; sent < options.messages; sent += options.batch) {
      const messages = Array.from({ length: Math.min(options.batch, options.messages - sent) }, () => {
        const id = randomUUID();
        return { key: id, value: messageValue(options.messageBytes, id) };
      });
      const t0 = performance.now();
      await producer.send({ topic, acks: -1, messages });
      latency.recordMs(performance.now() - t0);
    }
    const produceMs = performance.now() - started;

    const unbatchedCount = Math.min(5_000, Math.max(200, Math.floor(options.messages / 20)));
    let next = 0;
    const u0 = performance.now();
    await Promise.all(Array.from({ length: 64 }, async () => {
      while (next < unbatchedCount) {
        next += 1;
        const id = randomUUID();
        await producer.send({ topic, acks: -1, messages: [{ key: id, value: messageValue(options.messageBytes, id) }] });
      }
    }));
    const unbatchedMs = performance.now() - u0;

    const total = options.messages + unbatchedCount + 1;
    let consumed = 0;
    let firstAt = 0;
    let lastAt = 0;
    let resolveDone!: () => void;
    const done = new Promise<void>((resolve) => (resolveDone = resolve));
    let joinedAt = 0;
    consumer.on(consumer.events.GROUP_JOIN, () => (joinedAt = performance.now()));
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      partitionsConsumedConcurrently: options.partitions,
      eachBatch: async ({ batch }) => {
        if (firstAt === 0) firstAt = joinedAt || performance.now();
        consumed += batch.messages.length;
        lastAt = performance.now();
        if (consumed >= total) resolveDone();
      },
    });
    await Promise.race([done, new Promise((_, reject) => setTimeout(() => reject(new Error(`consumed ${consumed}/${total} within 120 s`)), 120_000).unref())]);
    return {
      producePerSecond: perSecond(options.messages, produceMs),
      produceBatchLatency: latency.summary(),
      unbatchedProducePerSecond: perSecond(unbatchedCount, unbatchedMs),
      // From joining the group (assignment done) to the last batch: excludes the join itself.
      consumePerSecond: perSecond(consumed, Math.max(1, lastAt - firstAt)),
      messages: options.messages,
      messageBytes: messageValue(options.messageBytes, randomUUID()).length,
      batch: options.batch,
    };
  } finally {
    await consumer.disconnect().catch(() => undefined);
    await producer.disconnect().catch(() => undefined);
    await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
    await admin.deleteGroups([`${prefix}bench-consumer`]).catch(() => undefined);
    await admin.disconnect();
  }
}
