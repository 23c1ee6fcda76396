/**
 * Waits until a kafkajs admin client can create (and delete) a topic on HERALD_KAFKA_BROKERS and
 * the group coordinator answers: the broker is then up, the controller has a quorum, metadata is
 * served and consumer groups can join.
 * Exits non-zero after HERALD_KAFKA_WAIT_MS (default 120 s).
 */
import { randomBytes } from 'node:crypto';
import { Kafka, logLevel } from 'kafkajs';

const brokers = (process.env.HERALD_KAFKA_BROKERS ?? '127.0.0.1:9092').split(',').map((b) => b.trim());
const timeoutMs = Number(process.env.HERALD_KAFKA_WAIT_MS ?? 120_000);
const intervalMs = 500;

async function tryCreateTopic(kafka: Kafka): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const topic = `herald.stack-check.${randomBytes(4).toString('hex')}`;
    const created = await admin.createTopics({ topics: [{ topic, numPartitions: 1 }], waitForLeaders: true, timeout: 10_000 });
    if (!created) throw new Error(`topic ${topic} already existed`);
    await admin.deleteTopics({ topics: [topic], timeout: 10_000 });
    // The first group lookup creates __consumer_offsets; doing it here keeps that one-time
    // "coordinator not available" retry out of the tests' consumer groups.
    await admin.describeGroups(['herald.stack-check']);
  } finally {
    await admin.disconnect();
  }
}

async function main(): Promise<void> {
  const kafka = new Kafka({ clientId: 'herald-stack-check', brokers, logLevel: logLevel.NOTHING, retry: { retries: 0 }, connectionTimeout: 3_000 });
  const started = Date.now();
  let last: unknown;
  while (Date.now() - started < timeoutMs) {
    try {
      await tryCreateTopic(kafka);
      console.log(`kafka ok at ${brokers.join(',')} (admin created a topic after ${Date.now() - started} ms)`);
      return;
    } catch (error) {
      last = error;
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
  console.error(`stack-up: Kafka at ${brokers.join(',')} (HERALD_KAFKA_BROKERS) did not let an admin create a topic within ${timeoutMs} ms: ${String(last)}`);
  process.exit(1);
}

await main();
