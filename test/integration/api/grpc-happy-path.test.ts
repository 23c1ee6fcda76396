import test from 'ava';
import * as grpc from '@grpc/grpc-js';
import { pollUntil } from '../../support/test-env';
import { Role } from '../../../services/grpc/gen/herald/v1/admin_service';
import { LogEvent, TriggerStatus } from '../../../services/grpc/gen/herald/v1/trigger';
import { bearer, collectStream, makeRecipient, makeWorkflow, startApiHarness, unary, type ApiHarness } from './grpc-harness';

let h: ApiHarness;
test.before(async () => {
  h = await startApiHarness('grpc_happy');
});
test.after.always(() => h?.stop());

async function createActiveWorkflow(name: string) {
  const { workflows } = h.clients;
  const created = await unary(workflows, workflows.createWorkflow, { workflow: makeWorkflow({ name }) }, h.keys.workflowManager);
  const activated = await unary(workflows, workflows.activateWorkflow, { id: created.workflow!.id, etag: created.workflow!.etag }, h.keys.workflowManager);
  return activated.workflow!;
}

test.serial('the workflow lifecycle works end to end: create, get, list, update, activate, deactivate, delete', async (t) => {
  const { workflows } = h.clients;
  const key = h.keys.workflowManager;
  const created = (await unary(workflows, workflows.createWorkflow, { workflow: makeWorkflow() }, key)).workflow!;
  t.regex(created.id, /^[0-9a-f-]{36}$/);
  t.is(created.version, 1);
  t.false(created.active);
  t.truthy(created.etag);
  t.true(created.createTime instanceof Date);
  t.is(created.nodes.length, 3);
  t.deepEqual(created.nodes[1].config, { $case: 'delay', delay: { delay: { $case: 'duration', duration: 'PT1S' } } });

  const fetched = (await unary(workflows, workflows.getWorkflow, { id: created.id, version: 0 }, key)).workflow!;
  t.deepEqual(fetched, created);

  const listed = await unary(workflows, workflows.listWorkflows, { pageSize: 10, pageToken: '', activeOnly: false }, key);
  t.true(listed.workflows.some((w) => w.id === created.id));

  const changed = makeWorkflow({ id: created.id, name: 'welcome v2' });
  const updated = (await unary(workflows, workflows.updateWorkflow, { workflow: changed, etag: created.etag }, key)).workflow!;
  t.is(updated.version, 2);
  t.is(updated.name, 'welcome v2');
  t.not(updated.etag, created.etag);

  const v1 = (await unary(workflows, workflows.getWorkflow, { id: created.id, version: 1 }, key)).workflow!;
  t.is(v1.name, 'welcome');

  const active = (await unary(workflows, workflows.activateWorkflow, { id: created.id, etag: updated.etag }, key)).workflow!;
  t.true(active.active);
  const inactive = (await unary(workflows, workflows.deactivateWorkflow, { id: created.id, etag: active.etag }, key)).workflow!;
  t.false(inactive.active);

  await unary(workflows, workflows.deleteWorkflow, { id: created.id, etag: inactive.etag }, key);
  const gone = await unary(workflows, workflows.getWorkflow, { id: created.id, version: 0 }, key).catch((e: grpc.ServiceError) => e);
  t.is((gone as grpc.ServiceError).code, grpc.status.NOT_FOUND);
});

test.serial('ValidateWorkflow and PreviewWorkflow answer a dry run without storing anything', async (t) => {
  const { workflows } = h.clients;
  const key = h.keys.workflowManager;
  const ok = await unary(workflows, workflows.validateWorkflow, { workflow: makeWorkflow() }, key);
  t.deepEqual(ok, { valid: true, violations: [] });

  const bad = makeWorkflow({ entryNodeId: 'nowhere' });
  const report = await unary(workflows, workflows.validateWorkflow, { workflow: bad }, key);
  t.false(report.valid);
  t.true(report.violations.some((v) => v.reason === 'ENTRY_NODE_MISSING'));

  const preview = await unary(
    workflows,
    workflows.previewWorkflow,
    { workflow: makeWorkflow(), payload: { name: 'Ada', plan: 'pro' }, recipient: makeRecipient('ada') },
    key,
  );
  t.is(preview.previews.length, 3);
  const email = preview.previews.find((p) => p.nodeId === 'welcome_email')!;
  t.is(email.rendered.subject, 'Hi Ada');
  t.is(email.rendered.to, 'ada@example.test');
});

test.serial('CreateTrigger accepts once, deduplicates a repeat, and GetTrigger, ListTriggers and the logs show it', async (t) => {
  const { triggers } = h.clients;
  const key = h.keys.triggerOperator;
  const workflow = await createActiveWorkflow('triggers');
  const request = { workflowId: workflow.id, idempotencyKey: 'order-1', recipient: makeRecipient(), payload: { name: 'Ada', nested: { n: 1, list: [true, null] } } };

  const first = await unary(triggers, triggers.createTrigger, request, key);
  t.false(first.deduplicated);
  t.is(first.trigger!.status, TriggerStatus.TRIGGER_STATUS_ENQUEUED);
  t.is(first.trigger!.workflowVersion, workflow.version);
  t.deepEqual(first.trigger!.payload, request.payload);
  const again = await unary(triggers, triggers.createTrigger, request, key);
  t.true(again.deduplicated);
  t.is(again.trigger!.id, first.trigger!.id);

  const got = (await unary(triggers, triggers.getTrigger, { id: first.trigger!.id }, key)).trigger!;
  t.is(got.id, first.trigger!.id);
  t.deepEqual(got.recipient, request.recipient);

  const listed = await unary(
    triggers,
    triggers.listTriggers,
    { pageSize: 10, pageToken: '', workflowId: workflow.id, status: TriggerStatus.TRIGGER_STATUS_ENQUEUED, createTimeAfter: new Date(Date.now() - 3_600_000), createTimeBefore: undefined },
    key,
  );
  t.deepEqual(listed.triggers.map((x) => x.id), [first.trigger!.id]);

  const published = await pollUntil(async () => {
    const current = (await unary(triggers, triggers.getTrigger, { id: first.trigger!.id }, key)).trigger!;
    return current.publishTime ? current : undefined;
  }, { what: 'the trigger to be published to Kafka' });
  t.true(published.publishTime instanceof Date);

  const logs = await unary(triggers, triggers.listExecutionLogs, { pageSize: 10, pageToken: '', triggerId: first.trigger!.id, workflowId: '' }, h.keys.workflowManager);
  t.true(logs.entries.length > 0);
  t.true(logs.entries.every((e) => e.triggerId === first.trigger!.id));
  t.is(logs.entries[0].event, LogEvent.LOG_EVENT_TRIGGER_ACCEPTED);
  const byWorkflow = await unary(triggers, triggers.listExecutionLogs, { pageSize: 10, pageToken: '', triggerId: '', workflowId: workflow.id }, key);
  t.deepEqual(byWorkflow.entries.map((e) => e.id), logs.entries.map((e) => e.id));
});

test.serial('BatchCreateTriggers answers each item on its own: accepted, deduplicated or refused', async (t) => {
  const { triggers } = h.clients;
  const workflow = await createActiveWorkflow('batch');
  const item = (key: string) => ({ workflowId: workflow.id, idempotencyKey: key, recipient: makeRecipient(), payload: {} });
  const response = await unary(
    triggers,
    triggers.batchCreateTriggers,
    { requests: [item('b-1'), item('b-1'), { ...item('b-2'), recipient: undefined }, item('b-3')] },
    h.keys.triggerOperator,
  );
  const [a, b, c, d] = response.results.map((r) => r.result);
  t.is(a?.$case, 'accepted');
  t.is(b?.$case, 'accepted');
  if (a?.$case === 'accepted' && b?.$case === 'accepted') {
    t.is(a.accepted.trigger!.id, b.accepted.trigger!.id);
    t.deepEqual([a.accepted.deduplicated, b.accepted.deduplicated].sort(), [false, true]);
  }
  t.is(c?.$case, 'error');
  if (c?.$case === 'error') t.is(c.error.code, grpc.status.INVALID_ARGUMENT);
  t.is(d?.$case, 'accepted');
});

test.serial('WatchTrigger streams the log and ends once CancelTrigger makes the trigger terminal', async (t) => {
  const { triggers } = h.clients;
  const key = h.keys.triggerOperator;
  const workflow = await createActiveWorkflow('watch');
  const created = await unary(triggers, triggers.createTrigger, { workflowId: workflow.id, idempotencyKey: 'w-1', recipient: makeRecipient(), payload: {} }, key);
  const id = created.trigger!.id;
  const stream = triggers.watchTrigger({ triggerId: id }, bearer(key));
  const entries = collectStream(stream);
  const cancelled = await unary(triggers, triggers.cancelTrigger, { id }, key);
  t.is(cancelled.trigger!.status, TriggerStatus.TRIGGER_STATUS_CANCELLED);
  const seen = await entries;
  t.true(seen.every((m) => m.entry!.triggerId === id));
  t.true(seen.some((m) => m.entry!.event === LogEvent.LOG_EVENT_TRIGGER_CANCELLED));
});

test.serial('RetryTrigger moves a failed trigger back to enqueued with run + 1', async (t) => {
  const { triggers } = h.clients;
  const key = h.keys.triggerOperator;
  const workflow = await createActiveWorkflow('retry');
  const created = await unary(triggers, triggers.createTrigger, { workflowId: workflow.id, idempotencyKey: 'r-1', recipient: makeRecipient(), payload: {} }, key);
  // No scheduler runs here; mark the trigger failed as one would have.
  await h.env.knex('trigger_instances').withSchema(h.env.id).where({ id: created.trigger!.id }).update({ status: 'failed' });
  const retried = (await unary(triggers, triggers.retryTrigger, { id: created.trigger!.id }, key)).trigger!;
  t.is(retried.status, TriggerStatus.TRIGGER_STATUS_ENQUEUED);
  t.is(retried.run, created.trigger!.run + 1);
});

test.serial('ListOutboxMessages lists what the dev outbox captured for a trigger', async (t) => {
  const { triggers } = h.clients;
  const triggerId = '6f1c7c1e-8a57-5b0e-9a39-000000000001';
  await h.env.knex('outbox_messages').withSchema(h.env.id).insert({
    id: '6f1c7c1e-8a57-5b0e-9a39-000000000002',
    idempotency_key: `${triggerId}:welcome_email:1-1`,
    trigger_id: triggerId,
    workflow_id: '6f1c7c1e-8a57-5b0e-9a39-000000000003',
    node_id: 'welcome_email',
    channel: 'email',
    message: { to: 'ada@example.test', subject: 'Hi' },
  });
  const page = await unary(triggers, triggers.listOutboxMessages, { pageSize: 10, pageToken: '', triggerId }, h.keys.triggerOperator);
  t.is(page.outboxMessages.length, 1);
  t.deepEqual(page.outboxMessages[0].message, { to: 'ada@example.test', subject: 'Hi' });
  t.is(page.outboxMessages[0].nodeId, 'welcome_email');
});

test.serial('api keys can be created, listed and revoked, and a revoked key stops working at once', async (t) => {
  const { admin, workflows } = h.clients;
  const created = await unary(admin, admin.createApiKey, { role: Role.ROLE_WORKFLOW_MANAGER, description: 'ci' }, h.keys.systemAdmin);
  t.is(created.apiKey!.role, Role.ROLE_WORKFLOW_MANAGER);
  t.true(created.secret.length >= 22);
  await unary(workflows, workflows.listWorkflows, { pageSize: 1, pageToken: '', activeOnly: false }, created.secret);

  const listed = await unary(admin, admin.listApiKeys, { pageSize: 1000, pageToken: '' }, h.keys.systemAdmin);
  const mine = listed.apiKeys.find((k) => k.id === created.apiKey!.id)!;
  t.is(mine.description, 'ci');
  t.false(JSON.stringify(listed).includes(created.secret));

  const revoked = await unary(admin, admin.revokeApiKey, { id: created.apiKey!.id }, h.keys.systemAdmin);
  t.true(revoked.apiKey!.revokeTime instanceof Date);
  const refused = await unary(workflows, workflows.listWorkflows, { pageSize: 1, pageToken: '', activeOnly: false }, created.secret).catch((e: grpc.ServiceError) => e);
  t.is((refused as grpc.ServiceError).code, grpc.status.UNAUTHENTICATED);
});

test.serial('a scheduler heartbeat shows up in ListSchedulers', async (t) => {
  const { cluster } = h.clients;
  const startTime = new Date(Date.now() - 1000);
  await unary(
    cluster,
    cluster.heartbeat,
    { scheduler: { schedulerId: 'sched-a', partitions: [{ partition: 0, epoch: 7 }], actorsInMemory: 2, parkedTimers: 1, consumerLag: 0, startTime, lastSeenTime: undefined } },
    h.keys.workerService,
  );
  const listed = await unary(cluster, cluster.listSchedulers, { pageSize: 0, pageToken: '' }, h.keys.systemAdmin);
  const mine = listed.schedulers.find((s) => s.schedulerId === 'sched-a')!;
  t.deepEqual(mine.partitions, [{ partition: 0, epoch: 7 }]);
  t.is(mine.actorsInMemory, 2);
  t.true(mine.lastSeenTime instanceof Date);
});
