import test from 'ava';
import * as grpc from '@grpc/grpc-js';
import { makeRecipient, makeWorkflow, startApiHarness, unary, type ApiHarness } from './grpc-harness';

let h: ApiHarness;
test.before(async () => {
  h = await startApiHarness('grpc_concurrency');
});
test.after.always(() => h?.stop());

test('50 concurrent CreateTrigger calls with one idempotency key make one row and all return the same id', async (t) => {
  const { workflows, triggers } = h.clients;
  const created = (await unary(workflows, workflows.createWorkflow, { workflow: makeWorkflow() }, h.keys.workflowManager)).workflow!;
  await unary(workflows, workflows.activateWorkflow, { id: created.id, etag: created.etag }, h.keys.workflowManager);

  const request = { workflowId: created.id, idempotencyKey: 'same-key', recipient: makeRecipient(), payload: { n: 1 } };
  const responses = await Promise.all(Array.from({ length: 50 }, () => unary(triggers, triggers.createTrigger, request, h.keys.triggerOperator)));

  t.is(new Set(responses.map((r) => r.trigger!.id)).size, 1);
  t.is(responses.filter((r) => !r.deduplicated).length, 1);
  const rows = await h.env.knex('trigger_instances').withSchema(h.env.id).where({ workflow_id: created.id, idempotency_key: 'same-key' });
  t.is(rows.length, 1);
  t.is(rows[0].id, responses[0].trigger!.id);
});

test('20 concurrent UpdateWorkflow calls with the same etag: exactly one succeeds and the version rises by exactly 1', async (t) => {
  const { workflows } = h.clients;
  const created = (await unary(workflows, workflows.createWorkflow, { workflow: makeWorkflow() }, h.keys.workflowManager)).workflow!;

  const outcomes = await Promise.allSettled(
    Array.from({ length: 20 }, (_, i) =>
      unary(workflows, workflows.updateWorkflow, { workflow: makeWorkflow({ id: created.id, name: `racer ${i}` }), etag: created.etag }, h.keys.workflowManager),
    ),
  );
  const winners = outcomes.filter((o) => o.status === 'fulfilled');
  const losers = outcomes.filter((o): o is PromiseRejectedResult => o.status === 'rejected');
  t.is(winners.length, 1);
  t.true(losers.every((o) => (o.reason as grpc.ServiceError).code === grpc.status.ABORTED));

  const latest = (await unary(workflows, workflows.getWorkflow, { id: created.id, version: 0 }, h.keys.workflowManager)).workflow!;
  t.is(latest.version, created.version + 1);
  t.is(latest.name, (winners[0] as PromiseFulfilledResult<{ workflow?: { name: string } }>).value.workflow!.name);
});
