import test from 'ava';
import pino from 'pino';
import { Redis } from 'ioredis';
import { initialTriggerState, triggerIdFor } from '../../../core/trigger/new-trigger';
import type { TriggerState } from '../../../core/trigger/model';
import { writeCheckpoints, type CheckpointWrite } from '../../../services/postgres/checkpoint-store';
import { bumpPartitionEpoch } from '../../../services/postgres/lease-store';
import { loadTriggerForRun } from '../../../services/postgres/scheduler-trigger-store';
import { insertTriggers, markPublished } from '../../../services/postgres/trigger-store';
import { LeaseManager } from '../../../services/redis/lease-manager';
import { TimerWheel } from '../../../services/redis/timer-wheel';
import { createActiveWorkflow, flushPrefix, makeSmsWorkflow } from '../../support/scheduler-fixtures';
import { createTestEnv, pollUntil, type TestEnv } from '../../support/test-env';

let env: TestEnv;
let redis: Redis;
const logger = pino({ level: 'silent' });

test.before(async () => {
  env = await createTestEnv('sched_fence_stores');
  redis = new Redis(env.config.redis.url);
});

test.after.always(async () => {
  redis?.disconnect();
  await flushPrefix(env.config.redis.url, env.config.redis.prefix);
  await env.cleanup();
});

let counter = 0;
async function makeTrigger(partition: number, options: { published?: boolean } = {}) {
  const workflow = await createActiveWorkflow(env.knex, makeSmsWorkflow());
  const key = `fence-${++counter}`;
  const id = triggerIdFor(workflow.id, key);
  const createdAt = new Date();
  const recipient = { id: 'u', phone: '+15550100' };
  const state = initialTriggerState({ workflowId: workflow.id, version: workflow.version, definition: workflow }, { id, idempotencyKey: key, createdAt, recipient, payload: {} });
  await insertTriggers(env.knex, [
    { id, workflowId: workflow.id, workflowVersion: workflow.version, idempotencyKey: key, partition, source: 'kafka', recipient, payload: {}, state, createdAt, publishedAt: options.published === false ? null : createdAt },
  ]);
  return { id, workflowId: workflow.id, state };
}

function write(t: { id: string; workflowId: string }, partition: number, epoch: number, expectedVersion: number, state: TriggerState): CheckpointWrite {
  return {
    triggerId: t.id,
    workflowId: t.workflowId,
    partition,
    epoch,
    expectedVersion,
    state,
    logs: [{ event: 'TRIGGER_STARTED', level: 'info', message: `written with epoch ${epoch}` }],
  };
}

test('a checkpoint carrying an old epoch is fenced, one with a stale version conflicts, and neither writes its log rows', async (t) => {
  const partition = 7;
  const epoch1 = await bumpPartitionEpoch(env.knex, partition, 'old-owner');
  const a = await makeTrigger(partition);
  const b = await makeTrigger(partition);
  const processing = (s: TriggerState): TriggerState => ({ ...s, status: 'processing' });

  const [first] = await writeCheckpoints(env.knex, [write(a, partition, epoch1, 1, processing(a.state))]);
  t.deepEqual(first, { kind: 'written', version: 2 });

  const epoch2 = await bumpPartitionEpoch(env.knex, partition, 'new-owner');
  t.is(epoch2, epoch1 + 1);
  const outcomes = await writeCheckpoints(env.knex, [
    write(a, partition, epoch1, 2, processing(a.state)), // the old owner, after the takeover
    write(b, partition, epoch2, 5, processing(b.state)), // the new owner with a stale version
    write(b, partition, epoch2, 1, processing(b.state)), // the new owner, right
  ]);
  t.deepEqual(outcomes, [{ kind: 'fenced', currentEpoch: epoch2 }, { kind: 'conflict' }, { kind: 'written', version: 2 }]);

  const rowA = await loadTriggerForRun(env.knex, a.id);
  t.is(rowA?.instance.version, 2, 'the fenced write changed nothing');
  const logsA = await env.knex('execution_logs').where({ trigger_id: a.id, event: 'TRIGGER_STARTED' });
  t.deepEqual(logsA.map((l: { message: string }) => l.message), [`written with epoch ${epoch1}`]);
  const logsB = await env.knex('execution_logs').where({ trigger_id: b.id, event: 'TRIGGER_STARTED' });
  t.is(logsB.length, 1, 'only the written row got its log entry');
});

test('marking triggers published never waits on a row a checkpoint holds: it marks the rest, and the checkpoint records the publish', async (t) => {
  const partition = 8;
  const epoch = await bumpPartitionEpoch(env.knex, partition, 'owner');
  const a = await makeTrigger(partition, { published: false });
  const b = await makeTrigger(partition, { published: false });
  const publishedAt = async (id: string) => ((await env.knex('trigger_instances').where({ id }).first()) as { published_at: Date | null }).published_at;

  // b's first checkpoint is in flight: its transaction holds b's row. Waiting on it here is how
  // the api's mark and a scheduler's checkpoint used to deadlock, each holding a row of the other.
  const inFlight = await env.knex.transaction();
  try {
    const [held] = await writeCheckpoints(inFlight, [write(b, partition, epoch, 1, { ...b.state, status: 'processing' })]);
    t.is(held.kind, 'written');
    await markPublished(env.knex, [a.id, b.id]);
    t.truthy(await publishedAt(a.id));
    t.is(await publishedAt(b.id), null, 'the locked row was skipped, not waited for');
    await inFlight.commit();
  } catch (error) {
    await inFlight.rollback();
    throw error;
  }
  t.truthy(await publishedAt(b.id), 'the checkpoint recorded that the scheduler has the trigger');
});

test('a lease held by one owner is acquired by another only after the first releases it', async (t) => {
  const prefix = `${env.config.redis.prefix}l1:`;
  const first = new LeaseManager(redis, prefix, 3_000, logger);
  const second = new LeaseManager(redis, prefix, 3_000, logger);
  const lost: string[] = [];
  const held = await first.acquire(1, new AbortController().signal, (r) => lost.push(r));
  t.truthy(held);
  let secondHeld = false;
  const waiting = second.acquire(1, new AbortController().signal, () => undefined).then((lease) => {
    secondHeld = true;
    return lease;
  });
  await pollUntil(async () => (await redis.pttl(first.keyFor(1))) > 0);
  t.false(secondHeld, 'the second owner waits');
  await held!.release();
  const lease = await waiting;
  t.true(lease!.isValid());
  await lease!.release();
  t.deepEqual(lost, []);
});

test('a lease whose key disappears from Redis is reported lost', async (t) => {
  const prefix = `${env.config.redis.prefix}l2:`;
  const manager = new LeaseManager(redis, prefix, 1_500, logger);
  const lost: string[] = [];
  const lease = await manager.acquire(2, new AbortController().signal, (r) => lost.push(r));
  await redis.del(manager.keyFor(2));
  await pollUntil(() => lost.length > 0, { what: 'the loss to be noticed' });
  t.false(lease!.isValid());
  await lease!.release();
});

test('due timers are claimed exactly once, even by two pollers at the same moment', async (t) => {
  const wheel = new TimerWheel(redis, `${env.config.redis.prefix}w:`);
  const now = Date.now();
  const entries = Array.from({ length: 200 }, (_, i) => ({ triggerId: `t-${i}`, wakeAtMs: now - 1_000 + i }));
  await wheel.add(3, [...entries, { triggerId: 'later', wakeAtMs: now + 60_000 }]);
  const [x, y] = await Promise.all([wheel.claimDue(3, now + 500, 150), wheel.claimDue(3, now + 500, 150)]);
  const claimed = [...x, ...y].map((e) => e.triggerId);
  t.is(claimed.length, 200);
  t.is(new Set(claimed).size, 200, 'no timer was handed out twice');
  t.is(await wheel.count(3), 1, 'the future timer stays');
});
