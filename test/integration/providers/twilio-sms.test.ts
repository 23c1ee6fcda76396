import test from 'ava';
import { RetryableError, TerminalError } from '../../../core/errors';
import type { SmsProvider } from '../../../core/ports/providers';
import { loadProviderConfig } from '../../../services/config/provider-config';
import { createProviders } from '../../../services/providers/create-providers';
import { startHttpSink, type HttpSink } from '../../support/http-sink';
import { makeDeliveryContext, makeSms, silentLogger } from './fixtures';

const SID = 'AC00000000000000000000000000000001';
const TOKEN = 'twilio-token-do-not-leak';

const sinks: HttpSink[] = [];
test.after.always(async () => {
  for (const sink of sinks) await sink.close();
});

async function startSink(): Promise<HttpSink> {
  const sink = await startHttpSink({ twilio: { accountSid: SID, authToken: TOKEN } });
  sinks.push(sink);
  return sink;
}

function twilio(baseUrl: string, env: Record<string, string> = {}): SmsProvider {
  const config = loadProviderConfig({
    HERALD_SMS_PROVIDER: 'twilio',
    HERALD_TWILIO_BASE_URL: baseUrl,
    HERALD_TWILIO_ACCOUNT_SID: SID,
    HERALD_TWILIO_AUTH_TOKEN: TOKEN,
    HERALD_TWILIO_FROM: '+15005550001',
    ...env,
  });
  return createProviders(config, { knex: undefined as never, logger: silentLogger }).sms;
}

function assertNoSecret(t: { false(v: boolean, m?: string): void }, error: Error & { metadata: Record<string, string> }) {
  const text = JSON.stringify({ message: error.message, metadata: error.metadata });
  t.false(text.includes(TOKEN), 'the auth token leaked');
  t.false(text.includes(Buffer.from(`${SID}:${TOKEN}`).toString('base64')), 'the basic credentials leaked');
}

test('an SMS is POSTed in Twilio\'s shape with basic auth, form fields and an Idempotency-Key', async (t) => {
  const sink = await startSink();
  const context = makeDeliveryContext();

  const result = await twilio(sink.baseUrl).sendSms(makeSms(), context);

  t.is(sink.requests.length, 1);
  const request = sink.requests[0];
  t.is(request.method, 'POST');
  t.is(request.path, `/2010-04-01/Accounts/${SID}/Messages.json`);
  t.is(request.basicAuth, `${SID}:${TOKEN}`);
  t.regex(String(request.headers['content-type']), /^application\/x-www-form-urlencoded/);
  t.deepEqual(request.form, { To: '+15005550006', Body: 'Your code is 123456', From: '+15005550001' });
  t.is(request.headers['idempotency-key'], context.idempotencyKey);
  t.is(result.provider, 'twilio');
  t.regex(result.providerMessageId ?? '', /^SM[0-9a-f]{32}$/);
  t.deepEqual(result.detail, { sid: result.providerMessageId, status: 'queued' });
});

test('a messaging service SID is sent instead of From when configured', async (t) => {
  const sink = await startSink();
  await twilio(sink.baseUrl, { HERALD_TWILIO_FROM: '', HERALD_TWILIO_MESSAGING_SERVICE_SID: 'MG0001' }).sendSms(
    makeSms(),
    makeDeliveryContext(),
  );
  t.deepEqual(sink.requests[0].form, { To: '+15005550006', Body: 'Your code is 123456', MessagingServiceSid: 'MG0001' });
});

test('a 429 with Retry-After in seconds is retryable after that many milliseconds', async (t) => {
  const sink = await startSink();
  sink.respondNext({ status: 429, headers: { 'retry-after': '7' }, body: '{"code":20429,"message":"Too Many Requests"}' });

  const error = await t.throwsAsync(twilio(sink.baseUrl).sendSms(makeSms(), makeDeliveryContext()), { instanceOf: RetryableError });
  t.is(error.reason, 'PROVIDER_RATE_LIMITED');
  t.is(error.retryAfterMs, 7000);
  t.is(error.metadata.http_status, '429');
  t.is(error.metadata.provider_code, '20429');
});

test('a 503 with Retry-After as an HTTP date is retryable, not before that date', async (t) => {
  const sink = await startSink();
  const at = new Date(Date.now() + 120_000);
  sink.respondNext({ status: 503, headers: { 'retry-after': at.toUTCString() } });

  const error = await t.throwsAsync(twilio(sink.baseUrl).sendSms(makeSms(), makeDeliveryContext()), { instanceOf: RetryableError });
  t.is(error.reason, 'PROVIDER_UNAVAILABLE');
  t.true(error.retryAfterMs! > 60_000 && error.retryAfterMs! <= 120_000);
});

test('a 400 is terminal and keeps Twilio\'s error code and message', async (t) => {
  const sink = await startSink();
  sink.respondNext({
    status: 400,
    body: JSON.stringify({ code: 21211, message: "The 'To' number +1500 is not a valid phone number.", status: 400 }),
  });

  const error = await t.throwsAsync(twilio(sink.baseUrl).sendSms(makeSms(), makeDeliveryContext()), { instanceOf: TerminalError });
  t.is(error.reason, 'PROVIDER_REJECTED');
  t.is(error.metadata.provider_code, '21211');
  t.regex(error.metadata.provider_message, /not a valid phone number/);
});

test('wrong credentials are terminal and the token appears nowhere in the error', async (t) => {
  const sink = await startSink();
  sink.respondNext({ status: 401, body: JSON.stringify({ code: 20003, message: `Authenticate ${TOKEN}` }) });

  const error = await t.throwsAsync(twilio(sink.baseUrl).sendSms(makeSms(), makeDeliveryContext()), { instanceOf: TerminalError });
  t.is(error.reason, 'PROVIDER_AUTH_FAILED');
  t.regex(error.metadata.provider_message, /\[redacted\]/);
  assertNoSecret(t, error);
});

test('403, 404 and 422 are terminal', async (t) => {
  const sink = await startSink();
  const expected = { 403: 'PROVIDER_AUTH_FAILED', 404: 'PROVIDER_ERROR', 422: 'PROVIDER_REJECTED' } as const;
  for (const [status, reason] of Object.entries(expected)) {
    sink.respondNext({ status: Number(status) });
    const error = await t.throwsAsync(twilio(sink.baseUrl).sendSms(makeSms(), makeDeliveryContext()), { instanceOf: TerminalError });
    t.is(error.reason, reason, `HTTP ${status}`);
  }
});

test('a redirect is not followed and is terminal', async (t) => {
  const sink = await startSink();
  sink.respondNext({ status: 307, headers: { location: `${sink.baseUrl}/elsewhere` } });

  const error = await t.throwsAsync(twilio(sink.baseUrl).sendSms(makeSms(), makeDeliveryContext()), { instanceOf: TerminalError });
  t.is(error.reason, 'PROVIDER_ERROR');
  t.is(error.metadata.http_status, '307');
  t.deepEqual(
    sink.requests.map((r) => r.path),
    [`/2010-04-01/Accounts/${SID}/Messages.json`],
  );
});

test('a 2xx answer that is not JSON still counts as sent, so it is never retried into a duplicate', async (t) => {
  const sink = await startSink();
  sink.respondNext({ status: 201, body: 'x', fillBytes: 4 * 1024 * 1024 });

  const result = await twilio(sink.baseUrl, { HERALD_PROVIDER_MAX_RESPONSE_BYTES: '1024' }).sendSms(makeSms(), makeDeliveryContext());
  t.is(result.providerMessageId, undefined);
});

test('a Twilio call that gets no answer within the configured timeout is retryable', async (t) => {
  const sink = await startSink();
  sink.respondNext({ status: 201, hang: true });

  const error = await t.throwsAsync(
    twilio(sink.baseUrl, { HERALD_PROVIDER_TIMEOUT_MS: '200' }).sendSms(makeSms(), makeDeliveryContext()),
    { instanceOf: RetryableError },
  );
  t.is(error.reason, 'PROVIDER_TIMEOUT');
});
