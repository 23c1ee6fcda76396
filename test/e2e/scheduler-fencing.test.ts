import test from 'ava';
import { triggerIdFor } from '../../core/trigger/new-trigger';
import { startDeliverySink, type DeliverySink } from '../support/delivery-sink';
import { createActiveWorkflow, flushPrefix, logsOf, makeSmsWorkflow, makeTriggerRequest, produceToTriggers, waitForTerminal } from '../support/scheduler-fixtures';
import { spawnHerald, type HeraldProcess } from '../support/spawn-herald';
import { createTestEnv, pollUntil, type TestEnv } from '../support/test-env';

let env: TestEnv;
let sink: DeliverySink;
const children: HeraldProcess[] = [];

test.before(async () => {
  env = await createTestEnv('e2e_sched_fence', { HERALD_PARTITIONS: '3' });
  sink = await startDeliverySink();
});

test.after.always(async () => {
  for (const child of children) await child.stop();
  await sink?.close();
  await flushPrefix(env.config.redis.url, env.config.redis.prefix);
  await env.cleanup();
});

function spawnScheduler(id: string): Promise<HeraldProcess> {
  return spawnHerald(
    'scheduler',
    {
      ...env.env,
      HERALD_PARTITIONS: '3',
      HERALD_LEASE_TTL_MS: '3000',
      HERALD_SCHEDULER_ID: id,
      HERALD_SMS_PROVIDER: 'webhook',
      HERALD_SMS_WEBHOOK_URL: sink.url,
      HERALD_SMS_WEBHOOK_SECRET: 'e2e-secret',
    },
    { name: id },
  ).then((child) => {
    children.push(child);
    return child;
  });
}

const leaseOwners = async () =>
  new Map(((await env.knex('partition_leases')) as Array<{ partition: number; owner: string | null; epoch: number }>).map((r) => [r.partition, r]));

test('a SIGSTOPped scheduler whose partitions moved is resumed, and every write it then attempts is rejected by the epoch fence', async (t) => {
  const stale = await spawnScheduler('fence-stale');
  await pollUntil(() => stale.countLogs('partition recovered') >= 3, { what: 'the first scheduler to own every partition' });
  const epochsBefore = await leaseOwners();

  const workflow = await createActiveWorkflow(env.knex, makeSmsWorkflow());
  const requests = Array.from({ length: 30 }, () => makeTriggerRequest(workflow.id));
  const ids = requests.map((r) => triggerIdFor(workflow.id, String(r.idempotencyKey)));
  // Slow answers: when the process is frozen, its sends are in flight, and their answers wait in its sockets.
  sink.setLatency(800);
  await produceToTriggers(env.config, requests.map((r) => ({ value: JSON.stringify(r) })));
  await pollUntil(() => sink.inFlight() >= 10, { what: 'sends in flight' });
  stale.kill('SIGSTOP');
  const frozenAt = Date.now();

  // A second scheduler takes the partitions once the frozen member leaves the group and its leases expire.
  sink.setLatency(0);
  const fresh = await spawnScheduler('fence-fresh');
  const finals = await waitForTerminal(env.knex, ids, 90_000);
  t.true([...finals.values()].every((s) => s === 'completed'), 'the new owner finished every trigger');
  const owners = await leaseOwners();
  for (const [partition, row] of owners) {
    t.is(row.owner, 'fence-fresh');
    t.true(row.epoch > (epochsBefore.get(partition)?.epoch ?? 0), `partition ${partition} has a newer epoch`);
  }
  const snapshot = await env.knex('trigger_instances').whereIn('id', ids).select('id', 'version', 'status');
  const logCount = Number((await env.knex('execution_logs').whereIn('trigger_id', ids).count('* as n'))[0].n);

  // Resume the stale process: its in-flight sends complete and it tries to record them.
  const linesBefore = stale.lines.length;
  stale.kill('SIGCONT');
  const fenced = await stale.waitForLog('checkpoint fenced', { after: linesBefore, timeoutMs: 30_000 });
  t.log(`stale scheduler frozen for ${Date.now() - frozenAt} ms; first rejected write: ${JSON.stringify(fenced)}`);
  await stale.waitForLog((l) => l.msg === 'partition lost' || l.msg === 'partition lease lost', { after: linesBefore });
  t.true(Number(fenced.currentEpoch) > Number(fenced.myEpoch), 'the rejected write carried an older epoch');
  await pollUntil(() => stale.lines.slice(linesBefore).filter((l) => l.msg === 'partition released').length >= 3, {
    what: 'the stale process to give up all three partitions',
  });

  // Nothing it did reached Postgres: same versions, same statuses, no extra log rows.
  t.deepEqual(await env.knex('trigger_instances').whereIn('id', ids).select('id', 'version', 'status'), snapshot);
  t.is(Number((await env.knex('execution_logs').whereIn('trigger_id', ids).count('* as n'))[0].n), logCount);
  for (const id of ids) {
    const logs = await logsOf(env.knex, id);
    t.is(logs.filter((l) => l.event === 'STEP_SUCCEEDED').length, 1);
    t.is(logs.filter((l) => l.event === 'TRIGGER_COMPLETED').length, 1);
  }
  const fencedCount = stale.countLogs('checkpoint fenced');
  t.log(`fenced (rejected) writes logged by the stale scheduler: ${fencedCount}`);
  t.true(fresh.isRunning());
});
