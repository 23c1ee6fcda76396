import test from 'ava';
import { triggerIdFor } from '../../../core/trigger/new-trigger';
import { TriggerRequest } from '../../../services/grpc/gen/herald/v1/trigger_request';
import { DLQ_HEADERS } from '../../../services/kafka/dead-letter';
import { createKafka } from '../../../services/kafka/kafka-client';
import { createTriggerPublisher } from '../../../services/kafka/trigger-publisher';
import { createAcceptBatcher } from '../../../services/api/app/accept-batcher';
import { cancelTrigger } from '../../../services/postgres/trigger-store';
import { CaptureProvider } from '../../../services/providers';
import type { RunningScheduler } from '../../../services/scheduler/main';
import {
  createActiveWorkflow,
  flushPrefix,
  logsOf,
  makeSmsWorkflow,
  makeTriggerRequest,
  makeWorkflow,
  produceToTriggers,
  readDeadLetters,
  startCapturingScheduler,
  triggerStatuses,
  waitForTerminal,
} from '../../support/scheduler-fixtures';
import { createTestEnv, pollUntil, type TestEnv } from '../../support/test-env';

let env: TestEnv;
let scheduler: RunningScheduler;
const capture = new CaptureProvider();

test.before(async () => {
  // A 5 s lookahead: a parked row is read ahead at once, leaving a cancel seconds to land first.
  env = await createTestEnv('sched_ingest', { HERALD_PARTITIONS: '3', HERALD_LEASE_TTL_MS: '3000', HERALD_TIMER_LOOKAHEAD_MS: '5000' });
  scheduler = await startCapturingScheduler(env.config, capture);
});

/** The email → delay → sms fixture with the delay set to `delayMs`. */
function makeWorkflowWaiting(delayMs: number) {
  return makeWorkflow({ nodes: makeWorkflow().nodes.map((n) => (n.type === 'DELAY' ? { ...n, delay: { delayMs } } : n)) });
}

test.after.always(async () => {
  await scheduler?.stop();
  await flushPrefix(env.config.redis.url, env.config.redis.prefix);
  await env.cleanup();
});

test('a JSON trigger written by a plain kafkajs producer runs to completion', async (t) => {
  const workflow = await createActiveWorkflow(env.knex, makeSmsWorkflow());
  const request = makeTriggerRequest(workflow.id);
  await produceToTriggers(env.config, [{ value: JSON.stringify(request), headers: { 'content-type': 'application/json' } }]);
  const id = triggerIdFor(workflow.id, String(request.idempotencyKey));
  t.is((await waitForTerminal(env.knex, [id])).get(id), 'completed');
  const row = await env.knex('trigger_instances').where({ id }).first();
  t.is(row.source, 'kafka');
});

test('a protobuf TriggerRequest without a content type is recognised by sniffing and runs', async (t) => {
  const workflow = await createActiveWorkflow(env.knex, makeSmsWorkflow());
  const key = `proto-${Date.now()}`;
  const bytes = TriggerRequest.encode(
    TriggerRequest.fromPartial({ workflowId: workflow.id, idempotencyKey: key, recipient: { id: 'u1', phone: '+15550100' }, payload: { n: 7 } }),
  ).finish();
  await produceToTriggers(env.config, [{ value: Buffer.from(bytes) }]);
  const id = triggerIdFor(workflow.id, key);
  t.is((await waitForTerminal(env.knex, [id])).get(id), 'completed');
  t.is((capture.deliveriesFor({ triggerId: id })[0].message as { body: string }).body, 'ping 7');
});

test('a garbage message and an invalid request land in the dead-letter topic with their reasons, and are logged', async (t) => {
  const workflow = await createActiveWorkflow(env.knex, makeSmsWorkflow());
  await produceToTriggers(env.config, [
    { key: 'garbage-1', value: Buffer.from([0xde, 0xad, 0xbe, 0xef, 0x00, 0xff]) },
    { key: 'garbage-2', value: '{"workflowId": oops', headers: { 'content-type': 'application/json' } },
    { key: 'invalid-1', value: JSON.stringify({ workflowId: workflow.id, idempotencyKey: 'x', recipient: { id: 'u', email: 'not-an-email' } }) },
    { key: 'unknown-wf', value: JSON.stringify(makeTriggerRequest('00000000-0000-4000-8000-000000000000')) },
  ]);
  const letters = await readDeadLetters(env.config, (l) => l.length >= 4);
  const byKey = new Map(letters.map((l) => [l.key, l]));
  t.is(byKey.get('garbage-1')?.headers[DLQ_HEADERS.reason], 'MESSAGE_UNDECODABLE');
  t.deepEqual(byKey.get('garbage-1')?.value, Buffer.from([0xde, 0xad, 0xbe, 0xef, 0x00, 0xff]), 'the original bytes are kept');
  t.is(byKey.get('garbage-2')?.headers[DLQ_HEADERS.reason], 'MESSAGE_UNDECODABLE');
  t.is(byKey.get('invalid-1')?.headers[DLQ_HEADERS.reason], 'MESSAGE_INVALID');
  t.regex(byKey.get('invalid-1')?.headers[DLQ_HEADERS.message] ?? '', /recipient\.email/);
  t.is(byKey.get('unknown-wf')?.headers[DLQ_HEADERS.reason], 'NOT_FOUND');
  t.is(byKey.get('garbage-1')?.headers[DLQ_HEADERS.sourceTopic], env.config.kafka.triggersTopic);

  const logged = await pollUntil(async () => {
    const rows = await env.knex('execution_logs').where({ event: 'MESSAGE_DEAD_LETTERED' }).whereNull('trigger_id');
    return rows.length >= 4 ? rows : null;
  });
  t.true(logged.some((row: { reason: string }) => row.reason === 'MESSAGE_UNDECODABLE'));

  // Consumption went on: a valid message after the garbage still runs.
  const request = makeTriggerRequest(workflow.id);
  await produceToTriggers(env.config, [{ value: JSON.stringify(request) }]);
  const id = triggerIdFor(workflow.id, String(request.idempotencyKey));
  t.is((await waitForTerminal(env.knex, [id])).get(id), 'completed');
});

test('100 direct messages with the same idempotency key make exactly one trigger that sends once', async (t) => {
  const workflow = await createActiveWorkflow(env.knex, makeSmsWorkflow());
  const request = makeTriggerRequest(workflow.id);
  // Spread over every partition: dedupe must rest on the unique constraint, not on placement.
  await produceToTriggers(
    env.config,
    Array.from({ length: 100 }, (_, i) => ({ value: JSON.stringify(request), partition: i % 3 })),
  );
  const id = triggerIdFor(workflow.id, String(request.idempotencyKey));
  t.is((await waitForTerminal(env.knex, [id])).get(id), 'completed');
  await pollUntil(() => scheduler.status().ingest.direct >= 100, { what: 'every duplicate to be ingested' });
  const rows = await env.knex('trigger_instances').where({ workflow_id: workflow.id });
  t.is(rows.length, 1);
  t.is(capture.deliveriesFor({ triggerId: id }).length, 1);
  const accepted = (await logsOf(env.knex, id)).filter((l) => l.event === 'TRIGGER_ACCEPTED');
  t.is(accepted.length, 1);
});

test('triggers the api accepted and published as references run to completion', async (t) => {
  const workflow = await createActiveWorkflow(env.knex, makeSmsWorkflow());
  const kafka = createKafka(env.config, 'test-api');
  const publisher = createTriggerPublisher(kafka, env.config);
  const accept = createAcceptBatcher({ knex: env.knex, publisher, partitions: env.config.kafka.partitions });
  try {
    const accepted = await Promise.all(
      Array.from({ length: 20 }, () => {
        const input = makeTriggerRequest(workflow.id) as never;
        return accept.submit(input);
      }),
    );
    const ids = accepted.map((a) => a.instance.id);
    const statuses = await waitForTerminal(env.knex, ids);
    t.true([...statuses.values()].every((s) => s === 'completed'));
    const rows = await env.knex('trigger_instances').whereIn('id', ids);
    t.true(rows.every((r: { source: string }) => r.source === 'api'));
  } finally {
    await publisher.close();
  }
});

test('an operator cancel while a trigger is parked on a delay wins: the actor drops it and sends nothing more', async (t) => {
  const workflow = await createActiveWorkflow(env.knex, makeWorkflowWaiting(1_500));
  const request = makeTriggerRequest(workflow.id);
  await produceToTriggers(env.config, [{ value: JSON.stringify(request) }]);
  const id = triggerIdFor(workflow.id, String(request.idempotencyKey));
  await pollUntil(async () => (await logsOf(env.knex, id)).some((l) => l.event === 'DELAY_SCHEDULED'), { what: 'the delay to start' });
  await cancelTrigger(env.knex, id);
  // The parked timer still fires; the actor must see the cancel and do nothing.
  await pollUntil(async () => {
    const row = await env.knex('trigger_instances').where({ id }).first();
    return Date.now() > new Date(row.cursor.steps.wait.wakeAt).getTime() + 1_000;
  }, { what: 'the delay to pass' });
  t.is((await triggerStatuses(env.knex, [id])).get(id), 'cancelled');
  t.deepEqual(capture.deliveriesFor({ triggerId: id }).map((d) => d.context.nodeId), ['welcome']);
});

// Serial: these read the process-wide read-ahead and conflict counters.
test.serial('a cancel after a parked trigger was read ahead still wins: the stale row conflicts, is re-read, and nothing more is sent', async (t) => {
  // 3 s is inside the lookahead: the timer is held in memory and its row read ahead at once.
  const workflow = await createActiveWorkflow(env.knex, makeWorkflowWaiting(3_000));
  const request = makeTriggerRequest(workflow.id);
  const conflictsBefore = scheduler.status().checkpoints.conflicts;
  await produceToTriggers(env.config, [{ value: JSON.stringify(request) }]);
  const id = triggerIdFor(workflow.id, String(request.idempotencyKey));
  await pollUntil(async () => (await logsOf(env.knex, id)).some((l) => l.event === 'DELAY_SCHEDULED'), { what: 'the delay to start' });
  await pollUntil(() => scheduler.status().prefetchedRows > 0, { what: 'the parked row to be read ahead' });
  await cancelTrigger(env.knex, id);
  await pollUntil(() => scheduler.status().checkpoints.conflicts > conflictsBefore, { what: 'the fire on the stale row to conflict' });
  await pollUntil(() => scheduler.status().actorsInMemory === 0, { what: 'the actor to re-read the row and leave' });
  t.is((await triggerStatuses(env.knex, [id])).get(id), 'cancelled');
  t.deepEqual(capture.deliveriesFor({ triggerId: id }).map((d) => d.context.nodeId), ['welcome']);
  t.is(scheduler.status().prefetchedRows, 0, 'the row read ahead served its one load');
});

test.serial('a parked trigger read ahead fires from memory, not early, and completes', async (t) => {
  const workflow = await createActiveWorkflow(env.knex, makeWorkflowWaiting(700));
  const request = makeTriggerRequest(workflow.id);
  await produceToTriggers(env.config, [{ value: JSON.stringify(request) }]);
  const id = triggerIdFor(workflow.id, String(request.idempotencyKey));
  await pollUntil(() => scheduler.status().prefetchedRows > 0, { what: 'the parked row to be read ahead' });
  t.is((await waitForTerminal(env.knex, [id])).get(id), 'completed');
  t.is(scheduler.status().prefetchedRows, 0, 'the fire took the row read ahead');
  const logs = await logsOf(env.knex, id);
  const scheduled = logs.find((l) => l.event === 'DELAY_SCHEDULED')!;
  const fired = logs.find((l) => l.event === 'TIMER_FIRED');
  t.truthy(fired, `a fire is logged (events: ${logs.map((l) => l.event).join(', ')})`);
  t.true(fired!.createdAt.getTime() >= new Date(scheduled.wakeAt!).getTime(), 'never before its wake time');
  t.deepEqual(capture.deliveriesFor({ triggerId: id }).map((d) => d.context.nodeId), ['welcome', 'remind']);
});
