import test from 'ava';
import knexFactory from 'knex';
import { RetryableError } from '../../../core/errors';
import { loadProviderConfig } from '../../../services/config/provider-config';
import { createProviders } from '../../../services/providers/create-providers';
import { messageIdFor } from '../../../services/providers/message-id';
import { insertOutboxMessage } from '../../../services/postgres/outbox-store';
import { createTestEnv, type TestEnv } from '../../support/test-env';
import { makeDeliveryContext, makeEmail, makeSms, silentLogger } from './fixtures';

let env: TestEnv;
test.before(async () => {
  env = await createTestEnv('providers_outbox');
});
test.after.always(() => env.cleanup());

function outboxProviders(extra: Record<string, string> = {}) {
  return createProviders(loadProviderConfig({ HERALD_EMAIL_DEFAULT_FROM: 'Herald <demo@herald.test>', ...extra }), {
    knex: env.knex,
    logger: silentLogger,
  });
}

test('with nothing configured both channels use the outbox', (t) => {
  const providers = createProviders(loadProviderConfig({}), { knex: env.knex, logger: silentLogger });
  t.is(providers.email.name, 'outbox');
  t.is(providers.sms.name, 'outbox');
  t.is<unknown, unknown>(providers.email, providers.sms);
});

test('an email is stored once per idempotency key and a re-send gets the same row id', async (t) => {
  const { email } = outboxProviders();
  const context = makeDeliveryContext();

  const first = await email.sendEmail(makeEmail({ from: undefined }), context);
  const again = await email.sendEmail(makeEmail({ from: undefined }), context);

  t.is(first.provider, 'outbox');
  t.is(first.providerMessageId, again.providerMessageId);
  const rows = await env.knex('outbox_messages').where({ trigger_id: context.triggerId });
  t.is(rows.length, 1);
  t.like(rows[0], {
    id: first.providerMessageId,
    idempotency_key: context.idempotencyKey,
    workflow_id: context.workflowId,
    node_id: 'welcome',
    channel: 'email',
  });
  t.deepEqual(rows[0].message, {
    to: 'ada@example.com',
    from: 'Herald <demo@herald.test>',
    reply_to: 'support@herald.test',
    subject: 'Welcome aboard',
    text: 'Hello Ada,\r\nyour account is ready.\r\n',
    message_id: messageIdFor(context.idempotencyKey, 'herald.test'),
  });
});

test('an SMS is stored with its channel, and each attempt of a step is its own row', async (t) => {
  const { sms } = outboxProviders();
  const context = makeDeliveryContext({ nodeId: 'remind' });

  await sms.sendSms(makeSms(), context);
  await sms.sendSms(makeSms(), makeDeliveryContext({ ...context, attempt: 2 }));

  const rows = await env.knex('outbox_messages').where({ trigger_id: context.triggerId }).orderBy('created_at');
  t.is(rows.length, 2);
  t.deepEqual(rows.map((r) => r.channel), ['sms', 'sms']);
  t.deepEqual(rows[0].message, { to: '+15005550006', body: 'Your code is 123456' });
});

test('concurrent sends of the same step store one row and agree on its id', async (t) => {
  const context = makeDeliveryContext();
  const draft = {
    idempotencyKey: context.idempotencyKey,
    triggerId: context.triggerId,
    workflowId: context.workflowId,
    nodeId: context.nodeId,
    channel: 'sms' as const,
    message: { to: '+15005550006', body: 'hi' },
  };
  const results = await Promise.all(Array.from({ length: 8 }, () => insertOutboxMessage(env.knex, draft)));

  t.is(new Set(results.map((r) => r.id)).size, 1);
  t.is(results.filter((r) => r.inserted).length, 1);
  t.is((await env.knex('outbox_messages').where({ trigger_id: context.triggerId })).length, 1);
});

test('an unreachable database makes the outbox send retryable', async (t) => {
  const quiet = { warn() {}, error() {}, debug() {}, deprecate() {} };
  const knex = knexFactory({ client: 'pg', connection: 'postgres://postgres@127.0.0.1:1/none', log: quiet, acquireConnectionTimeout: 5000 });
  t.teardown(() => knex.destroy());
  const { email } = createProviders(loadProviderConfig({}), { knex, logger: silentLogger });

  const error = await t.throwsAsync(email.sendEmail(makeEmail(), makeDeliveryContext()), { instanceOf: RetryableError });
  t.is(error.reason, 'DATABASE_UNAVAILABLE');
});
