import test from 'ava';
import { triggerIdFor } from '../../../core/trigger/new-trigger';
import { CaptureProvider } from '../../../services/providers';
import type { RunningScheduler } from '../../../services/scheduler/main';
import { createActiveWorkflow, flushPrefix, makeTriggerRequest, makeWorkflow, produceToTriggers, startCapturingScheduler, waitForTerminal } from '../../support/scheduler-fixtures';
import { createTestEnv, pollUntil, type TestEnv } from '../../support/test-env';

let env: TestEnv;
let scheduler: RunningScheduler;
const capture = new CaptureProvider();
const schedulerId = `db-loss-${process.pid}-${Date.now()}`;

test.before(async () => {
  env = await createTestEnv('sched_db_loss', { HERALD_PARTITIONS: '3', HERALD_LEASE_TTL_MS: '3000', HERALD_SCHEDULER_ID: schedulerId });
  scheduler = await startCapturingScheduler(env.config, capture);
});

test.after.always(async () => {
  await scheduler?.stop();
  await flushPrefix(env.config.redis.url, env.config.redis.prefix);
  await env.cleanup();
});

/** What a failover or an operator's pg_terminate_backend does: every session of this scheduler dies at once. */
async function terminateSchedulerSessions(): Promise<number> {
  const result = await env.knex.raw<{ rows: Array<{ n: number }> }>(
    'SELECT count(pg_terminate_backend(pid))::int AS n FROM pg_stat_activity WHERE application_name = ?',
    [`herald-scheduler ${schedulerId}`],
  );
  return result.rows[0]!.n;
}

test('when Postgres drops every scheduler session mid-run, twice, every trigger still completes with each step delivered', async (t) => {
  const definition = makeWorkflow();
  const workflow = await createActiveWorkflow(env.knex, {
    ...definition,
    nodes: definition.nodes.map((n) => (n.type === 'DELAY' ? { ...n, delay: { delayMs: 300 } } : n)),
  });
  const requests = Array.from({ length: 40 }, () => makeTriggerRequest(workflow.id));
  const ids = requests.map((r) => triggerIdFor(workflow.id, String(r.idempotencyKey)));
  const delivered = () => capture.attempts.filter((a) => a.outcome === 'delivered' && ids.includes(a.context.triggerId)).length;
  await produceToTriggers(env.config, requests.map((r) => ({ key: String(r.idempotencyKey), value: JSON.stringify(r) })));

  await pollUntil(() => delivered() >= 10, { what: 'the first deliveries' });
  const first = await terminateSchedulerSessions();
  await pollUntil(() => delivered() >= 45, { what: 'deliveries after the first loss' });
  const second = await terminateSchedulerSessions();
  t.true(first > 0 && second > 0, `sessions terminated: ${first}, then ${second}`);

  const statuses = await waitForTerminal(env.knex, ids);
  t.deepEqual([...new Set(ids.map((id) => statuses.get(id)))], ['completed']);
  for (const id of ids) {
    const nodes = new Set(capture.deliveriesFor({ triggerId: id }).map((d) => d.context.nodeId));
    t.deepEqual([...nodes].sort(), ['remind', 'welcome'], `trigger ${id} delivered both steps`);
  }
  // A step whose result checkpoint died with its session is sent again, under the same key.
  const sends = ids.flatMap((id) => capture.deliveriesFor({ triggerId: id }));
  t.log(`${sends.length} sends for ${ids.length * 2} steps after two session losses`);
  t.is(new Set(sends.map((s) => s.context.idempotencyKey)).size, ids.length * 2, 'every re-send reused its step\'s idempotency key');
  t.is(scheduler.status().partitions.length, 3, 'the scheduler kept its partitions');
});
