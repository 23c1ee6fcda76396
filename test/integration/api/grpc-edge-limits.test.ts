import test from 'ava';
import * as grpc from '@grpc/grpc-js';
import pino from 'pino';
import type { AdminApp, ClusterApp, TriggerApp, WorkflowApp } from '../../../services/api/app/app-types';
import { startGrpcServer, type RunningGrpcServer } from '../../../services/grpc/server';
import { pollUntil } from '../../support/test-env';
import { bearer, closeClients, collectStream, failure, makeClients, unary, type Clients } from './grpc-harness';

const ADMIN = 'edge-admin-secret';
const OPERATOR = 'edge-operator-secret';
const LEAKY = 'SELECT secret_hash FROM api_keys WHERE password = \'hunter2\'';
const TRIGGER_ID = '00000000-0000-4000-8000-000000000001';

/** Stub apps: just enough behaviour to drive the edge's own limits and error handling. */
function stubApps() {
  const never = () => new Promise<never>(() => undefined);
  const admin = {
    authenticate: async (secret: string) =>
      secret === ADMIN ? { keyId: 'a', role: 'systemAdmin' as const } : secret === OPERATOR ? { keyId: 'o', role: 'triggerOperator' as const } : null,
    listKeys: async () => {
      const error = new Error(`relation failed: ${LEAKY}`);
      (error as Error & { code: string }).code = '42P01';
      throw error;
    },
  } as unknown as AdminApp;
  const triggers = {
    list: never,
    async *watch(id: string, signal: AbortSignal) {
      yield { id: '1', triggerId: id, workflowId: null, event: 'TRIGGER_ACCEPTED', level: 'info', message: 'accepted', createdAt: new Date() };
      await new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }));
    },
  } as unknown as TriggerApp;
  return { admin, triggers, workflows: {} as WorkflowApp, cluster: {} as ClusterApp };
}

let server: RunningGrpcServer;
let clients: Clients;
test.before(async () => {
  server = await startGrpcServer(
    stubApps(),
    { address: '127.0.0.1:0', maxMessageBytes: 1 << 20, maxPayloadBytes: 1024, defaultDeadlineMs: 200, maxConcurrentStreams: 100, maxWatchers: 1, shutdownGraceMs: 1000 },
    pino({ level: 'silent' }),
  );
  clients = makeClients(server.address);
});
test.after.always(async () => {
  if (clients) closeClients(clients);
  await server?.stop();
});

test('an unexpected error becomes INTERNAL without its message, SQL, stack or secrets', async (t) => {
  const error = await failure(unary(clients.admin, clients.admin.listApiKeys, { pageSize: 0, pageToken: '' }, ADMIN));
  t.is(error.code, grpc.status.INTERNAL);
  t.is(error.details, 'internal error');
  t.is(error.errorInfo!.reason, 'INTERNAL');
  t.deepEqual(error.errorInfo!.metadata, {});
  t.is(error.badRequest, undefined);
  const everything = JSON.stringify({ details: error.details, metadata: error.metadata.toJSON(), status: error.status });
  for (const secret of ['hunter2', 'SELECT', 'api_keys', '42P01', 'at ']) t.false(everything.includes(secret), `leaked ${secret}`);
});

test('a call that carries no deadline gets the server default and ends with DEADLINE_EXCEEDED', async (t) => {
  const error = await failure(unary(clients.triggers, clients.triggers.listTriggers, { pageSize: 0, pageToken: '', workflowId: '', status: 0 }, OPERATOR));
  t.is(error.code, grpc.status.DEADLINE_EXCEEDED);
});

/** How a short-lived watch ends: OK, or the status code it failed with. */
function watchOutcome(): Promise<grpc.status> {
  const stream = clients.triggers.watchTrigger({ triggerId: TRIGGER_ID }, bearer(OPERATOR), { deadline: Date.now() + 300 });
  return collectStream(stream).then(
    () => grpc.status.OK,
    (error: grpc.ServiceError) => error.code,
  );
}

test('watchers beyond the cap are refused with RESOURCE_EXHAUSTED, and a freed slot is reusable', async (t) => {
  const first = clients.triggers.watchTrigger({ triggerId: TRIGGER_ID }, bearer(OPERATOR));
  const firstEnded = new Promise<grpc.status>((resolve) => first.on('error', (error: grpc.ServiceError) => resolve(error.code)));
  // The first entry proves the first watch holds the only slot.
  await new Promise((resolve) => first.once('data', resolve));

  t.is(await watchOutcome(), grpc.status.RESOURCE_EXHAUSTED);
  first.cancel();
  t.is(await firstEnded, grpc.status.CANCELLED);
  // Admitted once the server has seen the cancellation; then ended by its own deadline.
  await pollUntil(async () => (await watchOutcome()) === grpc.status.DEADLINE_EXCEEDED, { what: 'the freed watcher slot' });
  t.pass();
});
