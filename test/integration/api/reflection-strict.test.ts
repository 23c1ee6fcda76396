import test from 'ava';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { makeWorkflow, startApiHarness, unary, type ApiHarness } from './grpc-harness';

const run = promisify(execFile);
/** Debian's interpreter, where apt's python3-grpcio and python3-protobuf live. */
const DEBIAN_PYTHON = '/usr/bin/python3';
const CLIENT = path.join(import.meta.dirname, 'reflection_client.py');

let h: ApiHarness;
test.before(async () => {
  h = await startApiHarness('grpc_reflection');
});
test.after.always(() => h?.stop());

test('a strict python reflection client resolves every service, Struct and Timestamp, and makes a real call', async (t) => {
  const { workflows } = h.clients;
  const created = await unary(workflows, workflows.createWorkflow, { workflow: makeWorkflow() }, h.keys.workflowManager);
  await unary(workflows, workflows.activateWorkflow, { id: created.workflow!.id, etag: created.workflow!.etag }, h.keys.workflowManager);

  const ready = await run(DEBIAN_PYTHON, ['-c', 'import grpc, google.protobuf']).then(() => true, () => false);
  if (!ready) return t.fail('the strict client needs Debian packages: apt-get install -y python3-grpcio python3-protobuf');
  const { stdout } = await run(DEBIAN_PYTHON, [CLIENT, h.api.address, h.keys.triggerOperator, created.workflow!.id], { timeout: 60_000 });
  const report = JSON.parse(stdout);

  const expected = [
    'grpc.health.v1.Health',
    'grpc.reflection.v1.ServerReflection',
    'grpc.reflection.v1alpha.ServerReflection',
    'herald.v1.AdminService',
    'herald.v1.ClusterService',
    'herald.v1.TriggerService',
    'herald.v1.WorkflowService',
  ];
  t.deepEqual(report.services_v1, expected);
  t.deepEqual(report.services_v1alpha, expected);
  t.deepEqual(report.dependencies['herald/v1/trigger_service.proto'].sort(), [
    'google/protobuf/struct.proto',
    'google/protobuf/timestamp.proto',
    'google/rpc/status.proto',
    'herald/v1/trigger.proto',
  ]);
  t.is(report.payload_type, 'google.protobuf.Struct');
  t.is(report.create_time_type, 'google.protobuf.Timestamp');
  t.deepEqual(report.methods['herald.v1.TriggerService.WatchTrigger'], ['herald.v1.WatchTriggerRequest', 'herald.v1.WatchTriggerResponse']);
  t.is(Object.keys(report.methods).filter((m) => m.startsWith('herald.v1.')).length, 23);

  const trigger = report.create_trigger.trigger;
  t.deepEqual(trigger.payload, { plan: 'pro', seats: 3, tags: ['a', 'b'] });
  t.regex(trigger.createTime, /^\d{4}-\d\d-\d\dT/);
  t.is(trigger.status, 'TRIGGER_STATUS_ENQUEUED');
});
