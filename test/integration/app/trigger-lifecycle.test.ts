import { randomUUID } from 'node:crypto';
import test from 'ava';
import type { Consumer, Kafka } from 'kafkajs';
import { HeraldError } from '../../../core/errors';
import type { ExecutionLogEntry } from '../../../core/trigger/log';
import type { TriggerInstance } from '../../../core/trigger/model';
import { createTriggerApp, type TriggerAppService } from '../../../services/api/app/trigger-app';
import { createWorkflowApp } from '../../../services/api/app/workflow-app';
import { createKafka } from '../../../services/kafka/kafka-client';
import { ensureTopics } from '../../../services/kafka/topics';
import { createTriggerPublisher, type TriggerPublisher } from '../../../services/kafka/trigger-publisher';
import { appendLogs } from '../../../services/postgres/log-store';
import { createTestEnv, pollUntil, type TestEnv } from '../../support/test-env';
import { consumeTriggerRefs, createActiveWorkflow, makeTriggerInput, type ConsumedRef } from './fixtures';

let env: TestEnv;
let kafka: Kafka;
let publisher: TriggerPublisher;
let triggers: TriggerAppService;
let consumer: Consumer;
let refs: ConsumedRef[];

test.before(async () => {
  env = await createTestEnv('app_lifecycle');
  kafka = createKafka(env.config, 'app-lifecycle-test');
  await ensureTopics(kafka, env.config);
  publisher = createTriggerPublisher(kafka, env.config);
  triggers = createTriggerApp({ knex: env.knex, publisher, config: env.config, watchIntervalMs: 20 });
  ({ refs, consumer } = await consumeTriggerRefs(kafka, env.config.kafka.triggersTopic, `${env.id}-reader`));
});
test.after.always(async () => {
  await triggers?.close();
  await publisher?.close();
  await consumer?.disconnect();
  await env.cleanup();
});

const reasonOf = (error: unknown) => (error instanceof HeraldError ? error.reason : undefined);

async function acceptOne(overrides = {}) {
  const workflow = await createActiveWorkflow(createWorkflowApp({ knex: env.knex }));
  const { instance } = await triggers.create(makeTriggerInput(workflow.id, overrides));
  return { workflow, instance };
}

/** What a scheduler would leave behind after the welcome step exhausted its attempts. */
async function failInPlace(id: string) {
  await env.knex('trigger_instances')
    .where({ id })
    .update({
      status: 'failed',
      cursor: JSON.stringify({
        steps: {
          welcome: { status: 'failed', attempts: 3, lastError: { reason: 'PROVIDER_REJECTED', message: 'no', retryable: false } },
          wait: { status: 'pending', attempts: 0 },
          remind: { status: 'pending', attempts: 0 },
        },
        edges: {},
      }),
      attempts: 3,
      last_error: JSON.stringify({ reason: 'PROVIDER_REJECTED', message: 'no', retryable: false }),
      version: env.knex.raw('version + 1'),
      finished_at: env.knex.fn.now(),
    });
}

test('cancel moves a live trigger to cancelled, bumps its version and logs it; a finished one refuses', async (t) => {
  const { instance } = await acceptOne();
  const cancelled = await triggers.cancel(instance.id);
  t.is(cancelled.status, 'cancelled');
  t.is(cancelled.version, instance.version + 1);
  const again = await triggers.cancel(instance.id);
  t.is(again.version, cancelled.version, 'cancelling twice changes nothing');
  const logs = await triggers.listLogs({ pageSize: 50, pageToken: '', triggerId: instance.id });
  t.deepEqual(logs.items.map((e) => e.event), ['TRIGGER_ACCEPTED', 'TRIGGER_CANCELLED']);

  const { instance: other } = await acceptOne();
  await env.knex('trigger_instances').where({ id: other.id }).update({ status: 'completed' });
  t.is(reasonOf(await t.throwsAsync(triggers.cancel(other.id))), 'ILLEGAL_TRANSITION');
  t.is(reasonOf(await t.throwsAsync(triggers.cancel(randomUUID()))), 'NOT_FOUND');
});

test('retry of a failed trigger bumps run, resets the failed step and re-publishes it', async (t) => {
  const { instance } = await acceptOne();
  t.is(reasonOf(await t.throwsAsync(triggers.retry(instance.id))), 'ILLEGAL_TRANSITION', 'only failed triggers retry');
  await failInPlace(instance.id);

  const retried = await triggers.retry(instance.id);
  t.is(retried.status, 'enqueued');
  t.is(retried.run, 2);
  t.deepEqual(retried.cursor.steps.welcome, { status: 'ready', attempts: 0 });
  t.is(retried.lastError, null);
  t.truthy(retried.publishedAt);

  const ref = await pollUntil(() => refs.find((r) => r.ref.triggerId === instance.id && r.ref.reason === 'retried'), {
    what: 'the retried ref',
  });
  t.is(ref.ref.run, 2);
  t.is(ref.partition, instance.partition);
  const row = await env.knex('trigger_instances').where({ id: instance.id }).first();
  t.truthy(row.published_at);
  t.is(row.finished_at, null);
  const events = (await triggers.listLogs({ pageSize: 50, pageToken: '', triggerId: instance.id })).items.map((e) => e.event);
  t.deepEqual(events, ['TRIGGER_ACCEPTED', 'TRIGGER_RETRIED']);
});

test('listing filters by workflow, status and created range and pages through each trigger once', async (t) => {
  const workflow = await createActiveWorkflow(createWorkflowApp({ knex: env.knex }));
  const ids: string[] = [];
  for (let i = 0; i < 7; i += 1) ids.push((await triggers.create(makeTriggerInput(workflow.id))).instance.id);
  await triggers.cancel(ids[0]);

  const seen: TriggerInstance[] = [];
  let token = '';
  do {
    const page = await triggers.list({ pageSize: 3, pageToken: token, workflowId: workflow.id });
    t.true(page.items.length <= 3);
    seen.push(...page.items);
    token = page.nextPageToken;
  } while (token !== '');
  t.deepEqual(seen.map((i) => i.id).sort(), [...ids].sort(), 'each trigger exactly once');
  const newestFirst = [...seen].sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime() || (a.id < b.id ? 1 : -1));
  t.deepEqual(seen.map((i) => i.id), newestFirst.map((i) => i.id), 'newest first');

  const cancelled = await triggers.list({ pageSize: 50, pageToken: '', workflowId: workflow.id, status: 'cancelled' });
  t.deepEqual(cancelled.items.map((i) => i.id), [ids[0]]);
  const first = await triggers.get(ids[0]);
  const none = await triggers.list({ pageSize: 50, pageToken: '', workflowId: workflow.id, createdBefore: first.createdAt });
  t.deepEqual(none.items, []);
  const all = await triggers.list({ pageSize: 50, pageToken: '', workflowId: workflow.id, createdAfter: first.createdAt });
  t.is(all.items.length, 7);
  t.is(reasonOf(await t.throwsAsync(triggers.list({ pageSize: 3, pageToken: 'bm9wZQ' }))), 'INVALID_PAGE_TOKEN');
});

test('execution logs page by trigger and by workflow', async (t) => {
  const { workflow, instance } = await acceptOne();
  await appendLogs(
    env.knex,
    Array.from({ length: 5 }, (_, i) => ({
      triggerId: instance.id,
      workflowId: workflow.id,
      entry: { event: 'STEP_STARTED' as const, level: 'info' as const, message: `attempt ${i + 1}`, nodeId: 'welcome', attempt: i + 1 },
    })),
  );
  for (const filter of [{ triggerId: instance.id }, { workflowId: workflow.id }]) {
    const seen: ExecutionLogEntry[] = [];
    let token = '';
    do {
      const page = await triggers.listLogs({ pageSize: 2, pageToken: token, ...filter });
      seen.push(...page.items);
      token = page.nextPageToken;
    } while (token !== '');
    t.deepEqual(seen.map((e) => e.event), ['TRIGGER_ACCEPTED', 'STEP_STARTED', 'STEP_STARTED', 'STEP_STARTED', 'STEP_STARTED', 'STEP_STARTED']);
    t.deepEqual(seen.slice(1).map((e) => e.attempt), [1, 2, 3, 4, 5]);
  }
});

test('watch streams existing and new entries and ends after the terminal state is reached', async (t) => {
  const { workflow, instance } = await acceptOne();
  const controller = new AbortController();
  const received: string[] = [];
  const watching = (async () => {
    for await (const entry of triggers.watch(instance.id, controller.signal)) received.push(entry.event);
  })();
  await pollUntil(() => received.includes('TRIGGER_ACCEPTED'), { what: 'the first entry' });

  await appendLogs(env.knex, [{ triggerId: instance.id, workflowId: workflow.id, entry: { event: 'TRIGGER_STARTED', level: 'info', message: 'started' } }]);
  await pollUntil(() => received.includes('TRIGGER_STARTED'), { what: 'a new entry' });

  await env.knex.transaction(async (trx) => {
    await trx('trigger_instances').where({ id: instance.id }).update({ status: 'completed' });
    await appendLogs(trx, [
      { triggerId: instance.id, workflowId: workflow.id, entry: { event: 'STEP_SUCCEEDED', level: 'info', message: 'sent', nodeId: 'welcome' } },
      { triggerId: instance.id, workflowId: workflow.id, entry: { event: 'TRIGGER_COMPLETED', level: 'info', message: 'done' } },
    ]);
  });
  await watching;
  t.deepEqual(received, ['TRIGGER_ACCEPTED', 'TRIGGER_STARTED', 'STEP_SUCCEEDED', 'TRIGGER_COMPLETED']);
});

test('a watch ends when its caller aborts, and watching an unknown trigger is NOT_FOUND', async (t) => {
  const { instance } = await acceptOne();
  const controller = new AbortController();
  const received: string[] = [];
  const watching = (async () => {
    for await (const entry of triggers.watch(instance.id, controller.signal)) received.push(entry.event);
  })();
  await pollUntil(() => received.length > 0, { what: 'the first entry' });
  controller.abort();
  await watching;
  t.deepEqual(received, ['TRIGGER_ACCEPTED']);

  const unknown = triggers.watch(randomUUID(), new AbortController().signal)[Symbol.asyncIterator]();
  t.is(reasonOf(await t.throwsAsync(unknown.next())), 'NOT_FOUND');
});

test('the dev outbox lists a trigger\'s messages page by page', async (t) => {
  const { workflow, instance } = await acceptOne();
  await env.knex('outbox_messages').insert(
    ['welcome', 'remind'].map((nodeId, i) => ({
      id: randomUUID(),
      idempotency_key: `${instance.id}:${nodeId}:1-1`,
      trigger_id: instance.id,
      workflow_id: workflow.id,
      node_id: nodeId,
      channel: i === 0 ? 'email' : 'sms',
      message: JSON.stringify({ to: 'ada@example.com' }),
    })),
  );
  const first = await triggers.listOutbox({ pageSize: 1, pageToken: '', triggerId: instance.id });
  const second = await triggers.listOutbox({ pageSize: 1, pageToken: first.nextPageToken, triggerId: instance.id });
  t.is(second.nextPageToken, '');
  t.deepEqual([...first.items, ...second.items].map((m) => m.channel).sort(), ['email', 'sms']);
  t.deepEqual(first.items[0].message, { to: 'ada@example.com' });
});
