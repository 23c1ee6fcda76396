import test from 'ava';
import { HeraldError } from '../../../core/errors';
import { createAdminApp, type AdminAppService } from '../../../services/api/app/admin-app';
import { createClusterApp } from '../../../services/api/app/cluster-app';
import { createTestEnv, type TestEnv } from '../../support/test-env';
import { countQueries } from './fixtures';

let env: TestEnv;
let admin: AdminAppService;
test.before(async () => {
  env = await createTestEnv('app_admin');
  admin = createAdminApp({ knex: env.knex });
});
test.after.always(async () => {
  await admin?.close();
  await env.cleanup();
});

const reasonOf = (error: unknown) => (error instanceof HeraldError ? error.reason : undefined);

test('a new key authenticates with its role, and only its hash is stored', async (t) => {
  const { key, secret } = await admin.createKey('triggerOperator', 'ci');
  t.regex(secret, /^hk_[0-9a-f]{32}_[A-Za-z0-9_-]{43}$/);
  t.deepEqual(await admin.authenticate(secret), { keyId: key.id, role: 'triggerOperator' });
  const row = await env.knex('api_keys').where({ id: key.id }).first();
  t.is(row.secret_hash.length, 32);
  t.false(JSON.stringify(row).includes(secret.slice(-43)), 'the secret is not stored');
  t.false(JSON.stringify(key).includes(secret.slice(-43)), 'the key view carries no secret');
});

test('a revoked key stops authenticating at once', async (t) => {
  const { key, secret } = await admin.createKey('systemAdmin', 'to revoke');
  t.truthy(await admin.authenticate(secret));
  const revoked = await admin.revokeKey(key.id);
  t.truthy(revoked.revokedAt);
  t.is(await admin.authenticate(secret), null);
  t.deepEqual((await admin.revokeKey(key.id)).revokedAt, revoked.revokedAt, 'revoking twice keeps the first time');
  t.is(reasonOf(await t.throwsAsync(admin.revokeKey('9c2d2f7e-8f1e-4b5a-9d1c-3f2a1b0c9d8e'))), 'NOT_FOUND');
});

test('missing, malformed, unknown and tampered keys do not authenticate', async (t) => {
  const { secret } = await admin.createKey('workflowManager', '');
  const tampered = `${secret.slice(0, -1)}${secret.endsWith('A') ? 'B' : 'A'}`;
  const unknownId = `hk_${'0'.repeat(32)}_${secret.slice(-43)}`;
  for (const bearer of ['', 'hk_', 'Bearer x', 'hk_zz_yy', tampered, unknownId, 'short']) {
    t.is(await admin.authenticate(bearer), null, JSON.stringify(bearer));
  }
});

test.serial('concurrent authentications share their lookups', async (t) => {
  const { secret } = await admin.createKey('triggerOperator', 'burst');
  const selects = countQueries(env.knex, /from "api_keys"/i);
  const principals = await Promise.all(Array.from({ length: 100 }, () => admin.authenticate(secret)));
  selects.stop();
  t.true(principals.every((p) => p?.role === 'triggerOperator'));
  t.true(selects.count() < 20, `${selects.count()} selects`);
});

test('the bootstrap key is ensured idempotently, in Herald format or an operator-chosen one', async (t) => {
  for (const bootstrap of [`hk_${'ab'.repeat(16)}_${'Q'.repeat(43)}`, 'operator-chosen-bootstrap-secret-123']) {
    await admin.ensureBootstrapKey(bootstrap);
    await admin.ensureBootstrapKey(bootstrap);
    const principal = await admin.authenticate(bootstrap);
    t.is(principal?.role, 'systemAdmin');
    t.is((await env.knex('api_keys').where({ id: principal!.keyId })).length, 1);
  }
  t.is(reasonOf(await t.throwsAsync(admin.ensureBootstrapKey('weak'))), 'INVALID_ARGUMENT');
});

test('a revoked bootstrap key stays revoked across restarts', async (t) => {
  const bootstrap = 'another-operator-chosen-secret-456';
  await admin.ensureBootstrapKey(bootstrap);
  const principal = await admin.authenticate(bootstrap);
  await admin.revokeKey(principal!.keyId);
  await admin.ensureBootstrapKey(bootstrap);
  t.is(await admin.authenticate(bootstrap), null);
});

test('keys list page by page, and an unknown role is refused', async (t) => {
  for (let i = 0; i < 4; i += 1) await admin.createKey('workerService', `page ${i}`);
  const seen: string[] = [];
  let token = '';
  do {
    const page = await admin.listKeys({ pageSize: 2, pageToken: token });
    seen.push(...page.items.map((k) => k.id));
    token = page.nextPageToken;
  } while (token !== '');
  t.is(new Set(seen).size, seen.length);
  t.true(seen.length >= 4);
  t.is(reasonOf(await t.throwsAsync(admin.createKey('root' as never, ''))), 'INVALID_ARGUMENT');
});

test('scheduler heartbeats upsert one row per scheduler and list with their status', async (t) => {
  const cluster = createClusterApp({ knex: env.knex });
  const startedAt = new Date('2024-01-01T00:00:00.000Z');
  const base = { schedulerId: 'sched-a', partitions: [{ partition: 0, epoch: 3 }], actorsInMemory: 1, parkedTimers: 2, consumerLag: 0, startedAt };
  await cluster.heartbeat(base);
  await cluster.heartbeat({ ...base, actorsInMemory: 7, partitions: [{ partition: 0, epoch: 3 }, { partition: 4, epoch: 1 }] });
  await cluster.heartbeat({ ...base, schedulerId: 'sched-b', partitions: [] });
  const listed = await cluster.listSchedulers();
  t.deepEqual(listed.map((s) => s.schedulerId), ['sched-a', 'sched-b']);
  t.like(listed[0], { actorsInMemory: 7, parkedTimers: 2, partitions: [{ partition: 0, epoch: 3 }, { partition: 4, epoch: 1 }] });
  t.deepEqual(listed[0].startedAt, startedAt);
  t.true(listed[0].lastSeenAt instanceof Date);
});
