import test from 'ava';
import fc from 'fast-check';
import { v5 as uuidv5, validate as isUuid } from 'uuid';
import {
  buildExecutionContext,
  HERALD_NAMESPACE,
  initialTriggerState,
  partitionFor,
  retryTriggerState,
  TerminalError,
  triggerIdFor,
  validateTriggerInput,
} from '../../../core';
import { makeVersion, makeWorkflow, T0 } from './core-fixtures';

test('triggerIdFor is UUIDv5 of workflow id, newline, idempotency key', (t) => {
  const id = triggerIdFor('wf-1', 'key-1');
  t.true(isUuid(id));
  t.is(id, uuidv5('wf-1\nkey-1', HERALD_NAMESPACE));
  t.is(id, triggerIdFor('wf-1', 'key-1'));
  t.not(id, triggerIdFor('wf-1', 'key-2'));
  t.not(id, triggerIdFor('wf-2', 'key-1'));
});

test('the Herald namespace never changes (trigger ids are stored forever)', (t) => {
  t.is(HERALD_NAMESPACE, '14f92878-683d-47fb-875e-63e501988329');
  t.is(triggerIdFor('wf-1', 'key-1'), uuidv5('wf-1\nkey-1', '14f92878-683d-47fb-875e-63e501988329'));
});

test('partitionFor is stable and always within range', (t) => {
  fc.assert(
    fc.property(fc.uuid(), fc.integer({ min: 1, max: 1024 }), (id, partitions) => {
      const p = partitionFor(id, partitions);
      return Number.isInteger(p) && p >= 0 && p < partitions && p === partitionFor(id, partitions);
    }),
  );
  // Pinned values: FNV-1a over UTF-8; a change here re-homes every stored trigger.
  t.is(partitionFor('a', 1_000_000_007), 0xe40c292c % 1_000_000_007);
  t.is(partitionFor('', 7), 0x811c9dc5 % 7);
});

test('partitionFor spreads ids over the partitions', (t) => {
  const counts = new Array(12).fill(0);
  for (let i = 0; i < 12_000; i++) counts[partitionFor(triggerIdFor('wf', `k${i}`), 12)]++;
  t.true(counts.every((c) => c > 700 && c < 1300), counts.join(','));
});

test('partitionFor rejects a non-positive partition count', (t) => {
  t.throws(() => partitionFor('x', 0), { instanceOf: RangeError });
});

test('initialTriggerState is enqueued with the entry node ready and the rest pending', (t) => {
  const version = makeVersion();
  const state = initialTriggerState(version, {
    id: 'trig-1',
    idempotencyKey: 'k',
    createdAt: T0,
    recipient: { id: 'r1', email: 'r@example.com' },
    payload: { a: 1 },
  });
  t.is(state.status, 'enqueued');
  t.is(state.run, 1);
  t.is(state.wakeAt, null);
  t.deepEqual(state.cursor, {
    steps: { welcome: { status: 'ready', attempts: 0 }, wait: { status: 'pending', attempts: 0 }, remind: { status: 'pending', attempts: 0 } },
    edges: {},
  });
  t.deepEqual(state.context, {
    payload: { a: 1 },
    recipient: { id: 'r1', email: 'r@example.com' },
    trigger: { id: 'trig-1', idempotency_key: 'k', created_at: T0.toISOString() },
    workflow: { id: 'wf-onboarding', version: 1 },
    steps: {},
  });
});

test('buildExecutionContext restores checkpointed step outputs', (t) => {
  const ctx = buildExecutionContext({
    triggerId: 't',
    idempotencyKey: 'k',
    createdAt: T0,
    workflowId: 'w',
    workflowVersion: 3,
    recipient: { id: 'r' },
    payload: {},
    steps: { welcome: { messageId: 'm1' } },
  });
  t.deepEqual(ctx.steps, { welcome: { messageId: 'm1' } });
  t.deepEqual(ctx.workflow, { id: 'w', version: 3 });
});

test('retryTriggerState re-enqueues a failed trigger with a new run and fresh attempts for failed steps', (t) => {
  const state = initialTriggerState(makeVersion(makeWorkflow()), { id: 't', idempotencyKey: 'k', createdAt: T0, recipient: { id: 'r' }, payload: {} });
  state.status = 'failed';
  state.cursor.steps.welcome = { status: 'done', attempts: 1 };
  state.cursor.steps.wait = { status: 'failed', attempts: 1, lastError: { reason: 'INVALID_TIMESTAMP', message: 'x', retryable: false } };
  const retried = retryTriggerState(state);
  t.is(retried.status, 'enqueued');
  t.is(retried.run, 2);
  t.deepEqual(retried.cursor.steps.wait, { status: 'ready', attempts: 0 });
  t.deepEqual(retried.cursor.steps.welcome, { status: 'done', attempts: 1 });
  t.is(state.status, 'failed', 'the input is not mutated');
});

test('retryTriggerState refuses anything but a failed trigger', (t) => {
  const state = initialTriggerState(makeVersion(), { id: 't', idempotencyKey: 'k', createdAt: T0, recipient: { id: 'r' }, payload: {} });
  const error = t.throws(() => retryTriggerState(state), { instanceOf: TerminalError });
  t.is(error?.reason, 'ILLEGAL_TRANSITION');
});

// ---- validateTriggerInput ----

const valid = { workflowId: 'wf-1', idempotencyKey: 'order-42', recipient: { id: 'u1', email: 'u1@example.com', phone: '+4915112345678' }, payload: { plan: 'pro' } };
const limits = { maxPayloadBytes: 1024 };

const inputCases: Array<{ title: string; input: Record<string, unknown>; expect: string[] }> = [
  { title: 'a complete input', input: {}, expect: [] },
  { title: 'a recipient with only an id', input: { recipient: { id: 'u1' } }, expect: [] },
  { title: 'no payload', input: { payload: undefined }, expect: [] },
  { title: 'a 256-character idempotency key', input: { idempotencyKey: 'k'.repeat(256) }, expect: [] },
  { title: 'a missing workflow id', input: { workflowId: '' }, expect: ['workflow_id: MISSING_FIELD'] },
  { title: 'a numeric workflow id', input: { workflowId: 7 }, expect: ['workflow_id: INVALID_VALUE'] },
  { title: 'a missing idempotency key', input: { idempotencyKey: undefined }, expect: ['idempotency_key: MISSING_FIELD'] },
  { title: 'a 257-character idempotency key', input: { idempotencyKey: 'k'.repeat(257) }, expect: ['idempotency_key: INVALID_VALUE'] },
  { title: 'an idempotency key with a newline', input: { idempotencyKey: 'a\nb' }, expect: ['idempotency_key: INVALID_VALUE'] },
  { title: 'a missing recipient', input: { recipient: undefined }, expect: ['recipient: MISSING_FIELD'] },
  { title: 'a recipient that is a string', input: { recipient: 'u1' }, expect: ['recipient: INVALID_VALUE'] },
  { title: 'a recipient without id', input: { recipient: { email: 'u1@example.com' } }, expect: ['recipient.id: MISSING_FIELD'] },
  { title: 'a bad recipient email', input: { recipient: { id: 'u1', email: 'nope' } }, expect: ['recipient.email: INVALID_EMAIL'] },
  { title: 'a recipient email with a line break', input: { recipient: { id: 'u1', email: 'a@example.com\r\nBcc: b@example.com' } }, expect: ['recipient.email: INVALID_EMAIL'] },
  { title: 'a recipient phone without a plus', input: { recipient: { id: 'u1', phone: '4915112345678' } }, expect: ['recipient.phone: INVALID_PHONE'] },
  { title: 'a recipient phone with spaces', input: { recipient: { id: 'u1', phone: '+49 151 12345678' } }, expect: ['recipient.phone: INVALID_PHONE'] },
  { title: 'a payload that is an array', input: { payload: [1, 2] }, expect: ['payload: INVALID_VALUE'] },
  { title: 'a payload over the byte limit', input: { payload: { blob: 'x'.repeat(1100) } }, expect: ['payload: PAYLOAD_TOO_LARGE'] },
  { title: 'a payload over the limit only in UTF-8 bytes', input: { payload: { blob: '€'.repeat(400) } }, expect: ['payload: PAYLOAD_TOO_LARGE'] },
  { title: 'everything wrong at once', input: { workflowId: '', idempotencyKey: '', recipient: { id: '', phone: 'x' }, payload: 'x' }, expect: ['workflow_id: MISSING_FIELD', 'idempotency_key: MISSING_FIELD', 'recipient.id: MISSING_FIELD', 'recipient.phone: INVALID_PHONE', 'payload: INVALID_VALUE'] },
];

for (const c of inputCases) {
  test(`validateTriggerInput ${c.expect.length === 0 ? 'accepts' : `reports ${c.expect.join(', ')} for`} ${c.title}`, (t) => {
    const got = validateTriggerInput({ ...valid, ...c.input } as never, limits).map((v) => `${v.path}: ${v.reason}`);
    t.deepEqual(got, c.expect);
  });
}
