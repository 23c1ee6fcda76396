import test from 'ava';
import { triggerIdFor } from '../../core/trigger/new-trigger';
import { DLQ_HEADERS } from '../../services/kafka/dead-letter';
import { startDeliverySink, type DeliverySink } from '../support/delivery-sink';
import {
  createActiveWorkflow,
  flushPrefix,
  makeSmsWorkflow,
  makeTriggerRequest,
  produceToTriggers,
  readDeadLetters,
  waitForTerminal,
} from '../support/scheduler-fixtures';
import { spawnHerald, type HeraldProcess } from '../support/spawn-herald';
import { createTestEnv, pollUntil, type TestEnv } from '../support/test-env';

let env: TestEnv;
let sink: DeliverySink;
let scheduler: HeraldProcess;

test.before(async () => {
  env = await createTestEnv('e2e_sched_kafka', { HERALD_PARTITIONS: '3' });
  sink = await startDeliverySink();
  scheduler = await spawnHerald('scheduler', {
    ...env.env,
    HERALD_PARTITIONS: '3',
    HERALD_SCHEDULER_ID: 'kafka-ingest',
    HERALD_SMS_PROVIDER: 'webhook',
    HERALD_SMS_WEBHOOK_URL: sink.url,
    HERALD_SMS_WEBHOOK_SECRET: 'e2e-secret',
  });
  await pollUntil(() => scheduler.countLogs('partition recovered') >= 3, { what: 'all partitions owned' });
});

test.after.always(async () => {
  await scheduler?.stop();
  await sink?.close();
  await flushPrefix(env.config.redis.url, env.config.redis.prefix);
  await env.cleanup();
});

test('a JSON trigger from a plain kafkajs producer runs to completion', async (t) => {
  const workflow = await createActiveWorkflow(env.knex, makeSmsWorkflow());
  const request = makeTriggerRequest(workflow.id);
  await produceToTriggers(env.config, [{ key: 'any-key', value: JSON.stringify(request) }]);
  const id = triggerIdFor(workflow.id, String(request.idempotencyKey));
  t.is((await waitForTerminal(env.knex, [id])).get(id), 'completed');
  t.is(sink.delivered(id).length, 1);
});

test('a garbage message lands in the dead-letter topic with its reason, and consumption goes on', async (t) => {
  await produceToTriggers(env.config, [{ key: 'garbage', value: Buffer.from('\u0000\u0001not a trigger at all\u00ff') }]);
  const letters = await readDeadLetters(env.config, (l) => l.some((x) => x.key === 'garbage'));
  const letter = letters.find((x) => x.key === 'garbage')!;
  t.is(letter.headers[DLQ_HEADERS.reason], 'MESSAGE_UNDECODABLE');
  t.truthy(letter.headers[DLQ_HEADERS.message]);
  t.is(letter.headers[DLQ_HEADERS.sourceTopic], env.config.kafka.triggersTopic);

  const workflow = await createActiveWorkflow(env.knex, makeSmsWorkflow());
  const request = makeTriggerRequest(workflow.id);
  await produceToTriggers(env.config, [{ value: JSON.stringify(request) }]);
  const id = triggerIdFor(workflow.id, String(request.idempotencyKey));
  t.is((await waitForTerminal(env.knex, [id])).get(id), 'completed');
});

test('100 direct messages with the same idempotency key produce exactly one trigger and one send', async (t) => {
  const workflow = await createActiveWorkflow(env.knex, makeSmsWorkflow());
  const request = makeTriggerRequest(workflow.id);
  await produceToTriggers(env.config, Array.from({ length: 100 }, (_, i) => ({ value: JSON.stringify(request), partition: i % 3 })));
  const id = triggerIdFor(workflow.id, String(request.idempotencyKey));
  t.is((await waitForTerminal(env.knex, [id])).get(id), 'completed');
  const rows = await env.knex('trigger_instances').where({ workflow_id: workflow.id });
  t.is(rows.length, 1);
  t.is(sink.delivered(id).length, 1);
});
