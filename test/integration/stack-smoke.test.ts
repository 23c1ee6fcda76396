import test from 'ava';
import { Redis } from 'ioredis';
import { Kafka, logLevel } from 'kafkajs';
import { createTopicsAndWaitForLeaders } from '../../services/kafka/topics';
import { createTestEnv, pollUntil, type TestEnv } from '../support/test-env';

// Proves the local stack is real: the same broker, database and Redis the suites run against.
let env: TestEnv;

test.before(async () => {
  env = await createTestEnv('stack-smoke');
});

test.after.always(async () => {
  await env?.cleanup();
});

function makeKafka(): Kafka {
  return new Kafka({ clientId: `${env.id}-smoke`, brokers: env.config.kafka.brokers, logLevel: logLevel.NOTHING });
}

test('a kafkajs consumer group receives every message produced to a fresh topic and commits its offsets', async (t) => {
  const kafka = makeKafka();
  const topic = `${env.config.kafka.topicPrefix}smoke`;
  const groupId = `${env.config.kafka.topicPrefix}smoke-group`;
  const admin = kafka.admin();
  // Idempotent, as Herald's own producers are: a fresh topic's partitions may refuse the first
  // produce with a retriable error, and kafkajs then re-sends the whole request to the broker,
  // partitions that took it included; the producer id and sequence numbers let the broker drop those.
  const producer = kafka.producer({ allowAutoTopicCreation: false, idempotent: true, maxInFlightRequests: 1 });
  const consumer = kafka.consumer({ groupId });
  t.teardown(async () => {
    await consumer.disconnect().catch(() => undefined);
    await producer.disconnect().catch(() => undefined);
    await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
    await admin.disconnect().catch(() => undefined);
  });

  await admin.connect();
  t.true(await createTopicsAndWaitForLeaders(admin, [{ topic, numPartitions: 3 }]), 'the topic is new');
  const metadata = await admin.fetchTopicMetadata({ topics: [topic] });
  t.is(metadata.topics[0]?.partitions.length, 3);

  const sent = Array.from({ length: 12 }, (_, i) => ({ key: `key-${i}`, value: `value-${i}` }));
  await producer.connect();
  await producer.send({ topic, messages: sent });

  const received: Array<{ key: string; value: string; partition: number }> = [];
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({
    autoCommit: false,
    eachMessage: async ({ partition, message }) => {
      received.push({ key: String(message.key), value: String(message.value), partition });
      await consumer.commitOffsets([{ topic, partition, offset: (BigInt(message.offset) + 1n).toString() }]);
    },
  });
  await pollUntil(() => received.length >= sent.length, { what: 'all produced messages to be consumed' });

  t.deepEqual(
    received.map(({ key, value }) => ({ key, value })).sort((a, b) => a.key.localeCompare(b.key)),
    [...sent].sort((a, b) => a.key.localeCompare(b.key)),
  );
  // The keyed messages spread over the partitions, and the one group member consumed them all.
  t.true(new Set(received.map((m) => m.partition)).size > 1);

  await consumer.stop();
  const committed = await admin.fetchOffsets({ groupId, topics: [topic] });
  const committedTotal = committed[0]!.partitions.reduce((sum, p) => sum + Number(p.offset), 0);
  t.is(committedTotal, sent.length, 'the group committed one offset past every consumed message');
});

test('a Postgres query runs in the herald_test database inside this file\'s migrated schema', async (t) => {
  const result = await env.knex.raw<{ rows: Array<{ db: string; schema: string }> }>(
    'SELECT current_database() AS db, current_schema() AS schema',
  );
  t.deepEqual(result.rows[0], { db: 'herald_test', schema: env.id });

  const tables = await env.knex('information_schema.tables').where({ table_schema: env.id }).pluck<string[]>('table_name');
  t.true(tables.includes('trigger_instances'), 'the schema was migrated');
  t.is(Number((await env.knex('trigger_instances').count({ n: '*' }))[0]!.n), 0);
});

test('Redis ZADD then ZRANGEBYSCORE returns only the members due by a score, under the test key prefix', async (t) => {
  const redis = new Redis(env.config.redis.url, { maxRetriesPerRequest: 1 });
  const key = `${env.config.redis.prefix}smoke:timers`;
  t.teardown(async () => {
    await redis.del(key).catch(() => undefined);
    redis.disconnect();
  });

  t.is(await redis.zadd(key, 3000, 'later', 1000, 'first', 2000, 'second'), 3);
  t.deepEqual(await redis.zrangebyscore(key, '-inf', 2000), ['first', 'second']);
  t.deepEqual(await redis.zrangebyscore(key, 2001, '+inf', 'WITHSCORES'), ['later', '3000']);
});
