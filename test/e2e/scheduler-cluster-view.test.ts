import { createServer, type AddressInfo } from 'node:net';
import test from 'ava';
import { credentials, Metadata } from '@grpc/grpc-js';
import { triggerIdFor } from '../../core/trigger/new-trigger';
import { ClusterServiceClient, type SchedulerInfo } from '../../services/grpc/gen/herald/v1/cluster_service';
import { createApiKey } from '../../services/postgres/api-key-store';
import { createActiveWorkflow, flushPrefix, makeSmsWorkflow, makeTriggerRequest, produceToTriggers, waitForTerminal } from '../support/scheduler-fixtures';
import { spawnHerald, type HeraldProcess } from '../support/spawn-herald';
import { createTestEnv, pollUntil, type TestEnv } from '../support/test-env';

let env: TestEnv;
const children: HeraldProcess[] = [];

test.before(async () => {
  env = await createTestEnv('e2e_sched_cluster', { HERALD_PARTITIONS: '3' });
});

test.after.always(async () => {
  for (const child of children) await child.stop();
  await flushPrefix(env.config.redis.url, env.config.redis.prefix);
  await env.cleanup();
});

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

function listSchedulers(address: string, bearer: string): Promise<SchedulerInfo[]> {
  const client = new ClusterServiceClient(address, credentials.createInsecure());
  const metadata = new Metadata();
  metadata.set('authorization', `Bearer ${bearer}`);
  return new Promise((resolve, reject) => {
    client.listSchedulers({ pageSize: 100, pageToken: '' }, metadata, (error, response) => {
      client.close();
      if (error) reject(error);
      else resolve(response.schedulers);
    });
  });
}

test.serial('`serve all` heartbeats with its workerService key, and ListSchedulers shows its partitions and epochs to an admin', async (t) => {
  const worker = await createApiKey(env.knex, 'workerService', 'e2e scheduler');
  const admin = await createApiKey(env.knex, 'systemAdmin', 'e2e admin');
  const address = `127.0.0.1:${await freePort()}`;
  const all = await spawnHerald(
    'all',
    { ...env.env, HERALD_PARTITIONS: '3', HERALD_GRPC_ADDR: address, HERALD_API_URL: address, HERALD_WORKER_KEY: worker.secret, HERALD_HEARTBEAT_MS: '300', HERALD_SCHEDULER_ID: 'cluster-all' },
    { name: 'all' },
  );
  children.push(all);

  const seen = await pollUntil(
    async () => {
      const schedulers = await listSchedulers(address, admin.secret);
      const me = schedulers.find((s) => s.schedulerId === 'cluster-all');
      return me && me.partitions.length === 3 ? me : null;
    },
    { what: 'the scheduler to appear with all its partitions' },
  );
  t.deepEqual(seen.partitions.map((p) => p.partition).sort(), [0, 1, 2]);
  t.true(seen.partitions.every((p) => p.epoch >= 1));
  t.truthy(seen.startTime);
  t.false(JSON.stringify(all.lines).includes(worker.secret), 'the worker key never reaches a log line');

  // The worker key cannot read the cluster view: that is for admins.
  await t.throwsAsync(listSchedulers(address, worker.secret), { message: /PERMISSION_DENIED|permission/i });
  t.is((await all.stop()).code, 0);
});

test.serial('a scheduler whose heartbeats fail keeps working', async (t) => {
  const nobody = `127.0.0.1:${await freePort()}`;
  const scheduler = await spawnHerald(
    'scheduler',
    { ...env.env, HERALD_PARTITIONS: '3', HERALD_API_URL: nobody, HERALD_WORKER_KEY: 'hk_not_a_real_key_but_long_enough', HERALD_HEARTBEAT_MS: '200', HERALD_SCHEDULER_ID: 'cluster-lonely' },
    { name: 'lonely' },
  );
  children.push(scheduler);
  await scheduler.waitForLog('scheduler heartbeat failed; scheduling continues');
  const workflow = await createActiveWorkflow(env.knex, makeSmsWorkflow());
  const request = makeTriggerRequest(workflow.id);
  await produceToTriggers(env.config, [{ value: JSON.stringify(request) }]);
  const id = triggerIdFor(workflow.id, String(request.idempotencyKey));
  t.is((await waitForTerminal(env.knex, [id], 60_000)).get(id), 'completed');
});
