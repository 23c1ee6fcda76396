import test from 'ava';
import { triggerIdFor } from '../../core/trigger/new-trigger';
import { startDeliverySink, type DeliverySink } from '../support/delivery-sink';
import { createActiveWorkflow, flushPrefix, logsOf, makeSmsWorkflow, makeTriggerRequest, produceToTriggers, waitForTerminal } from '../support/scheduler-fixtures';
import { spawnHerald, type HeraldProcess } from '../support/spawn-herald';
import { createTestEnv, pollUntil, type TestEnv } from '../support/test-env';

let env: TestEnv;
let sink: DeliverySink;
const children: HeraldProcess[] = [];
const PARTITIONS = 6;

test.before(async () => {
  env = await createTestEnv('e2e_sched_chaos', { HERALD_PARTITIONS: String(PARTITIONS) });
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
      HERALD_PARTITIONS: String(PARTITIONS),
      HERALD_LEASE_TTL_MS: '3000',
      // The broker's minimum: the victim's partitions move 4 s sooner than with the default.
      HERALD_KAFKA_SESSION_TIMEOUT_MS: '6000',
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

async function owners(): Promise<Map<number, string>> {
  const rows = (await env.knex('partition_leases').whereNotNull('owner')) as Array<{ partition: number; owner: string }>;
  return new Map(rows.map((r) => [r.partition, r.owner]));
}

test('two schedulers run 200 triggers while one is SIGKILLed mid-run: all finish, no step ever runs twice at once', async (t) => {
  const a = await spawnScheduler('chaos-a');
  const b = await spawnScheduler('chaos-b');
  await pollUntil(
    async () => {
      const map = await owners();
      const who = new Set(map.values());
      return map.size === PARTITIONS && who.has('chaos-a') && who.has('chaos-b') && b.countLogs('partition recovered') > 0;
    },
    { timeoutMs: 60_000, what: 'both schedulers to own partitions' },
  );

  // sms -> short delay -> sms: at any moment some triggers are mid-send and some are parked.
  const workflow = await createActiveWorkflow(
    env.knex,
    makeSmsWorkflow({
      entryNodeId: 'first',
      nodes: [
        { id: 'first', type: 'SMS', sms: { to: '{{ recipient.phone }}', body: 'first {{ payload.n }}' } },
        { id: 'pause', type: 'DELAY', delay: { delayMs: 1_500 } },
        { id: 'second', type: 'SMS', sms: { to: '{{ recipient.phone }}', body: 'second {{ payload.n }}' } },
      ],
      edges: [
        { from: 'first', to: 'pause' },
        { from: 'pause', to: 'second' },
      ],
    }),
  );
  // Jittered latency spreads the sends out, so the kill lands on a mix of states, not one burst.
  sink.setLatency(50, 400);
  const requests = Array.from({ length: 200 }, () => makeTriggerRequest(workflow.id));
  const ids = requests.map((r) => triggerIdFor(workflow.id, String(r.idempotencyKey)));
  await produceToTriggers(env.config, requests.map((r) => ({ key: String(r.idempotencyKey), value: JSON.stringify(r) })));

  const victimPartitions = [...(await owners()).entries()].filter(([, owner]) => owner === 'chaos-b').map(([p]) => p);
  await pollUntil(() => sink.delivered().length >= 150, { timeoutMs: 60_000, what: 'the run to be well under way' });
  b.kill('SIGKILL');
  t.log(`SIGKILLed chaos-b (partitions ${victimPartitions.join(',')}) after ${sink.delivered().length} deliveries`);

  const statuses = await waitForTerminal(env.knex, ids, 100_000);
  const notCompleted = [...statuses.entries()].filter(([, s]) => s !== 'completed');
  t.deepEqual(notCompleted, [], 'all 200 triggers completed');

  const overlaps = sink.overlaps();
  t.deepEqual(
    overlaps.map(([x, y]) => `${x.triggerId}:${x.nodeId}#${x.attempt} [${x.start},${x.end}] vs ${y.nodeId}#${y.attempt} [${y.start},${y.end}]`),
    [],
    'no two sends of one trigger overlapped in time',
  );
  const duplicates = sink.duplicateDeliveries();
  const sameKey = sink.delivered().length - new Set(sink.delivered().map((s) => s.idempotencyKey)).size;
  t.log(`duplicate deliveries (a step delivered more than once): ${duplicates}; of which with a repeated idempotency key: ${sameKey}`);
  console.log(`[chaos] duplicate deliveries: ${duplicates} (same idempotency key: ${sameKey}) over ${sink.sends.length} sends`);

  // The survivor took over the victim's partitions with a newer epoch.
  const map = await owners();
  for (const p of victimPartitions) t.is(map.get(p), 'chaos-a', `partition ${p} moved to the survivor`);
  t.true(a.countLogs('partition recovered') > 0);

  // Every trigger's log is consistent: one completion, one success per node.
  for (const id of ids.slice(0, 50)) {
    const logs = await logsOf(env.knex, id);
    t.is(logs.filter((l) => l.event === 'TRIGGER_COMPLETED').length, 1);
    t.is(logs.filter((l) => l.event === 'STEP_SUCCEEDED' && l.nodeId === 'second').length, 1);
  }
});
