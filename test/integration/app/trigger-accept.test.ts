import test from 'ava';
import type { Consumer, Kafka } from 'kafkajs';
import { HeraldError } from '../../../core/errors';
import { partitionFor, triggerIdFor } from '../../../core/trigger/new-trigger';
import { createTriggerApp, type TriggerAppService } from '../../../services/api/app/trigger-app';
import { createWorkflowApp } from '../../../services/api/app/workflow-app';
import { createKafka } from '../../../services/kafka/kafka-client';
import { ensureTopics } from '../../../services/kafka/topics';
import { createTriggerPublisher, TRIGGER_REF_CONTENT_TYPE, type TriggerPublisher } from '../../../services/kafka/trigger-publisher';
import { createTestEnv, pollUntil, type TestEnv } from '../../support/test-env';
import { consumeTriggerRefs, countQueries, createActiveWorkflow, makeTriggerInput, makeWorkflow, type ConsumedRef } from './fixtures';

let env: TestEnv;
let kafka: Kafka;
let publisher: TriggerPublisher;
let triggers: TriggerAppService;
let consumer: Consumer;
let refs: ConsumedRef[];

test.before(async () => {
  env = await createTestEnv('app_accept');
  kafka = createKafka(env.config, 'app-accept-test');
  await ensureTopics(kafka, env.config);
  publisher = createTriggerPublisher(kafka, env.config);
  triggers = createTriggerApp({ knex: env.knex, publisher, config: env.config });
  ({ refs, consumer } = await consumeTriggerRefs(kafka, env.config.kafka.triggersTopic, `${env.id}-reader`));
});
test.after.always(async () => {
  await triggers?.close();
  await publisher?.close();
  await consumer?.disconnect();
  await env.cleanup();
});

const workflows = () => createWorkflowApp({ knex: env.knex });
const reasonOf = (error: unknown) => (error instanceof HeraldError ? error.reason : undefined);

test('50 concurrent creates with one idempotency key make one row, one id and 49 deduplicated answers', async (t) => {
  const workflow = await createActiveWorkflow(workflows());
  const input = makeTriggerInput(workflow.id);
  const results = await Promise.all(Array.from({ length: 50 }, () => triggers.create(input)));
  const ids = new Set(results.map((r) => r.instance.id));
  t.deepEqual([...ids], [triggerIdFor(workflow.id, input.idempotencyKey)]);
  t.is(results.filter((r) => r.deduplicated).length, 49);
  const rows = await env.knex('trigger_instances').where({ workflow_id: workflow.id });
  t.is(rows.length, 1);
  const accepted = await env.knex('execution_logs').where({ trigger_id: rows[0].id, event: 'TRIGGER_ACCEPTED' });
  t.is(accepted.length, 1, 'one acceptance is logged once');
});

test('a later duplicate returns the existing instance with its current status', async (t) => {
  const workflow = await createActiveWorkflow(workflows());
  const input = makeTriggerInput(workflow.id);
  const first = await triggers.create(input);
  t.false(first.deduplicated);
  await env.knex('trigger_instances').where({ id: first.instance.id }).update({ status: 'processing' });
  const second = await triggers.create({ ...input, payload: { name: 'someone else' } });
  t.true(second.deduplicated);
  t.is(second.instance.id, first.instance.id);
  t.is(second.instance.status, 'processing');
  t.deepEqual(second.instance.payload, { name: 'Ada' }, 'the first payload wins');
});

test('an accepted trigger is pinned, partitioned, enqueued with its initial cursor, and produced to its partition', async (t) => {
  const workflow = await createActiveWorkflow(workflows());
  const { instance, deduplicated } = await triggers.create(makeTriggerInput(workflow.id));
  t.false(deduplicated);
  t.is(instance.status, 'enqueued');
  t.is(instance.workflowVersion, workflow.version);
  t.is(instance.partition, partitionFor(instance.id, env.config.kafka.partitions));
  t.is(instance.source, 'api');
  t.deepEqual(instance.cursor.steps.welcome, { status: 'ready', attempts: 0 });
  t.deepEqual(instance.cursor.steps.remind, { status: 'pending', attempts: 0 });
  t.deepEqual(instance.context.trigger, {
    id: instance.id,
    idempotency_key: instance.idempotencyKey,
    created_at: instance.createdAt.toISOString(),
  });
  t.deepEqual(instance.context.workflow, { id: workflow.id, version: workflow.version });

  const ref = await pollUntil(() => refs.find((r) => r.ref.triggerId === instance.id), { what: 'the trigger ref on Kafka' });
  t.is(ref.key, instance.id);
  t.is(ref.partition, instance.partition);
  t.is(ref.contentType, TRIGGER_REF_CONTENT_TYPE);
  t.like(ref.ref, { v: 1, kind: 'trigger-ref', workflowId: workflow.id, partition: instance.partition, run: 1, reason: 'accepted' });
  // The answer comes once the row is committed; the broker's ack is recorded right behind it.
  await pollUntil(async () => (await env.knex('trigger_instances').where({ id: instance.id }).first())?.published_at, {
    what: 'published_at to be set after the broker acked',
  });
  t.pass();
});

test('an inactive workflow refuses triggers with WORKFLOW_INACTIVE and an unknown one with NOT_FOUND', async (t) => {
  const created = await workflows().create(makeWorkflow());
  t.is(reasonOf(await t.throwsAsync(triggers.create(makeTriggerInput(created.id)))), 'WORKFLOW_INACTIVE');
  const active = await workflows().activate(created.id, created.etag);
  await triggers.create(makeTriggerInput(created.id));
  await workflows().deactivate(created.id, active.etag);
  t.is(reasonOf(await t.throwsAsync(triggers.create(makeTriggerInput(created.id)))), 'WORKFLOW_INACTIVE');
  t.is(reasonOf(await t.throwsAsync(triggers.create(makeTriggerInput('0d6f2a43-3c1e-4a59-9a5e-6a0c5e3f4b21')))), 'NOT_FOUND');
  t.is(reasonOf(await t.throwsAsync(triggers.create(makeTriggerInput('not-a-uuid')))), 'NOT_FOUND');
});

test('after an update the next trigger is pinned to the new version, though the old one was read before', async (t) => {
  const workflow = await createActiveWorkflow(workflows());
  const before = await triggers.create(makeTriggerInput(workflow.id));
  t.is(before.instance.workflowVersion, workflow.version);
  const updated = await workflows().update(workflow.id, makeWorkflow({ name: 'renamed' }), workflow.etag);
  const after = await triggers.create(makeTriggerInput(workflow.id));
  t.is(after.instance.workflowVersion, updated.version);
  t.is(updated.version, workflow.version + 1);
});

test('a duplicate of an accepted trigger still returns it after its workflow was deactivated', async (t) => {
  const workflow = await createActiveWorkflow(workflows());
  const input = makeTriggerInput(workflow.id);
  const first = await triggers.create(input);
  await workflows().deactivate(workflow.id, workflow.etag);
  const again = await triggers.create(input);
  t.true(again.deduplicated);
  t.is(again.instance.id, first.instance.id);
  t.is(reasonOf(await t.throwsAsync(triggers.create(makeTriggerInput(workflow.id)))), 'WORKFLOW_INACTIVE');
});

test.serial('once a workflow was read, further accepts for it cost no workflow lookup', async (t) => {
  const workflow = await createActiveWorkflow(workflows());
  await triggers.create(makeTriggerInput(workflow.id));
  const lookups = countQueries(env.knex, /from "workflows" as "w"/i);
  try {
    for (let i = 0; i < 10; i++) await triggers.create(makeTriggerInput(workflow.id));
  } finally {
    lookups.stop();
  }
  t.is(lookups.count(), 0);
});

test('an invalid request is refused with every violation before touching the database', async (t) => {
  const error = await t.throwsAsync(
    triggers.create({ workflowId: '', idempotencyKey: '', recipient: { id: '', email: 'nope' }, payload: { big: 'x'.repeat(env.config.api.maxPayloadBytes) } }),
  );
  t.is(reasonOf(error), 'INVALID_ARGUMENT');
  const paths = (error as HeraldError).violations.map((v) => v.path);
  for (const path of ['workflow_id', 'idempotency_key', 'recipient.id', 'recipient.email', 'payload']) t.true(paths.includes(path), path);
});

test.serial('200 concurrent creates share round trips: far fewer INSERT statements than calls', async (t) => {
  const workflow = await createActiveWorkflow(workflows());
  const inserts = countQueries(env.knex, /insert into trigger_instances/i);
  const lookups = countQueries(env.knex, /from "workflows" as "w"/i);
  try {
    const results = await Promise.all(Array.from({ length: 200 }, () => triggers.create(makeTriggerInput(workflow.id))));
    t.is(new Set(results.map((r) => r.instance.id)).size, 200);
    t.true(results.every((r) => !r.deduplicated));
  } finally {
    inserts.stop();
    lookups.stop();
  }
  t.log(`200 accepts took ${inserts.count()} INSERTs and ${lookups.count()} workflow lookups`);
  t.true(inserts.count() <= 20, `${inserts.count()} inserts`);
  t.true(lookups.count() <= 20, `${lookups.count()} workflow lookups`);
  await pollUntil(async () => (await env.knex('trigger_instances').where({ workflow_id: workflow.id }).whereNull('published_at').first()) === undefined, {
    what: 'every accepted row to be marked published',
  });
  t.pass();
});

test.serial('a batch create answers each item on its own, in order, through one shared insert', async (t) => {
  const active = await createActiveWorkflow(workflows());
  const inactive = await workflows().create(makeWorkflow());
  const repeated = makeTriggerInput(active.id);
  const inserts = countQueries(env.knex, /insert into trigger_instances/i);
  const results = await triggers.batchCreate([
    makeTriggerInput(active.id),
    makeTriggerInput(inactive.id),
    repeated,
    makeTriggerInput(active.id, { recipient: { id: '' } }),
    repeated,
  ]);
  inserts.stop();
  t.is(inserts.count(), 1);
  t.true('ok' in results[0] && !results[0].ok.deduplicated);
  t.true('error' in results[1] && results[1].error.reason === 'WORKFLOW_INACTIVE');
  t.true('ok' in results[2] && !results[2].ok.deduplicated);
  t.true('error' in results[3] && results[3].error.reason === 'INVALID_ARGUMENT');
  t.true('ok' in results[4] && results[4].ok.deduplicated);
  if ('ok' in results[2] && 'ok' in results[4]) t.is(results[4].ok.instance.id, results[2].ok.instance.id);
  t.is(reasonOf(await t.throwsAsync(triggers.batchCreate(Array.from({ length: 1001 }, () => repeated)))), 'INVALID_ARGUMENT');
});
