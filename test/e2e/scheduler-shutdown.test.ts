import test from 'ava';
import { Redis } from 'ioredis';
import { triggerIdFor } from '../../core/trigger/new-trigger';
import { startDeliverySink, type DeliverySink } from '../support/delivery-sink';
import { createActiveWorkflow, flushPrefix, logsOf, makeSmsWorkflow, makeTriggerRequest, produceToTriggers, waitForTerminal } from '../support/scheduler-fixtures';
import { spawnHerald, type HeraldProcess } from '../support/spawn-herald';
import { createTestEnv, pollUntil, type TestEnv } from '../support/test-env';

let env: TestEnv;
let sink: DeliverySink;
const children: HeraldProcess[] = [];

const childEnv = () => ({
  ...env.env,
  HERALD_PARTITIONS: '3',
  HERALD_LEASE_TTL_MS: '3000',
  HERALD_SMS_PROVIDER: 'webhook',
  HERALD_SMS_WEBHOOK_URL: sink.url,
  HERALD_SMS_WEBHOOK_SECRET: 'e2e-secret',
});

test.before(async () => {
  env = await createTestEnv('e2e_sched_term', { HERALD_PARTITIONS: '3' });
  sink = await startDeliverySink();
});

test.after.always(async () => {
  for (const child of children) await child.stop();
  await sink?.close();
  await flushPrefix(env.config.redis.url, env.config.redis.prefix);
  await env.cleanup();
});

test('on SIGTERM a scheduler finishes and checkpoints in-flight steps, leaves the group, releases its leases and exits 0 within 10 s', async (t) => {
  const first = await spawnHerald('scheduler', { ...childEnv(), HERALD_SCHEDULER_ID: 'term-a' }, { name: 'term-a' });
  children.push(first);
  await pollUntil(() => first.countLogs('partition recovered') >= 3, { what: 'all partitions owned' });

  const workflow = await createActiveWorkflow(env.knex, makeSmsWorkflow());
  const requests = Array.from({ length: 20 }, () => makeTriggerRequest(workflow.id));
  const ids = requests.map((r) => triggerIdFor(workflow.id, String(r.idempotencyKey)));
  sink.setLatency(1_500);
  await produceToTriggers(env.config, requests.map((r) => ({ value: JSON.stringify(r) })));
  await pollUntil(() => sink.inFlight() >= 10, { what: 'sends to be in flight' });

  first.kill('SIGTERM');
  const exit = await pollUntil(() => (first.isRunning() ? null : first.exited), { timeoutMs: 10_000, what: 'the scheduler to exit' });
  t.is(exit.code, 0);

  // Every send the sink answered before the exit was recorded: its trigger is completed, once.
  const answered = sink.delivered();
  t.true(answered.length >= 10, `the in-flight sends finished (${answered.length})`);
  const statuses = await env.knex('trigger_instances').whereIn('id', ids).select('id', 'status');
  const completed = new Set(statuses.filter((r: { status: string }) => r.status === 'completed').map((r: { id: string }) => r.id));
  for (const send of answered) t.true(completed.has(send.triggerId), `trigger ${send.triggerId} was checkpointed after its send`);

  const redis = new Redis(env.config.redis.url);
  try {
    t.deepEqual(await redis.keys(`${env.config.redis.prefix}lease:*`), [], 'no lease is left behind');
  } finally {
    redis.disconnect();
  }
  t.is((await env.knex('partition_leases').whereNotNull('owner')).length, 0);
  t.true(first.lines.some((l) => l.msg === 'scheduler stopped'));

  // A successor finishes the rest and re-sends nothing that was already recorded.
  sink.setLatency(0);
  const second = await spawnHerald('scheduler', { ...childEnv(), HERALD_SCHEDULER_ID: 'term-b' }, { name: 'term-b' });
  children.push(second);
  const finals = await waitForTerminal(env.knex, ids);
  t.true([...finals.values()].every((s) => s === 'completed'));
  for (const id of completed) t.is(sink.delivered(id).length, 1, `no re-send for ${id}`);
  for (const id of ids) t.is((await logsOf(env.knex, id)).filter((l) => l.event === 'TRIGGER_COMPLETED').length, 1);
  t.deepEqual(sink.overlaps(), []);
});
