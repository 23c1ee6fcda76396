import { randomBytes } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import { bearer, readStream, unary } from '../../support/grpc-clients';
import { createTestEnv, type TestEnv } from '../../support/test-env';
import { startApi, type RunningApi } from '../../../services/api/main';
import { createLogger } from '../../../services/telemetry/logger';
import { readStatusDetails } from '../../../services/grpc/edge/error-mapping';
import { AdminServiceClient, Role } from '../../../services/grpc/gen/herald/v1/admin_service';
import { ClusterServiceClient } from '../../../services/grpc/gen/herald/v1/cluster_service';
import { TriggerServiceClient } from '../../../services/grpc/gen/herald/v1/trigger_service';
import { WorkflowServiceClient } from '../../../services/grpc/gen/herald/v1/workflow_service';
import type { Workflow } from '../../../services/grpc/gen/herald/v1/workflow';
import { NodeType } from '../../../services/grpc/gen/herald/v1/workflow';
import type { Role as DomainRole } from '../../../services/api/app/app-types';

export interface Clients {
  workflows: WorkflowServiceClient;
  triggers: TriggerServiceClient;
  admin: AdminServiceClient;
  cluster: ClusterServiceClient;
}

export interface ApiHarness {
  env: TestEnv;
  api: RunningApi;
  clients: Clients;
  /** A secret per role, created through AdminService with the bootstrap key. */
  keys: Record<DomainRole, string>;
  stop(): Promise<void>;
}

export { bearer, readStream as collectStream, unary };

/** The ServiceError of a call that must fail, with its decoded rich status. */
export async function failure(promise: Promise<unknown>): Promise<grpc.ServiceError & ReturnType<typeof readStatusDetails>> {
  try {
    await promise;
  } catch (error) {
    const serviceError = error as grpc.ServiceError;
    return Object.assign(serviceError, readStatusDetails(serviceError));
  }
  throw new Error('the call succeeded but was expected to fail');
}

export function makeClients(address: string, options: grpc.ClientOptions = {}): Clients {
  const credentials = grpc.credentials.createInsecure();
  return {
    workflows: new WorkflowServiceClient(address, credentials, options),
    triggers: new TriggerServiceClient(address, credentials, options),
    admin: new AdminServiceClient(address, credentials, options),
    cluster: new ClusterServiceClient(address, credentials, options),
  };
}

export function closeClients(clients: Clients): void {
  for (const client of Object.values(clients)) client.close();
}

const ROLE_OF: Record<DomainRole, Role> = {
  workflowManager: Role.ROLE_WORKFLOW_MANAGER,
  triggerOperator: Role.ROLE_TRIGGER_OPERATOR,
  systemAdmin: Role.ROLE_SYSTEM_ADMIN,
  workerService: Role.ROLE_WORKER_SERVICE,
};

/** A real api (Postgres, Kafka, gRPC on an ephemeral port) in its own schema and topic prefix. */
export async function startApiHarness(name: string, overrides: Record<string, string> = {}): Promise<ApiHarness> {
  const bootstrap = `hk_test_${randomBytes(24).toString('base64url')}`;
  const env = await createTestEnv(name, {
    HERALD_GRPC_ADDR: '127.0.0.1:0',
    HERALD_BOOTSTRAP_ADMIN_KEY: bootstrap,
    HERALD_PARTITIONS: '3',
    ...overrides,
  });
  const logger = createLogger(env.config.logLevel, `test-${name}`);
  const api = await startApi(env.config, logger);
  const clients = makeClients(api.address);
  const keys = { systemAdmin: bootstrap } as Record<DomainRole, string>;
  for (const role of Object.keys(ROLE_OF) as DomainRole[]) {
    const created = await unary(clients.admin, clients.admin.createApiKey, { role: ROLE_OF[role], description: `test ${role}` }, bootstrap);
    keys[role] = created.secret;
  }
  return {
    env,
    api,
    clients,
    keys,
    async stop() {
      closeClients(clients);
      await api.stop();
      await env.cleanup();
    },
  };
}

/** A valid three-node workflow: email, then a delay, then an SMS only for pro plans. */
export function makeWorkflow(overrides: Partial<Workflow> = {}): Workflow {
  return {
    id: '',
    name: 'welcome',
    description: 'welcome series',
    version: 0,
    active: false,
    entryNodeId: 'welcome_email',
    nodes: [
      {
        id: 'welcome_email',
        type: NodeType.NODE_TYPE_EMAIL,
        config: {
          $case: 'email',
          email: { to: '{{ recipient.email }}', subject: 'Hi {{ payload.name }}', text: 'Welcome, {{ payload.name }}!', html: '', from: '', replyTo: '' },
        },
      },
      { id: 'wait', type: NodeType.NODE_TYPE_DELAY, config: { $case: 'delay', delay: { delay: { $case: 'duration', duration: 'PT1S' } } } },
      { id: 'nudge_sms', type: NodeType.NODE_TYPE_SMS, config: { $case: 'sms', sms: { to: '{{ recipient.phone }}', body: 'Still there, {{ payload.name }}?' } } },
    ],
    edges: [
      { from: 'welcome_email', to: 'wait', condition: '' },
      { from: 'wait', to: 'nudge_sms', condition: 'payload.plan == "pro"' },
    ],
    retry: { maxAttempts: 3, baseDelayMs: 100, maxDelayMs: 1000 },
    defaultFrom: 'Herald <noreply@example.test>',
    defaultReplyTo: '',
    etag: '',
    ...overrides,
  };
}

export function makeRecipient(id = 'user-1') {
  return { id, email: `${id}@example.test`, phone: '+15555550100', locale: 'en-GB', timezone: 'Europe/London' };
}
