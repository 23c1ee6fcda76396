import test from 'ava';
import { triggerIdFor } from '../../core/trigger/new-trigger';
import { startDeliverySink, type DeliverySink } from '../support/delivery-sink';
import { createActiveWorkflow, flushPrefix, logsOf, makeSmsWorkflow, makeTriggerRequest, produceToTriggers, waitForTerminal } from '../support/scheduler-fixtures';
import { spawnHerald, type HeraldProcess } from '../support/spawn-herald';
import { createTestEnv, pollUntil, type TestEnv } from '../support/test-env';

let env: TestEnv;
let sink: DeliverySink;
let scheduler: HeraldProcess;

test.before(async () => {
  env = await createTestEnv('e2e_sched_redis', { HERALD_PARTITIONS: '3' });
  sink = await startDeliverySink();
  scheduler = await spawnHerald('scheduler', {
    ...env.env,
    HERALD_PARTITIONS: '3',
    HERALD_LEASE_TTL_MS: '3000',
    HERALD_SCHEDULER_ID: 'redis-loss',
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

test('when Redis loses every timer and lease while delays are parked, every delay still fires, and none fires early', async (t) => {
  const workflow = await createActiveWorkflow(
    env.knex,
    makeSmsWorkflow({
      entryNodeId: 'hello',
      nodes: [
        { id: 'hello', type: 'SMS', sms: { to: '{{ recipient.phone }}', body: 'hello' } },
        { id: 'wait', type: 'DELAY', delay: { delayMs: 4_000 } },
        { id: 'later', type: 'SMS', sms: { to: '{{ recipient.phone }}', body: 'later' } },
      ],
      edges: [
        { from: 'hello', to: 'wait' },
        { from: 'wait', to: 'later' },
      ],
    }),
  );
  const requests = Array.from({ length: 20 }, () => makeTriggerRequest(workflow.id));
  const ids = requests.map((r) => triggerIdFor(workflow.id, String(r.idempotencyKey)));
  await produceToTriggers(env.config, requests.map((r) => ({ value: JSON.stringify(r) })));
  await pollUntil(
    async () => {
      const parked = await env.knex('execution_logs').whereIn('trigger_id', ids).andWhere({ event: 'DELAY_SCHEDULED' });
      return parked.length === ids.length;
    },
    { what: 'every trigger to park on its delay' },
  );

  const deleted = await flushPrefix(env.config.redis.url, env.config.redis.prefix);
  t.log(`deleted ${deleted} Redis keys (timers and leases) of this test's prefix`);
  t.true(deleted > 0);

  const finals = await waitForTerminal(env.knex, ids, 60_000);
  t.true([...finals.values()].every((s) => s === 'completed'), 'every delay fired');
  for (const id of ids) {
    const logs = await logsOf(env.knex, id);
    const wakeAt = Date.parse(logs.find((l) => l.event === 'DELAY_SCHEDULED')!.wakeAt!);
    const fired = logs.filter((l) => l.event === 'TIMER_FIRED');
    t.is(fired.length, 1);
    t.true(fired[0].createdAt.getTime() >= wakeAt, 'fired at or after its wake time');
    const later = sink.delivered(id).filter((s) => s.nodeId === 'later');
    t.is(later.length, 1);
    t.true(later[0].start >= wakeAt, 'the step after the delay was not sent early');
  }
  t.true(
    scheduler.countLogs('partition lease lost') > 0 || scheduler.countLogs('woke overdue timers missing from Redis') > 0,
    'the scheduler noticed the loss',
  );
});
