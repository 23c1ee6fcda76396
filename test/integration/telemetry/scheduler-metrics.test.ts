import { metrics } from '@opentelemetry/api';
import { MeterProvider, MetricReader, type ResourceMetrics } from '@opentelemetry/sdk-metrics';
import test from 'ava';
import pino from 'pino';
import { triggerIdFor } from '../../../core/trigger/new-trigger';
import { CaptureProvider } from '../../../services/providers';
import { startScheduler, type RunningScheduler } from '../../../services/scheduler/main';
import { createActiveWorkflow, flushPrefix, makeSmsWorkflow, makeTriggerRequest, makeWorkflow, produceToTriggers, waitForTerminal } from '../../support/scheduler-fixtures';
import { createTestEnv, pollUntil, type TestEnv } from '../../support/test-env';

/** Collects on demand, like a Prometheus scrape. */
class PullReader extends MetricReader {
  protected override async onForceFlush(): Promise<void> {}
  protected override async onShutdown(): Promise<void> {}
}

const reader = new PullReader();
// Registered before the scheduler starts, as the CLI starts the SDK before serving.
metrics.setGlobalMeterProvider(new MeterProvider({ readers: [reader] }));

let env: TestEnv;
let scheduler: RunningScheduler;
const capture = new CaptureProvider();

test.before(async () => {
  env = await createTestEnv('metrics', { HERALD_PARTITIONS: '2' });
  scheduler = await startScheduler(env.config, pino({ level: 'silent' }), { providers: { email: capture, sms: capture } });
  await pollUntil(() => scheduler.status().partitions.length === 2, { what: 'the scheduler to own every partition' });
});

test.after.always(async () => {
  await scheduler?.stop();
  await flushPrefix(env.config.redis.url, env.config.redis.prefix);
  await env.cleanup();
});

type Point = { attributes: Record<string, unknown>; value: unknown };

async function pointsOf(name: string): Promise<Point[]> {
  const { resourceMetrics } = (await reader.collect()) as { resourceMetrics: ResourceMetrics };
  for (const scope of resourceMetrics.scopeMetrics) {
    const found = scope.metrics.find((m) => m.descriptor.name === name);
    if (found) return found.dataPoints as Point[];
  }
  return [];
}

const sumWhere = (points: Point[], attrs: Record<string, unknown>) =>
  points.filter((p) => Object.entries(attrs).every(([k, v]) => p.attributes[k] === v)).reduce((sum, p) => sum + Number(p.value), 0);

test('step outcomes, finished triggers, timer lateness and the scheduler gauges are exported as OpenTelemetry metrics', async (t) => {
  const delayed = await createActiveWorkflow(env.knex, makeWorkflow());
  const failing = await createActiveWorkflow(env.knex, makeSmsWorkflow({ retry: { maxAttempts: 2, baseDelayMs: 50, maxDelayMs: 100 } }));
  const requests = [makeTriggerRequest(delayed.id), makeTriggerRequest(failing.id)];
  const ids = requests.map((r) => triggerIdFor(String(r.workflowId), String(r.idempotencyKey)));
  capture.failNext({ triggerId: ids[1], times: 5, kind: 'retryable' });
  await produceToTriggers(env.config, requests.map((r) => ({ key: String(r.idempotencyKey), value: JSON.stringify(r) })));
  const statuses = await waitForTerminal(env.knex, ids);
  t.deepEqual([...ids.map((id) => statuses.get(id))], ['completed', 'failed']);

  const steps = await pointsOf('herald.steps');
  t.is(sumWhere(steps, { outcome: 'succeeded' }), 2, 'the email and the sms of the delayed workflow');
  t.is(sumWhere(steps, { outcome: 'retry_scheduled' }), 1);
  t.is(sumWhere(steps, { outcome: 'failed' }), 1);
  const finished = await pointsOf('herald.triggers.finished');
  t.is(sumWhere(finished, { status: 'completed' }), 1);
  t.is(sumWhere(finished, { status: 'failed' }), 1);

  const lateness = await pointsOf('herald.timer.lateness');
  const histogram = lateness[0]?.value as { count: number; min: number } | undefined;
  t.true((histogram?.count ?? 0) >= 2, 'the delay and the retry backoff fired');
  t.true((histogram?.min ?? -1) >= 0, 'no timer fired early');

  t.is(sumWhere(await pointsOf('herald.scheduler.partitions'), {}), 2);
  t.true(sumWhere(await pointsOf('herald.checkpoint.rows'), { outcome: 'written' }) >= 6);
  t.is(sumWhere(await pointsOf('herald.ingest.messages'), { kind: 'direct' }), 2);
});
