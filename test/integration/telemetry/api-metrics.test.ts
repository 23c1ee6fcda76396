import * as grpc from '@grpc/grpc-js';
import { metrics } from '@opentelemetry/api';
import { MeterProvider, MetricReader, type ResourceMetrics } from '@opentelemetry/sdk-metrics';
import test from 'ava';
import { failure, startApiHarness, unary, type ApiHarness } from '../api/grpc-harness';

/** Collects on demand, like a Prometheus scrape. */
class PullReader extends MetricReader {
  protected override async onForceFlush(): Promise<void> {}
  protected override async onShutdown(): Promise<void> {}
}

const reader = new PullReader();
// Registered before the api starts, as the CLI starts the SDK before serving.
metrics.setGlobalMeterProvider(new MeterProvider({ readers: [reader] }));

let harness: ApiHarness;
test.before(async () => {
  harness = await startApiHarness('api_metrics');
});
test.after.always(() => harness?.stop());

const LIST_KEYS = '/herald.v1.AdminService/ListApiKeys';

test('every unary call is measured by method and gRPC status code, refusals included', async (t) => {
  const { clients, keys } = harness;
  await unary(clients.admin, clients.admin.listApiKeys, { pageSize: 10, pageToken: '' }, keys.systemAdmin);
  const refused = await failure(unary(clients.admin, clients.admin.listApiKeys, { pageSize: 10, pageToken: '' }, keys.triggerOperator));
  t.is(refused.code, grpc.status.PERMISSION_DENIED);

  const { resourceMetrics } = (await reader.collect()) as { resourceMetrics: ResourceMetrics };
  const metric = resourceMetrics.scopeMetrics.flatMap((s) => s.metrics).find((m) => m.descriptor.name === 'herald.rpc.server.duration');
  t.truthy(metric, 'herald.rpc.server.duration is exported');
  const points = (metric?.dataPoints ?? []) as Array<{ attributes: Record<string, unknown>; value: { count: number } }>;
  const countOf = (code: grpc.status) => points.find((p) => p.attributes.method === LIST_KEYS && p.attributes.code === code)?.value.count ?? 0;
  t.is(countOf(grpc.status.OK), 1);
  t.is(countOf(grpc.status.PERMISSION_DENIED), 1);
});
