import test from 'ava';
import * as grpc from '@grpc/grpc-js';
import type { Role } from '../../../services/api/app/app-types';
import { AdminServiceService, Role as ProtoRole } from '../../../services/grpc/gen/herald/v1/admin_service';
import { ClusterServiceService } from '../../../services/grpc/gen/herald/v1/cluster_service';
import { TriggerServiceService } from '../../../services/grpc/gen/herald/v1/trigger_service';
import { WorkflowServiceService } from '../../../services/grpc/gen/herald/v1/workflow_service';
import { startApiHarness, unary, type ApiHarness } from './grpc-harness';

const M: Role = 'workflowManager';
const O: Role = 'triggerOperator';
const A: Role = 'systemAdmin';
const W: Role = 'workerService';

/** DESIGN.md's role table, written out per RPC independently of the server's own mapping. */
const ALLOWED: Record<string, Role[]> = {
  '/herald.v1.WorkflowService/CreateWorkflow': [M, A],
  '/herald.v1.WorkflowService/GetWorkflow': [M, A],
  '/herald.v1.WorkflowService/ListWorkflows': [M, A],
  '/herald.v1.WorkflowService/UpdateWorkflow': [M, A],
  '/herald.v1.WorkflowService/DeleteWorkflow': [M, A],
  '/herald.v1.WorkflowService/ActivateWorkflow': [M, A],
  '/herald.v1.WorkflowService/DeactivateWorkflow': [M, A],
  '/herald.v1.WorkflowService/ValidateWorkflow': [M, A],
  '/herald.v1.WorkflowService/PreviewWorkflow': [M, A],
  '/herald.v1.TriggerService/CreateTrigger': [O, A],
  '/herald.v1.TriggerService/BatchCreateTriggers': [O, A],
  '/herald.v1.TriggerService/GetTrigger': [O, A],
  '/herald.v1.TriggerService/ListTriggers': [O, A],
  '/herald.v1.TriggerService/ListExecutionLogs': [M, O, A],
  '/herald.v1.TriggerService/WatchTrigger': [O, A],
  '/herald.v1.TriggerService/CancelTrigger': [O, A],
  '/herald.v1.TriggerService/RetryTrigger': [O, A],
  '/herald.v1.TriggerService/ListOutboxMessages': [O, A],
  '/herald.v1.AdminService/CreateApiKey': [A],
  '/herald.v1.AdminService/ListApiKeys': [A],
  '/herald.v1.AdminService/RevokeApiKey': [A],
  '/herald.v1.ClusterService/Heartbeat': [W],
  '/herald.v1.ClusterService/ListSchedulers': [A],
};

const METHODS = [WorkflowServiceService, TriggerServiceService, AdminServiceService, ClusterServiceService].flatMap((service) =>
  Object.values(service).map((method) => ({ path: method.path, streaming: method.responseStream })),
);

let h: ApiHarness;
let raw: grpc.Client;
const principals: Record<string, string[]> = {};

test.before(async () => {
  h = await startApiHarness('grpc_roles');
  raw = new grpc.Client(h.api.address, grpc.credentials.createInsecure());
  const { admin } = h.clients;
  const doomed = await unary(admin, admin.createApiKey, { role: ProtoRole.ROLE_SYSTEM_ADMIN, description: 'to revoke' }, h.keys.systemAdmin);
  await unary(admin, admin.revokeApiKey, { id: doomed.apiKey!.id }, h.keys.systemAdmin);
  for (const role of [M, O, A, W]) principals[role] = [`Bearer ${h.keys[role]}`];
  principals['no key'] = [];
  principals['malformed key: no scheme'] = [h.keys.systemAdmin];
  principals['malformed key: Basic scheme'] = [`Basic ${h.keys.systemAdmin}`];
  principals['malformed key: empty bearer'] = ['Bearer '];
  principals['malformed key: two credentials'] = [`Bearer ${h.keys.systemAdmin}, Bearer ${h.keys.systemAdmin}`];
  principals['unknown key'] = ['Bearer hk_thisKeyWasNeverIssued0000000000'];
  principals['revoked key'] = [`Bearer ${doomed.secret}`];
});
test.after.always(async () => {
  raw?.close();
  await h?.stop();
});

/** Calls `path` with an empty request; the status code tells whether the call got past auth. */
function probe(path: string, streaming: boolean, authorization: string[]): Promise<grpc.status> {
  const metadata = new grpc.Metadata();
  for (const value of authorization) metadata.add('authorization', value);
  const identity = (b: Buffer) => b;
  return new Promise((resolve) => {
    if (streaming) {
      const stream = raw.makeServerStreamRequest(path, identity, identity, Buffer.alloc(0), metadata, {});
      stream.on('data', () => undefined);
      stream.on('error', (error: grpc.ServiceError) => resolve(error.code));
      stream.on('end', () => resolve(grpc.status.OK));
    } else {
      raw.makeUnaryRequest(path, identity, identity, Buffer.alloc(0), metadata, (error) => resolve(error ? error.code : grpc.status.OK));
    }
  });
}

test('the matrix covers every RPC the contract declares', (t) => {
  t.deepEqual(METHODS.map((m) => m.path).sort(), Object.keys(ALLOWED).sort());
});

for (const role of [M, O, A, W]) {
  test(`role ${role} passes exactly the RPCs its column allows and gets PERMISSION_DENIED on the rest`, async (t) => {
    for (const { path, streaming } of METHODS) {
      const code = await probe(path, streaming, principals[role]);
      if (ALLOWED[path].includes(role)) {
        // An empty request passes auth and then either succeeds (lists) or fails validation.
        t.true([grpc.status.OK, grpc.status.INVALID_ARGUMENT].includes(code), `${role} on ${path}: ${grpc.status[code]}`);
      } else {
        t.is(code, grpc.status.PERMISSION_DENIED, `${role} on ${path}`);
      }
    }
  });
}

for (const who of ['no key', 'malformed key: no scheme', 'malformed key: Basic scheme', 'malformed key: empty bearer', 'malformed key: two credentials', 'unknown key', 'revoked key']) {
  test(`a caller with ${who} gets UNAUTHENTICATED on every RPC`, async (t) => {
    for (const { path, streaming } of METHODS) {
      t.is(await probe(path, streaming, principals[who]), grpc.status.UNAUTHENTICATED, `${who} on ${path}`);
    }
  });
}

test('health and reflection answer without a key', async (t) => {
  const code = await probe('/grpc.health.v1.Health/Check', false, []);
  t.is(code, grpc.status.OK);
});
