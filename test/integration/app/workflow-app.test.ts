import test from 'ava';
import { HeraldError } from '../../../core/errors';
import { createWorkflowApp } from '../../../services/api/app/workflow-app';
import { getActiveWorkflow, getWorkflowVersion } from '../../../services/postgres/workflow-store';
import { createTestEnv, type TestEnv } from '../../support/test-env';
import { makeWorkflow } from './fixtures';

let env: TestEnv;
test.before(async () => {
  env = await createTestEnv('app_workflows');
});
test.after.always(() => env.cleanup());

const app = () => createWorkflowApp({ knex: env.knex, limits: { maxDelayMs: env.config.limits.maxDelayMs } });

function reasonOf(error: unknown): string | undefined {
  return error instanceof HeraldError ? error.reason : undefined;
}

test('a created workflow is inactive at version 1 and reads back exactly as written', async (t) => {
  const definition = makeWorkflow({ retry: { maxAttempts: 5 }, defaultFrom: 'Team <team@example.com>' });
  const created = await app().create(definition);
  t.is(created.version, 1);
  t.false(created.active);
  t.truthy(created.etag);
  const read = await app().get(created.id);
  t.deepEqual(
    { name: read.name, description: read.description, entryNodeId: read.entryNodeId, nodes: read.nodes, edges: read.edges, retry: read.retry, defaultFrom: read.defaultFrom },
    { ...definition },
  );
});

test('an invalid definition is refused with every violation and nothing is stored', async (t) => {
  const error = await t.throwsAsync(
    app().create(
      makeWorkflow({
        name: 'never stored',
        entryNodeId: 'missing',
        edges: [
          { from: 'welcome', to: 'nowhere' },
          { from: 'wait', to: 'wait' },
        ],
      }),
    ),
  );
  t.is(reasonOf(error), 'INVALID_ARGUMENT');
  const reasons = (error as HeraldError).violations.map((v) => v.reason);
  t.true(reasons.includes('ENTRY_NODE_MISSING'));
  t.true(reasons.includes('UNKNOWN_NODE'));
  t.true(reasons.includes('SELF_LOOP'));
  t.is(await env.knex('workflows').where({ name: 'never stored' }).first(), undefined);
  t.deepEqual(app().validate(makeWorkflow()), []);
});

test('of 20 concurrent updates from one etag exactly one succeeds and the version rises by exactly 1', async (t) => {
  const created = await app().create(makeWorkflow());
  const results = await Promise.allSettled(
    Array.from({ length: 20 }, (_, i) => app().update(created.id, makeWorkflow({ name: `rename ${i}` }), created.etag)),
  );
  const ok = results.filter((r) => r.status === 'fulfilled');
  const failed = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
  t.is(ok.length, 1);
  t.true(failed.every((r) => reasonOf(r.reason) === 'ETAG_MISMATCH'));
  const latest = await app().get(created.id);
  t.is(latest.version, 2);
  t.not(latest.etag, created.etag);
  t.is((await app().get(created.id, 1)).name, 'Onboarding');
});

test('a running trigger keeps its pinned version: old versions stay readable after an update', async (t) => {
  const created = await app().create(makeWorkflow());
  const updated = await app().update(created.id, makeWorkflow({ name: 'v2' }), created.etag);
  t.is(updated.version, 2);
  t.is((await getWorkflowVersion(env.knex, created.id, 1)).definition.name, 'Onboarding');
  t.is((await getWorkflowVersion(env.knex, created.id, 2)).definition.name, 'v2');
  const error = await t.throwsAsync(app().get(created.id, 3));
  t.is(reasonOf(error), 'NOT_FOUND');
});

test('activation, deactivation and deletion honour the etag and the active flag', async (t) => {
  const created = await app().create(makeWorkflow());
  t.is(reasonOf(await t.throwsAsync(getActiveWorkflow(env.knex, created.id))), 'WORKFLOW_INACTIVE');
  t.is(reasonOf(await t.throwsAsync(app().activate(created.id, 'stale'))), 'ETAG_MISMATCH');

  const active = await app().activate(created.id, created.etag);
  t.true(active.active);
  t.is((await getActiveWorkflow(env.knex, created.id)).version, 1);
  const again = await app().activate(created.id, active.etag);
  t.is(again.etag, active.etag, 'activating an active workflow changes nothing');

  t.is(reasonOf(await t.throwsAsync(app().delete(created.id, active.etag))), 'WORKFLOW_ACTIVE');
  t.is(reasonOf(await t.throwsAsync(app().deactivate(created.id, created.etag))), 'ETAG_MISMATCH');
  const inactive = await app().deactivate(created.id, active.etag);
  t.false(inactive.active);
  t.is(reasonOf(await t.throwsAsync(app().delete(created.id, active.etag))), 'ETAG_MISMATCH');

  await app().delete(created.id, inactive.etag);
  t.is(reasonOf(await t.throwsAsync(app().get(created.id))), 'NOT_FOUND');
  t.is(reasonOf(await t.throwsAsync(app().delete(created.id, ''))), 'NOT_FOUND');
  t.is((await getWorkflowVersion(env.knex, created.id, 1)).version, 1, 'versions outlive a soft delete');
});

test('a stored workflow that no longer meets the limits cannot be activated', async (t) => {
  const created = await app().create(makeWorkflow({ nodes: [{ id: 'welcome', type: 'DELAY', delay: { duration: 'P10D' } }], edges: [] }));
  const strict = createWorkflowApp({ knex: env.knex, limits: { maxDelayMs: 24 * 3600 * 1000 } });
  const error = await t.throwsAsync(strict.activate(created.id, created.etag));
  t.is(reasonOf(error), 'WORKFLOW_INVALID');
  t.true((error as HeraldError).violations.some((v) => v.path.startsWith('nodes[0].delay')));
});

test('an unknown or malformed workflow id is NOT_FOUND, never a database error', async (t) => {
  for (const id of ['not-a-uuid', '7b0f5a8e-0000-4000-8000-000000000000']) {
    t.is(reasonOf(await t.throwsAsync(app().get(id))), 'NOT_FOUND');
    t.is(reasonOf(await t.throwsAsync(app().update(id, makeWorkflow(), ''))), 'NOT_FOUND');
    t.is(reasonOf(await t.throwsAsync(app().activate(id, ''))), 'NOT_FOUND');
  }
});

test('listing pages through every live workflow once, and a foreign page token is refused', async (t) => {
  const mine = new Set<string>();
  for (let i = 0; i < 7; i += 1) mine.add((await app().create(makeWorkflow({ name: `paged ${i}` }))).id);
  const seen: string[] = [];
  let token = '';
  do {
    const page = await app().list({ pageSize: 3, pageToken: token });
    t.true(page.items.length <= 3);
    seen.push(...page.items.map((w) => w.id));
    token = page.nextPageToken;
  } while (token !== '');
  t.is(new Set(seen).size, seen.length, 'no workflow appears twice');
  for (const id of mine) t.true(seen.includes(id));

  const activeOnly = await app().list({ pageSize: 100, pageToken: '', activeOnly: true });
  t.true(activeOnly.items.every((w) => w.active));

  t.is(reasonOf(await t.throwsAsync(app().list({ pageSize: 3, pageToken: 'garbage!' }))), 'INVALID_PAGE_TOKEN');
  const forged = Buffer.from(JSON.stringify({ t: "1' OR 1=1", i: 'x' })).toString('base64url');
  t.is(reasonOf(await t.throwsAsync(app().list({ pageSize: 3, pageToken: forged }))), 'INVALID_PAGE_TOKEN');
});

test('preview renders every node against the sample and reports problems per node', async (t) => {
  const definition = makeWorkflow({
    nodes: [
      { id: 'welcome', type: 'EMAIL', email: { to: '{{ recipient.email }}', subject: 'Hello {{ payload.name }}', html: '<p>{{ payload.name }}</p>' } },
      { id: 'wait', type: 'DELAY', delay: { until: '{{ payload.when }}' } },
      { id: 'remind', type: 'SMS', sms: { to: '{{ payload.phone }}', body: 'Hi' } },
    ],
  });
  const previews = await app().preview(definition, {
    payload: { name: '<Ada>', when: 'not a time', phone: '12' },
    recipient: { id: 'u1', email: 'ada@example.com' },
  });
  t.deepEqual(previews.map((p) => p.nodeId), ['welcome', 'wait', 'remind']);
  const [email, delay, sms] = previews;
  t.is(email.rendered.to, 'ada@example.com');
  t.is(email.rendered.subject, 'Hello <Ada>');
  t.is(email.rendered.html, '<p>&lt;Ada&gt;</p>');
  t.deepEqual(email.violations, []);
  t.deepEqual(delay.violations.map((v) => [v.path, v.reason]), [['nodes[1].delay.until', 'INVALID_TIMESTAMP']]);
  t.deepEqual(sms.violations.map((v) => [v.path, v.reason]), [['nodes[2].sms.to', 'INVALID_PHONE']]);
  t.deepEqual(sms.rendered, {});
});

test('preview of a malformed node reports its validation violations instead of failing', async (t) => {
  const definition = makeWorkflow({
    nodes: [{ id: 'welcome', type: 'EMAIL' } as never, { id: 'wait', type: 'DELAY', delay: { duration: 'PT1H' } }, { id: 'remind', type: 'SMS', sms: { to: '+15550100', body: 'Hi' } }],
  });
  const [email, delay, sms] = await app().preview(definition, { payload: {}, recipient: { id: 'u1' } });
  t.true(email.violations.length > 0);
  t.true(email.violations.every((v) => v.path.startsWith('nodes[0]')));
  t.truthy(delay.rendered.wake_at);
  t.deepEqual(sms.rendered, { to: '+15550100', body: 'Hi' });
});
