import test from 'ava';
import * as grpc from '@grpc/grpc-js';
import { NodeType } from '../../../services/grpc/gen/herald/v1/workflow';
import { failure, makeRecipient, makeWorkflow, startApiHarness, unary, type ApiHarness } from './grpc-harness';

const MAX_MESSAGE_BYTES = 64 * 1024;
const MAX_PAYLOAD_BYTES = 8 * 1024;

let h: ApiHarness;
test.before(async () => {
  h = await startApiHarness('grpc_errors', {
    HERALD_MAX_MESSAGE_BYTES: String(MAX_MESSAGE_BYTES),
    HERALD_MAX_PAYLOAD_BYTES: String(MAX_PAYLOAD_BYTES),
  });
});
test.after.always(() => h?.stop());

async function createWorkflow(active: boolean) {
  const { workflows } = h.clients;
  const created = (await unary(workflows, workflows.createWorkflow, { workflow: makeWorkflow() }, h.keys.workflowManager)).workflow!;
  if (!active) return created;
  return (await unary(workflows, workflows.activateWorkflow, { id: created.id, etag: created.etag }, h.keys.workflowManager)).workflow!;
}

test('an invalid workflow is refused with INVALID_ARGUMENT carrying every violation in BadRequest and an ErrorInfo', async (t) => {
  const { workflows } = h.clients;
  const broken = makeWorkflow({
    name: '',
    nodes: [
      ...makeWorkflow().nodes,
      { id: 'wait', type: NodeType.NODE_TYPE_DELAY, config: { $case: 'delay', delay: { delay: { $case: 'delayMs', delayMs: 10 } } } },
      { id: 'confused', type: NodeType.NODE_TYPE_SMS, config: { $case: 'delay', delay: { delay: undefined } } },
    ],
    edges: [...makeWorkflow().edges, { from: 'nudge_sms', to: 'nudge_sms', condition: '' }, { from: 'wait', to: 'ghost', condition: '' }],
  });
  const error = await failure(unary(workflows, workflows.createWorkflow, { workflow: broken }, h.keys.workflowManager));
  t.is(error.code, grpc.status.INVALID_ARGUMENT);
  t.deepEqual(error.errorInfo && { reason: error.errorInfo.reason, domain: error.errorInfo.domain }, { reason: 'INVALID_ARGUMENT', domain: 'herald.dev' });
  const violations = error.badRequest!.fieldViolations.map((v) => `${v.field} ${v.reason}`);
  for (const expected of [
    'workflow.nodes[4].type CONFLICTING_FIELDS',
    'workflow.name MISSING_FIELD',
    'DUPLICATE_NODE_ID',
    'SELF_LOOP',
    'UNKNOWN_NODE',
  ]) {
    t.true(violations.some((v) => v.includes(expected)), `missing ${expected} in ${violations.join('; ')}`);
  }
  t.true(error.badRequest!.fieldViolations.every((v) => v.field.startsWith('workflow.') && v.description !== ''));
});

test('a missing required field is reported with its path even before the app is called', async (t) => {
  const { triggers } = h.clients;
  const error = await failure(unary(triggers, triggers.createTrigger, { workflowId: 'not-a-uuid', idempotencyKey: '', recipient: undefined, payload: undefined }, h.keys.triggerOperator));
  t.is(error.code, grpc.status.INVALID_ARGUMENT);
  t.deepEqual(error.badRequest!.fieldViolations.map((v) => [v.field, v.reason]), [
    ['workflow_id', 'INVALID_VALUE'],
    ['idempotency_key', 'MISSING_FIELD'],
    ['recipient', 'MISSING_FIELD'],
  ]);
});

test('a stale etag is refused with ABORTED and ETAG_MISMATCH', async (t) => {
  const { workflows } = h.clients;
  const workflow = await createWorkflow(false);
  await unary(workflows, workflows.updateWorkflow, { workflow: makeWorkflow({ id: workflow.id, name: 'v2' }), etag: workflow.etag }, h.keys.workflowManager);
  const error = await failure(unary(workflows, workflows.updateWorkflow, { workflow: makeWorkflow({ id: workflow.id, name: 'v3' }), etag: workflow.etag }, h.keys.workflowManager));
  t.is(error.code, grpc.status.ABORTED);
  t.is(error.errorInfo!.reason, 'ETAG_MISMATCH');
  const activate = await failure(unary(workflows, workflows.activateWorkflow, { id: workflow.id, etag: workflow.etag }, h.keys.workflowManager));
  t.is(activate.code, grpc.status.ABORTED);
});

test('a trigger for an inactive workflow is refused with FAILED_PRECONDITION and WORKFLOW_INACTIVE', async (t) => {
  const { triggers } = h.clients;
  const workflow = await createWorkflow(false);
  const error = await failure(unary(triggers, triggers.createTrigger, { workflowId: workflow.id, idempotencyKey: 'k', recipient: makeRecipient(), payload: {} }, h.keys.triggerOperator));
  t.is(error.code, grpc.status.FAILED_PRECONDITION);
  t.is(error.errorInfo!.reason, 'WORKFLOW_INACTIVE');
});

test('deleting an active workflow is refused with FAILED_PRECONDITION and WORKFLOW_ACTIVE', async (t) => {
  const { workflows } = h.clients;
  const workflow = await createWorkflow(true);
  const error = await failure(unary(workflows, workflows.deleteWorkflow, { id: workflow.id, etag: workflow.etag }, h.keys.workflowManager));
  t.is(error.code, grpc.status.FAILED_PRECONDITION);
  t.is(error.errorInfo!.reason, 'WORKFLOW_ACTIVE');
});

test('an unknown id is NOT_FOUND', async (t) => {
  const { workflows, triggers } = h.clients;
  const id = '00000000-0000-4000-8000-000000000000';
  t.is((await failure(unary(workflows, workflows.getWorkflow, { id, version: 0 }, h.keys.workflowManager))).code, grpc.status.NOT_FOUND);
  t.is((await failure(unary(triggers, triggers.getTrigger, { id }, h.keys.triggerOperator))).code, grpc.status.NOT_FOUND);
});

test('a message over the size limit is refused with RESOURCE_EXHAUSTED and the server stays up', async (t) => {
  const { triggers, workflows } = h.clients;
  const workflow = await createWorkflow(true);
  const huge = { blob: 'x'.repeat(MAX_MESSAGE_BYTES * 2) };
  const error = await failure(unary(triggers, triggers.createTrigger, { workflowId: workflow.id, idempotencyKey: 'huge', recipient: makeRecipient(), payload: huge }, h.keys.triggerOperator));
  t.is(error.code, grpc.status.RESOURCE_EXHAUSTED);
  const after = await unary(workflows, workflows.getWorkflow, { id: workflow.id, version: 0 }, h.keys.workflowManager);
  t.is(after.workflow!.id, workflow.id);
});

test('a payload over the payload limit is refused with RESOURCE_EXHAUSTED naming the payload field', async (t) => {
  const { triggers } = h.clients;
  const workflow = await createWorkflow(true);
  const big = { blob: 'y'.repeat(MAX_PAYLOAD_BYTES + 1) };
  const error = await failure(unary(triggers, triggers.createTrigger, { workflowId: workflow.id, idempotencyKey: 'big', recipient: makeRecipient(), payload: big }, h.keys.triggerOperator));
  t.is(error.code, grpc.status.RESOURCE_EXHAUSTED);
  t.is(error.errorInfo!.reason, 'PAYLOAD_TOO_LARGE');
  t.deepEqual(error.badRequest!.fieldViolations.map((v) => v.field), ['payload']);
  const ok = await unary(triggers, triggers.createTrigger, { workflowId: workflow.id, idempotencyKey: 'small', recipient: makeRecipient(), payload: { a: 1 } }, h.keys.triggerOperator);
  t.false(ok.deduplicated);
});

test('a batch over 1,000 items is refused as a whole with INVALID_ARGUMENT', async (t) => {
  const { triggers } = h.clients;
  // Tiny items, so that 1,001 of them stay under this server's 64 KiB message limit.
  const item = { workflowId: '00000000-0000-4000-8000-000000000000', idempotencyKey: 'k', recipient: { id: 'r', email: '', phone: '', locale: '', timezone: '' }, payload: undefined };
  const error = await failure(unary(triggers, triggers.batchCreateTriggers, { requests: Array.from({ length: 1001 }, () => item) }, h.keys.triggerOperator));
  t.is(error.code, grpc.status.INVALID_ARGUMENT);
  t.is(error.badRequest!.fieldViolations[0].field, 'requests');
});
