import test from 'ava';
import type { Consumer, Kafka } from 'kafkajs';
import { createTriggerApp } from '../../../services/api/app/trigger-app';
import { createWorkflowApp } from '../../../services/api/app/workflow-app';
import { startRelay } from '../../../services/api/relay';
import { createKafka } from '../../../services/kafka/kafka-client';
import { ensureTopics } from '../../../services/kafka/topics';
import { createTriggerPublisher, type TriggerPublisher } from '../../../services/kafka/trigger-publisher';
import { createTestEnv, pollUntil, type TestEnv } from '../../support/test-env';
import { consumeTriggerRefs, createActiveWorkflow, makeRecordingPublisher, makeTriggerInput, type ConsumedRef } from './fixtures';

let env: TestEnv;
let kafka: Kafka;
let publisher: TriggerPublisher;
let consumer: Consumer;
let refs: ConsumedRef[];

test.before(async () => {
  env = await createTestEnv('app_relay');
  kafka = createKafka(env.config, 'app-relay-test');
  await ensureTopics(kafka, env.config);
  publisher = createTriggerPublisher(kafka, env.config);
  ({ refs, consumer } = await consumeTriggerRefs(kafka, env.config.kafka.triggersTopic, `${env.id}-reader`));
});
test.after.always(async () => {
  await publisher?.close();
  await consumer?.disconnect();
  await env.cleanup();
});

const published = async (id: string) => (await env.knex('trigger_instances').where({ id }).first()).published_at as Date | null;

test.serial('an accept whose publish failed still succeeds, and the relay re-publishes the row', async (t) => {
  const broken = makeRecordingPublisher();
  broken.failing = true;
  const triggers = createTriggerApp({ knex: env.knex, publisher: broken, config: env.config });
  const workflow = await createActiveWorkflow(createWorkflowApp({ knex: env.knex }));
  const { instance } = await triggers.create(makeTriggerInput(workflow.id));
  await triggers.close();
  t.is(await published(instance.id), null);

  const patient = startRelay({ knex: env.knex, publisher, config: env.config, olderThanMs: 3_600_000, intervalMs: 100 });
  t.is(await patient.runOnce(), 0, 'a young unpublished row is left to its own publish');
  await patient.stop();

  const relay = startRelay({ knex: env.knex, publisher, config: env.config, olderThanMs: 0, intervalMs: 100 });
  try {
    const ref = await pollUntil(() => refs.find((r) => r.ref.triggerId === instance.id), { what: 'the relayed ref' });
    t.is(ref.ref.reason, 'relayed');
    t.is(ref.partition, instance.partition);
    t.is(ref.key, instance.id);
    await pollUntil(() => published(instance.id), { what: 'published_at' });
    t.is(await relay.runOnce(), 0, 'a published row is not relayed again');
  } finally {
    await relay.stop();
  }
});

test.serial('with the broker unreachable an accept still succeeds and the row waits for the relay', async (t) => {
  const deadConfig = { ...env.config, kafka: { ...env.config.kafka, brokers: ['127.0.0.1:1'] } };
  const deadKafka = createKafka(deadConfig, 'app-relay-dead');
  const deadPublisher = createTriggerPublisher(deadKafka, deadConfig, { publishTimeoutMs: 300 });
  const triggers = createTriggerApp({ knex: env.knex, publisher: deadPublisher, config: env.config });
  try {
    const workflow = await createActiveWorkflow(createWorkflowApp({ knex: env.knex }));
    const { instance, deduplicated } = await triggers.create(makeTriggerInput(workflow.id));
    t.false(deduplicated);
    t.is(instance.status, 'enqueued');
    t.is(instance.publishedAt, null);
    t.is(await published(instance.id), null);

    const relay = startRelay({ knex: env.knex, publisher, config: env.config, olderThanMs: 0, intervalMs: 100 });
    try {
      await pollUntil(() => refs.find((r) => r.ref.triggerId === instance.id), { what: 'the relayed ref' });
      await pollUntil(() => published(instance.id), { what: 'published_at' });
    } finally {
      await relay.stop();
    }
    t.pass();
  } finally {
    await triggers.close();
    await deadPublisher.close();
  }
});
