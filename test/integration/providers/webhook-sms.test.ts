import test from 'ava';
import { RetryableError, TerminalError } from '../../../core/errors';
import type { SmsProvider } from '../../../core/ports/providers';
import { loadProviderConfig } from '../../../services/config/provider-config';
import { createProviders } from '../../../services/providers/create-providers';
import { signWebhookBody, verifyWebhookSignature } from '../../../services/providers/webhook-signature';
import { startHttpSink, type HttpSink } from '../../support/http-sink';
import { makeDeliveryContext, makeSms, silentLogger } from './fixtures';

const SECRET = 'whsec-do-not-leak';

const sinks: HttpSink[] = [];
test.after.always(async () => {
  for (const sink of sinks) await sink.close();
});

async function startSink(): Promise<HttpSink> {
  const sink = await startHttpSink();
  sinks.push(sink);
  return sink;
}

function webhook(url: string): SmsProvider {
  const config = loadProviderConfig({ HERALD_SMS_PROVIDER: 'webhook', HERALD_SMS_WEBHOOK_URL: url, HERALD_SMS_WEBHOOK_SECRET: SECRET });
  return createProviders(config, { knex: undefined as never, logger: silentLogger }).sms;
}

test('an SMS is POSTed as JSON with the step identity, an Idempotency-Key and a signature that verifies', async (t) => {
  const sink = await startSink();
  const context = makeDeliveryContext({ attempt: 2, run: 3 });

  const result = await webhook(sink.webhookUrl).sendSms(makeSms(), context);

  t.is(sink.requests.length, 1);
  const request = sink.requests[0];
  t.is(request.path, '/sms-webhook');
  t.regex(String(request.headers['content-type']), /^application\/json/);
  t.is(request.headers['idempotency-key'], context.idempotencyKey);
  t.deepEqual(request.json, {
    to: '+15005550006',
    body: 'Your code is 123456',
    trigger_id: context.triggerId,
    workflow_id: context.workflowId,
    node_id: 'welcome',
    attempt: 2,
    run: 3,
    idempotency_key: `${context.triggerId}:welcome:2-3`,
  });
  const signature = String(request.headers['herald-signature']);
  t.regex(signature, /^t=\d+,v1=[0-9a-f]{64}$/);
  t.true(verifyWebhookSignature(SECRET, signature, request.rawBody));
  t.false(verifyWebhookSignature('another-secret', signature, request.rawBody));
  t.false(verifyWebhookSignature(SECRET, signature, request.rawBody.replace('123456', '654321')));
  t.is(result.provider, 'webhook');
  t.regex(result.providerMessageId ?? '', /^wh_[0-9a-f]{12}$/);
});

test('a signature outside the tolerance is rejected, so an old request cannot be replayed', (t) => {
  const body = '{"to":"+15005550006"}';
  const signedAt = Date.UTC(2030, 0, 1);
  const header = signWebhookBody(SECRET, body, signedAt);
  t.true(verifyWebhookSignature(SECRET, header, body, 300, signedAt + 299_000));
  t.false(verifyWebhookSignature(SECRET, header, body, 300, signedAt + 301_000));
  t.false(verifyWebhookSignature(SECRET, header, body, 300, new Date(signedAt - 301_000)));
});

test('malformed signature headers never verify', (t) => {
  const body = '{}';
  for (const header of [undefined, '', 't=1', 'v1=abc', 't=x,v1=' + 'a'.repeat(64), 'garbage']) {
    t.false(verifyWebhookSignature(SECRET, header, body, 300, 1000), String(header));
  }
  const now = Date.now();
  const good = signWebhookBody(SECRET, body, now);
  const rotated = `${good},v1=${'0'.repeat(64)}`;
  t.true(verifyWebhookSignature(SECRET, rotated, body, 300, now), 'any one matching v1 entry is enough');
});

test('a 5xx from the receiver is retryable and a 422 terminal, without the secret in the error', async (t) => {
  const sink = await startSink();
  const provider = webhook(sink.webhookUrl);

  sink.respondNext({ status: 500, body: JSON.stringify({ error: 'db_down', message: `cannot verify with ${SECRET}` }) });
  const retryable = await t.throwsAsync(provider.sendSms(makeSms(), makeDeliveryContext()), { instanceOf: RetryableError });
  t.is(retryable.reason, 'PROVIDER_UNAVAILABLE');
  t.is(retryable.metadata.provider_code, 'db_down');
  t.false(JSON.stringify({ m: retryable.message, d: retryable.metadata }).includes(SECRET));

  sink.respondNext({ status: 422, body: '{"message":"unknown recipient"}' });
  const terminal = await t.throwsAsync(provider.sendSms(makeSms(), makeDeliveryContext()), { instanceOf: TerminalError });
  t.is(terminal.reason, 'PROVIDER_REJECTED');
  t.is(terminal.metadata.provider_message, 'unknown recipient');
});

test('a re-sent step carries the same Idempotency-Key, and the next attempt a new one', async (t) => {
  const sink = await startSink();
  const provider = webhook(sink.webhookUrl);
  const context = makeDeliveryContext();

  await provider.sendSms(makeSms(), context);
  await provider.sendSms(makeSms(), context);
  await provider.sendSms(makeSms(), makeDeliveryContext({ ...context, attempt: 2 }));

  const keys = sink.requests.map((r) => r.headers['idempotency-key']);
  t.deepEqual(keys, [context.idempotencyKey, context.idempotencyKey, `${context.triggerId}:welcome:2-1`]);
});
