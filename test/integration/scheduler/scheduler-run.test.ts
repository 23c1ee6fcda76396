import test from 'ava';
import { triggerIdFor } from '../../../core/trigger/new-trigger';
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
  startCapturingScheduler,
  waitForTerminal,
} from '../../support/scheduler-fixtures';
import { createTestEnv, pollUntil, type TestEnv } from '../../support/test-env';

let env: TestEnv;
let scheduler: RunningScheduler;
const capture = new CaptureProvider();

test.before(async () => {
  env = await createTestEnv('sched_run', { HERALD_PARTITIONS: '3', HERALD_LEASE_TTL_MS: '3000' });
  scheduler = await startCapturingScheduler(env.config, capture);
});

test.after.always(async () => {
  await scheduler?.stop();
  await flushPrefix(env.config.redis.url, env.config.redis.prefix);
  await env.cleanup();
});

async function send(request: Record<string, unknown>): Promise<string> {
  await produceToTriggers(env.config, [{ key: String(request.idempotencyKey), value: JSON.stringify(request) }]);
  return triggerIdFor(String(request.workflowId), String(request.idempotencyKey));
}

test('email, a 2 s delay and an sms complete in order, and the delay never fires early', async (t) => {
  const workflow = await createActiveWorkflow(env.knex, makeWorkflow());
  const id = await send(makeTriggerRequest(workflow.id));
  const statuses = await waitForTerminal(env.knex, [id]);
  t.is(statuses.get(id), 'completed');

  const logs = await logsOf(env.knex, id);
  t.deepEqual(
    logs.map((l) => `${l.event}${l.nodeId ? `:${l.nodeId}` : ''}`),
    [
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
    ],
  );
  const scheduled = logs.find((l) => l.event === 'DELAY_SCHEDULED')!;
  const fired = logs.find((l) => l.event === 'TIMER_FIRED')!;
  t.true(fired.createdAt.getTime() >= Date.parse(scheduled.wakeAt!), 'the timer fired at or after its wake time');
  t.is(capture.deliveriesFor({ triggerId: id }).length, 2);
});

test('a provider that fails twice and then succeeds completes with 3 attempts logged', async (t) => {
  const workflow = await createActiveWorkflow(env.knex, makeSmsWorkflow());
  const request = makeTriggerRequest(workflow.id);
  const id = triggerIdFor(workflow.id, String(request.idempotencyKey));
  capture.failNext({ triggerId: id, times: 2, kind: 'retryable', reason: 'PROVIDER_UNAVAILABLE' });
  await send(request);
  t.is((await waitForTerminal(env.knex, [id])).get(id), 'completed');

  const logs = await logsOf(env.knex, id);
  const started = logs.filter((l) => l.event === 'STEP_STARTED');
  t.deepEqual(started.map((l) => l.attempt), [1, 2, 3]);
  const retries = logs.filter((l) => l.event === 'STEP_RETRY_SCHEDULED');
  t.is(retries.length, 2);
  for (const retry of retries) {
    t.is(retry.classification, 'retryable');
    t.is(retry.reason, 'PROVIDER_UNAVAILABLE');
    t.truthy(retry.wakeAt, 'each retry names its next wake time');
  }
  t.is(logs.filter((l) => l.event === 'STEP_SUCCEEDED').length, 1);
});

test('a provider that fails 3 times leaves the trigger failed after exhausting its attempts', async (t) => {
  const workflow = await createActiveWorkflow(env.knex, makeSmsWorkflow());
  const request = makeTriggerRequest(workflow.id);
  const id = triggerIdFor(workflow.id, String(request.idempotencyKey));
  capture.failNext({ triggerId: id, times: 3, kind: 'retryable', reason: 'PROVIDER_TIMEOUT' });
  await send(request);
  t.is((await waitForTerminal(env.knex, [id])).get(id), 'failed');

  const logs = await logsOf(env.knex, id);
  t.is(logs.filter((l) => l.event === 'STEP_STARTED').length, 3);
  const failed = logs.find((l) => l.event === 'TRIGGER_FAILED')!;
  t.is(failed.reason, 'ATTEMPTS_EXHAUSTED');
  const row = await env.knex('trigger_instances').where({ id }).first();
  t.is(row.last_error.reason, 'ATTEMPTS_EXHAUSTED');
  t.truthy(row.finished_at);
});

test('a permanent provider error fails the trigger at once, without a retry', async (t) => {
  const workflow = await createActiveWorkflow(env.knex, makeSmsWorkflow());
  const request = makeTriggerRequest(workflow.id);
  const id = triggerIdFor(workflow.id, String(request.idempotencyKey));
  capture.failNext({ triggerId: id, times: 1, kind: 'terminal', reason: 'PROVIDER_REJECTED' });
  await send(request);
  t.is((await waitForTerminal(env.knex, [id])).get(id), 'failed');

  const logs = await logsOf(env.knex, id);
  t.is(logs.filter((l) => l.event === 'STEP_STARTED').length, 1);
  t.is(logs.filter((l) => l.event === 'STEP_RETRY_SCHEDULED').length, 0);
  const stepFailed = logs.find((l) => l.event === 'STEP_FAILED')!;
  t.is(stepFailed.classification, 'terminal');
  t.is(stepFailed.reason, 'PROVIDER_REJECTED');
});

test('parallel branches run, and a false edge condition skips its branch and everything only it leads to', async (t) => {
  const workflow = await createActiveWorkflow(
    env.knex,
    makeWorkflow({
      entryNodeId: 'start',
      nodes: [
        { id: 'start', type: 'SMS', sms: { to: '{{ recipient.phone }}', body: 'start' } },
        { id: 'pro_email', type: 'EMAIL', email: { to: '{{ recipient.email }}', from: 'herald@example.com', subject: 'Pro', text: 'pro' } },
        { id: 'pro_sms', type: 'SMS', sms: { to: '{{ recipient.phone }}', body: 'pro follow-up' } },
        { id: 'everyone', type: 'EMAIL', email: { to: '{{ recipient.email }}', from: 'herald@example.com', subject: 'All', text: 'all' } },
        { id: 'short_wait', type: 'DELAY', delay: { delayMs: 200 } },
        { id: 'join', type: 'SMS', sms: { to: '{{ recipient.phone }}', body: 'done' } },
      ],
      edges: [
        { from: 'start', to: 'pro_email', condition: 'payload.plan == "pro"' },
        { from: 'pro_email', to: 'pro_sms' },
        { from: 'start', to: 'everyone' },
        { from: 'start', to: 'short_wait' },
        { from: 'pro_sms', to: 'join' },
        { from: 'everyone', to: 'join' },
        { from: 'short_wait', to: 'join' },
      ],
    }),
  );
  const id = await send(makeTriggerRequest(workflow.id, { payload: { plan: 'free' } }));
  t.is((await waitForTerminal(env.knex, [id])).get(id), 'completed');

  const row = await env.knex('trigger_instances').where({ id }).first();
  const status = (node: string) => row.cursor.steps[node].status;
  t.is(status('pro_email'), 'skipped');
  t.is(status('pro_sms'), 'skipped');
  for (const node of ['start', 'everyone', 'short_wait', 'join']) t.is(status(node), 'done', node);
  const logs = await logsOf(env.knex, id);
  t.deepEqual(logs.filter((l) => l.event === 'STEP_SKIPPED').map((l) => l.nodeId).sort(), ['pro_email', 'pro_sms']);
  t.deepEqual(capture.deliveriesFor({ triggerId: id }).map((d) => d.context.nodeId).sort(), ['everyone', 'join', 'start']);
});
