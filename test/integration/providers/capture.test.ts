import test from 'ava';
import { RetryableError, TerminalError } from '../../../core/errors';
import { loadProviderConfig } from '../../../services/config/provider-config';
import { CaptureProvider } from '../../../services/providers/capture-provider';
import { createProviders } from '../../../services/providers/create-providers';
import { makeDeliveryContext, makeEmail, makeSms, silentLogger } from './fixtures';

test('the factory shares one capture instance across channels, or uses the one it is given', (t) => {
  const config = loadProviderConfig({ HERALD_EMAIL_PROVIDER: 'capture', HERALD_SMS_PROVIDER: 'capture' });
  const built = createProviders(config, { knex: undefined as never, logger: silentLogger });
  t.true(built.capture instanceof CaptureProvider);
  t.is<unknown, unknown>(built.email, built.capture);
  t.is<unknown, unknown>(built.sms, built.capture);

  const given = new CaptureProvider();
  t.is(createProviders(config, { knex: undefined as never, logger: silentLogger, capture: given }).capture, given);
});

test('scripted failures fail the matching sends the given number of times, then they succeed', async (t) => {
  const capture = new CaptureProvider();
  capture.failNext({ nodeId: 'sms', times: 2, kind: 'retryable', retryAfterMs: 1500 });
  capture.failNext({ to: 'blocked@example.com', times: 1, kind: 'terminal', reason: 'INVALID_EMAIL' });
  const context = makeDeliveryContext({ nodeId: 'sms' });

  const first = await t.throwsAsync(capture.sendSms(makeSms(), context), { instanceOf: RetryableError });
  t.is(first.retryAfterMs, 1500);
  await t.throwsAsync(capture.sendSms(makeSms(), makeDeliveryContext({ ...context, attempt: 2 })), { instanceOf: RetryableError });
  await capture.sendSms(makeSms(), makeDeliveryContext({ ...context, attempt: 3 }));
  await capture.sendEmail(makeEmail(), makeDeliveryContext());
  const terminal = await t.throwsAsync(capture.sendEmail(makeEmail({ to: 'blocked@example.com' }), makeDeliveryContext()), {
    instanceOf: TerminalError,
  });
  t.is(terminal.reason, 'INVALID_EMAIL');

  t.is(capture.deliveries.length, 2);
  t.deepEqual(
    capture.attempts.map((a) => a.outcome),
    ['PROVIDER_UNAVAILABLE', 'PROVIDER_UNAVAILABLE', 'delivered', 'delivered', 'INVALID_EMAIL'],
  );
});

test('a re-sent idempotency key is counted as a duplicate and gets the first id back', async (t) => {
  const capture = new CaptureProvider();
  const context = makeDeliveryContext();

  const a = await capture.sendEmail(makeEmail(), context);
  const b = await capture.sendEmail(makeEmail(), context);
  await capture.sendEmail(makeEmail(), makeDeliveryContext({ ...context, attempt: 2 }));

  t.is(a.providerMessageId, b.providerMessageId);
  t.is(capture.duplicateKeyCount, 1);
  t.is(capture.duplicateStepCount, 2);
  t.is(capture.deliveriesFor({ triggerId: context.triggerId }).length, 3);
  capture.reset();
  t.is(capture.deliveries.length, 0);
});

test('simulated latency ends early when the caller aborts, as a retryable failure', async (t) => {
  const capture = new CaptureProvider({ latencyMs: 60_000 });
  const controller = new AbortController();
  const pending = capture.sendSms(makeSms(), makeDeliveryContext(), controller.signal);
  controller.abort();
  await t.throwsAsync(pending, { instanceOf: RetryableError });
  t.is(capture.deliveries.length, 0);
});
