import test from 'ava';
import { triggerIdFor } from '../../core/trigger/new-trigger';
import { startDeliverySink, type DeliverySink } from '../support/delivery-sink';
import {
  createActiveWorkflow,
  flushPrefix,
  logsOf,
  makeSmsWorkflow,
  makeTriggerRequest,
  makeWorkflow,
  produceToTriggers,
  waitForTerminal,
} from '../support/scheduler-fixtures';
import { startSmtpSink, type SmtpSink } from '../support/smtp-sink';
import { spawnHerald, type HeraldProcess } from '../support/spawn-herald';
import { createTestEnv, pollUntil, type TestEnv } from '../support/test-env';

/** One real `herald serve scheduler` process, real SMTP and webhook endpoints, real Kafka/Redis/Postgres. */

let env: TestEnv;
let smtp: SmtpSink;
let sms: DeliverySink;
let scheduler: HeraldProcess;

test.before(async () => {
  env = await createTestEnv('e2e_sched_flow', { HERALD_PARTITIONS: '3', HERALD_LEASE_TTL_MS: '3000' });
  smtp = await startSmtpSink();
  sms = await startDeliverySink();
  scheduler = await spawnHerald('scheduler', {
    ...env.env,
    HERALD_PARTITIONS: '3',
    HERALD_LEASE_TTL_MS: '3000',
    HERALD_SCHEDULER_ID: 'e2e-flow',
    HERALD_EMAIL_PROVIDER: 'smtp',
    HERALD_SMTP_HOST: smtp.host,
    HERALD_SMTP_PORT: String(smtp.port),
    HERALD_EMAIL_DEFAULT_FROM: 'Herald <herald@example.com>',
    HERALD_SMS_PROVIDER: 'webhook',
    HERALD_SMS_WEBHOOK_URL: sms.url,
    HERALD_SMS_WEBHOOK_SECRET: 'e2e-secret',
  });
  await pollUntil(() => scheduler.countLogs('partition recovered') >= 3, { what: 'all 3 partitions to be owned' });
});

test.after.always(async () => {
  await scheduler?.stop();
  await smtp?.close();
  await sms?.close();
  await flushPrefix(env.config.redis.url, env.config.redis.prefix);
  await env.cleanup();
});

async function send(request: Record<string, unknown>): Promise<string> {
  await produceToTriggers(env.config, [{ value: JSON.stringify(request) }]);
  return triggerIdFor(String(request.workflowId), String(request.idempotencyKey));
}

const eventsOf = async (id: string) => (await logsOf(env.knex, id)).map((l) => `${l.event}${l.nodeId ? `:${l.nodeId}` : ''}`);

test('email, then a 2 s delay, then an sms: the trigger completes with an ordered execution log', async (t) => {
  const workflow = await createActiveWorkflow(env.knex, makeWorkflow());
  const id = await send(makeTriggerRequest(workflow.id, { recipient: { id: 'u-flow', email: 'flow@example.com', phone: '+15550101' } }));
  t.is((await waitForTerminal(env.knex, [id])).get(id), 'completed');
  t.deepEqual(await eventsOf(id), [
    'TRIGGER_ACCEPTED',
    'TRIGGER_STARTED',
    'STEP_STARTED:welcome',
    'STEP_SUCCEEDED:welcome',
    'DELAY_SCHEDULED:wait',
    'TIMER_FIRED:wait',
    'STEP_SUCCEEDED:wait',
    'STEP_STARTED:remind',
    'STEP_SUCCEEDED:remind',
    'TRIGGER_COMPLETED',
  ]);
  const logs = await logsOf(env.knex, id);
  const wakeAt = Date.parse(logs.find((l) => l.event === 'DELAY_SCHEDULED')!.wakeAt!);
  t.true(logs.find((l) => l.event === 'TIMER_FIRED')!.createdAt.getTime() >= wakeAt, 'the delay did not fire early');
  t.true(smtp.received.some((m) => m.envelope.to.includes('flow@example.com')));
  const smsSend = sms.delivered(id);
  t.is(smsSend.length, 1);
  t.true(smsSend[0].start >= wakeAt, 'the sms went out after the delay');
});

test('a DAG with parallel branches and a false edge condition skips exactly the nodes behind it', async (t) => {
  const workflow = await createActiveWorkflow(
    env.knex,
    makeSmsWorkflow({
      entryNodeId: 'start',
      nodes: [
        { id: 'start', type: 'SMS', sms: { to: '{{ recipient.phone }}', body: 'start' } },
        { id: 'vip', type: 'SMS', sms: { to: '{{ recipient.phone }}', body: 'vip' } },
        { id: 'vip_after', type: 'SMS', sms: { to: '{{ recipient.phone }}', body: 'vip after' } },
        { id: 'all', type: 'SMS', sms: { to: '{{ recipient.phone }}', body: 'all' } },
        { id: 'pause', type: 'DELAY', delay: { delayMs: 300 } },
        { id: 'end', type: 'SMS', sms: { to: '{{ recipient.phone }}', body: 'end' } },
      ],
      edges: [
        { from: 'start', to: 'vip', condition: 'payload.tier == "vip"' },
        { from: 'vip', to: 'vip_after' },
        { from: 'start', to: 'all' },
        { from: 'start', to: 'pause' },
        { from: 'vip_after', to: 'end' },
        { from: 'all', to: 'end' },
        { from: 'pause', to: 'end' },
      ],
    }),
  );
  const id = await send(makeTriggerRequest(workflow.id, { payload: { tier: 'basic' } }));
  t.is((await waitForTerminal(env.knex, [id])).get(id), 'completed');
  const row = await env.knex('trigger_instances').where({ id }).first();
  t.deepEqual(
    Object.fromEntries(Object.entries(row.cursor.steps as Record<string, { status: string }>).map(([k, v]) => [k, v.status])),
    { start: 'done', vip: 'skipped', vip_after: 'skipped', all: 'done', pause: 'done', end: 'done' },
  );
  t.deepEqual(sms.delivered(id).map((s) => s.nodeId).sort(), ['all', 'end', 'start']);
});

test('an sms endpoint that fails twice and then succeeds completes the trigger with 3 attempts logged', async (t) => {
  const workflow = await createActiveWorkflow(env.knex, makeSmsWorkflow());
  const request = makeTriggerRequest(workflow.id);
  const id = triggerIdFor(workflow.id, String(request.idempotencyKey));
  sms.script(id, [503, 503]);
  await send(request);
  t.is((await waitForTerminal(env.knex, [id])).get(id), 'completed');
  const logs = await logsOf(env.knex, id);
  t.deepEqual(logs.filter((l) => l.event === 'STEP_STARTED').map((l) => l.attempt), [1, 2, 3]);
  const retries = logs.filter((l) => l.event === 'STEP_RETRY_SCHEDULED');
  t.deepEqual(retries.map((l) => [l.classification, l.reason, Boolean(l.wakeAt)]), [
    ['retryable', 'PROVIDER_UNAVAILABLE', true],
    ['retryable', 'PROVIDER_UNAVAILABLE', true],
  ]);
  t.deepEqual(sms.sends.filter((s) => s.triggerId === id).map((s) => s.status), [503, 503, 200]);
});

test('an sms endpoint that fails 3 times leaves the trigger failed', async (t) => {
  const workflow = await createActiveWorkflow(env.knex, makeSmsWorkflow());
  const request = makeTriggerRequest(workflow.id);
  const id = triggerIdFor(workflow.id, String(request.idempotencyKey));
  sms.script(id, [500, 502, 503]);
  await send(request);
  t.is((await waitForTerminal(env.knex, [id])).get(id), 'failed');
  const logs = await logsOf(env.knex, id);
  t.is(logs.filter((l) => l.event === 'STEP_STARTED').length, 3);
  t.is(logs.find((l) => l.event === 'TRIGGER_FAILED')?.reason, 'ATTEMPTS_EXHAUSTED');
});

test('a permanent rejection fails the trigger at once, with no retry', async (t) => {
  const workflow = await createActiveWorkflow(env.knex, makeSmsWorkflow());
  const request = makeTriggerRequest(workflow.id);
  const id = triggerIdFor(workflow.id, String(request.idempotencyKey));
  sms.script(id, [400]);
  await send(request);
  t.is((await waitForTerminal(env.knex, [id])).get(id), 'failed');
  const logs = await logsOf(env.knex, id);
  t.is(logs.filter((l) => l.event === 'STEP_STARTED').length, 1);
  t.is(logs.filter((l) => l.event === 'STEP_RETRY_SCHEDULED').length, 0);
  const failed = logs.find((l) => l.event === 'STEP_FAILED')!;
  t.is(failed.classification, 'terminal');
  t.is(failed.reason, 'PROVIDER_REJECTED');
  t.is(sms.sends.filter((s) => s.triggerId === id).length, 1);
});
