import test from 'ava';
import pino from 'pino';
import type { DeliveryContext, DeliveryResult, EmailProvider, SmsProvider } from '../../../core/ports/providers';
import type { RenderedEmail, RenderedSms } from '../../../core/trigger/planner-types';
import { triggerIdFor } from '../../../core/trigger/new-trigger';
import { startScheduler, type RunningScheduler } from '../../../services/scheduler/main';
import { createActiveWorkflow, flushPrefix, logsOf, makeSmsWorkflow, makeTriggerRequest, produceToTriggers, triggerStatuses, waitForTerminal } from '../../support/scheduler-fixtures';
import { createTestEnv, pollUntil, type TestEnv } from '../../support/test-env';

/** A provider the test controls: per-trigger gates, a recorded concurrency high-water mark. */
class GatedProvider implements EmailProvider, SmsProvider {
  readonly name = 'gated';
  readonly sent: DeliveryContext[] = [];
  inFlight = 0;
  maxInFlight = 0;
  private readonly gates = new Map<string, { promise: Promise<void>; open: () => void }>();
  constructor(private readonly latencyMs = 0) {}

  hold(triggerId: string): void {
    let open!: () => void;
    const promise = new Promise<void>((resolve) => (open = resolve));
    this.gates.set(triggerId, { promise, open });
  }
  release(triggerId: string): void {
    this.gates.get(triggerId)?.open();
    this.gates.delete(triggerId);
  }
  sendEmail(_m: RenderedEmail, ctx: DeliveryContext, signal?: AbortSignal) {
    return this.send(ctx, signal);
  }
  sendSms(_m: RenderedSms, ctx: DeliveryContext, signal?: AbortSignal) {
    return this.send(ctx, signal);
  }
  private async send(ctx: DeliveryContext, signal?: AbortSignal): Promise<DeliveryResult> {
    this.inFlight += 1;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    try {
      const gate = this.gates.get(ctx.triggerId);
      const aborted = new Promise<never>((_, reject) => signal?.addEventListener('abort', () => reject(new Error('aborted')), { once: true }));
      if (gate) await Promise.race([gate.promise, aborted]);
      if (this.latencyMs > 0) await new Promise((resolve) => setTimeout(resolve, this.latencyMs));
      this.sent.push(ctx);
      return { provider: this.name, providerMessageId: ctx.idempotencyKey };
    } finally {
      this.inFlight -= 1;
    }
  }
}

const envs: TestEnv[] = [];
const schedulers: RunningScheduler[] = [];
const logger = pino({ level: process.env.HERALD_LOG_LEVEL ?? 'silent' });

test.after.always(async () => {
  for (const s of schedulers) await s.stop();
  for (const env of envs) {
    await flushPrefix(env.config.redis.url, env.config.redis.prefix);
    await env.cleanup();
  }
});

async function start(name: string, provider: GatedProvider, overrides: Record<string, string> = {}) {
  const env = await createTestEnv(name, { HERALD_PARTITIONS: '1', HERALD_LEASE_TTL_MS: '3000', ...overrides });
  envs.push(env);
  const scheduler = await startScheduler(env.config, logger, { providers: { email: provider, sms: provider } });
  schedulers.push(scheduler);
  await pollUntil(() => scheduler.status().partitions.length === 1, { what: 'the partition to be owned' });
  return { env, scheduler };
}

async function sendAll(env: TestEnv, requests: Array<Record<string, unknown>>): Promise<string[]> {
  await produceToTriggers(env.config, requests.map((r) => ({ value: JSON.stringify(r) })));
  return requests.map((r) => triggerIdFor(String(r.workflowId), String(r.idempotencyKey)));
}

test('a provider call that hangs for one trigger does not hold up the others in the same partition', async (t) => {
  const provider = new GatedProvider();
  const { env } = await start('sched_hol', provider);
  const workflow = await createActiveWorkflow(env.knex, makeSmsWorkflow());
  const slow = makeTriggerRequest(workflow.id);
  const slowId = triggerIdFor(workflow.id, String(slow.idempotencyKey));
  provider.hold(slowId);
  await sendAll(env, [slow]);
  await pollUntil(() => provider.inFlight === 1, { what: 'the slow send to start' });

  const others = await sendAll(env, Array.from({ length: 20 }, () => makeTriggerRequest(workflow.id)));
  const statuses = await waitForTerminal(env.knex, others);
  t.true([...statuses.values()].every((s) => s === 'completed'), 'the other 20 finished behind no one');
  t.is((await triggerStatuses(env.knex, [slowId])).get(slowId), 'processing', 'the slow one is still in its send');

  provider.release(slowId);
  t.is((await waitForTerminal(env.knex, [slowId])).get(slowId), 'completed');
});

test('actors in memory are bounded by HERALD_MAX_ACTORS, and parked triggers leave memory', async (t) => {
  const provider = new GatedProvider(30);
  const { env, scheduler } = await start('sched_bound', provider, { HERALD_MAX_ACTORS: '4' });
  const workflow = await createActiveWorkflow(
    env.knex,
    makeSmsWorkflow({
      nodes: [
        { id: 'ping', type: 'SMS', sms: { to: '{{ recipient.phone }}', body: 'ping' } },
        { id: 'nap', type: 'DELAY', delay: { delayMs: 60_000 } },
      ],
      edges: [{ from: 'ping', to: 'nap' }],
    }),
  );
  const ids = await sendAll(env, Array.from({ length: 40 }, () => makeTriggerRequest(workflow.id)));
  await pollUntil(async () => {
    const parked = await env.knex('execution_logs').whereIn('trigger_id', ids).andWhere({ event: 'DELAY_SCHEDULED' });
    return parked.length === ids.length;
  }, { what: 'all 40 to send and park' });
  t.true(provider.maxInFlight <= 4, `at most 4 sends at once (saw ${provider.maxInFlight})`);
  t.is(provider.sent.length, 40);
  await pollUntil(() => scheduler.status().actorsInMemory === 0, { what: 'parked actors to leave memory' });
  await pollUntil(() => scheduler.status().parkedTimers === 40, { what: 'the 40 timers to be counted as parked' });
  t.pass();
});

test('a step that was started but never finished is re-sent on recovery with the same idempotency key', async (t) => {
  const first = new GatedProvider();
  const { env, scheduler } = await start('sched_recover', first);
  const workflow = await createActiveWorkflow(env.knex, makeSmsWorkflow());
  const request = makeTriggerRequest(workflow.id);
  const id = triggerIdFor(workflow.id, String(request.idempotencyKey));
  first.hold(id);
  await sendAll(env, [request]);
  await pollUntil(() => first.inFlight === 1, { what: 'the send to be in flight' });
  // The owner goes away mid-send; its drain deadline aborts the send, so "started" is all Postgres has.
  await scheduler.stop();
  t.is(first.sent.length, 0);
  const row = await env.knex('trigger_instances').where({ id }).first();
  t.is(row.cursor.steps.ping.status, 'running');

  const second = new GatedProvider();
  const next = await startScheduler(env.config, logger, { providers: { email: second, sms: second } });
  schedulers.push(next);
  t.is((await waitForTerminal(env.knex, [id])).get(id), 'completed');
  t.deepEqual(second.sent.map((c) => [c.idempotencyKey, c.attempt]), [[`${id}:ping:1-1`, 1]]);
  const started = (await logsOf(env.knex, id)).filter((l) => l.event === 'STEP_STARTED');
  t.is(started.length, 1, 'the re-send is the same attempt, not a new one');
});
