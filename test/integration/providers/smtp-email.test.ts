import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test, { type ExecutionContext } from 'ava';
import { RetryableError, TerminalError } from '../../../core/errors';
import { loadProviderConfig } from '../../../services/config/provider-config';
import { createProviders, type Providers } from '../../../services/providers/create-providers';
import { messageIdFor } from '../../../services/providers/message-id';
import { createTestCertificate, startSmtpSink, type SmtpSink, type SmtpSinkOptions } from '../../support/smtp-sink';
import { makeDeliveryContext, makeEmail, silentLogger } from './fixtures';

const PASSWORD = 'smtp-pa55-do-not-leak';
const toClose: Array<{ close(): Promise<void> }> = [];
test.after.always(async () => {
  for (const item of toClose.reverse()) await item.close().catch(() => undefined);
});

async function startSink(options: SmtpSinkOptions = {}): Promise<SmtpSink> {
  const sink = await startSmtpSink(options);
  toClose.push(sink);
  return sink;
}

function smtpProviders(port: number, env: Record<string, string> = {}): Providers {
  const config = loadProviderConfig({
    HERALD_EMAIL_PROVIDER: 'smtp',
    HERALD_SMTP_HOST: '127.0.0.1',
    HERALD_SMTP_PORT: String(port),
    HERALD_EMAIL_DEFAULT_FROM: 'Herald <default@herald.test>',
    HERALD_MESSAGE_ID_DOMAIN: 'mail.herald.test',
    HERALD_SMTP_POOL_SIZE: '1',
    ...env,
  });
  // knex is unused by the smtp provider.
  const providers = createProviders(config, { knex: undefined as never, logger: silentLogger });
  toClose.push(providers);
  return providers;
}

test('an accepted email arrives with its envelope, headers, deterministic Message-ID and exact body', async (t) => {
  const sink = await startSink();
  const { email } = smtpProviders(sink.port);
  const context = makeDeliveryContext();
  const message = makeEmail();

  const result = await email.sendEmail(message, context);

  t.is(sink.received.length, 1);
  const mail = sink.received[0];
  t.deepEqual(mail.envelope, { from: 'noreply@herald.test', to: ['ada@example.com'] });
  const expectedId = messageIdFor(context.idempotencyKey, 'mail.herald.test');
  t.regex(expectedId, /^<[0-9a-f]{32}@mail\.herald\.test>$/);
  t.is(sink.header(mail, 'message-id'), expectedId);
  t.is(sink.header(mail, 'x-herald-idempotency-key'), context.idempotencyKey);
  t.is(sink.header(mail, 'from'), 'Herald Test <noreply@herald.test>');
  t.is(sink.header(mail, 'to'), 'ada@example.com');
  t.is(sink.header(mail, 'reply-to'), 'support@herald.test');
  t.is(sink.header(mail, 'subject'), 'Welcome aboard');
  t.is(sink.header(mail, 'content-transfer-encoding'), '7bit');
  t.is(mail.body, 'Hello Ada,\r\nyour account is ready.\r\n');
  t.false(mail.secure);
  t.is(result.provider, 'smtp');
  t.is(result.providerMessageId, expectedId);
  t.is((result.detail as Record<string, unknown>).message_id, expectedId);
});

test('a re-sent step carries the same Message-ID, and a new attempt a different one', async (t) => {
  const sink = await startSink();
  const { email } = smtpProviders(sink.port);
  const context = makeDeliveryContext();

  await email.sendEmail(makeEmail(), context);
  await email.sendEmail(makeEmail(), context);
  await email.sendEmail(makeEmail(), makeDeliveryContext({ ...context, attempt: 2 }));

  const ids = sink.received.map((m) => sink.header(m, 'message-id'));
  t.is(ids[0], ids[1]);
  t.not(ids[0], ids[2]);
  // Pool of one connection: the three sends reused it.
  t.is(new Set(sink.received.map((m) => m.sessionId)).size, 1);
});

test('an email with no from of its own is sent from the configured default', async (t) => {
  const sink = await startSink();
  const { email } = smtpProviders(sink.port);

  await email.sendEmail(makeEmail({ from: undefined, replyTo: undefined }), makeDeliveryContext());

  const mail = sink.received[0];
  t.is(mail.envelope.from, 'default@herald.test');
  t.is(sink.header(mail, 'from'), 'Herald <default@herald.test>');
  t.is(sink.header(mail, 'reply-to'), undefined);
});

test('a 4xx deferral is retryable with the SMTP code kept, and the next attempt is delivered', async (t) => {
  const sink = await startSink();
  const { email } = smtpProviders(sink.port);
  sink.failNext({ code: 451, message: 'Greylisted, try again later' });

  const error = await t.throwsAsync(email.sendEmail(makeEmail(), makeDeliveryContext()), { instanceOf: RetryableError });
  t.is(error.reason, 'PROVIDER_UNAVAILABLE');
  t.is(error.metadata.smtp_code, '451');
  t.regex(error.metadata.provider_message, /Greylisted/);

  await email.sendEmail(makeEmail(), makeDeliveryContext({ attempt: 2 }));
  t.is(sink.received.length, 1);
});

test('a 5xx rejection of the recipient is terminal', async (t) => {
  const sink = await startSink();
  const { email } = smtpProviders(sink.port);
  sink.failNext({ code: 550, message: 'No such user', phase: 'rcpt', to: 'ghost@example.com' });

  const error = await t.throwsAsync(email.sendEmail(makeEmail({ to: 'ghost@example.com' }), makeDeliveryContext()), {
    instanceOf: TerminalError,
  });
  t.is(error.reason, 'PROVIDER_REJECTED');
  t.is(error.metadata.smtp_code, '550');
  t.is(sink.received.length, 0);
});

test('a 5xx rejection after the data is terminal', async (t) => {
  const sink = await startSink();
  const { email } = smtpProviders(sink.port);
  sink.failNext({ code: 554, message: 'Message looks like spam' });

  const error = await t.throwsAsync(email.sendEmail(makeEmail(), makeDeliveryContext()), { instanceOf: TerminalError });
  t.is(error.reason, 'PROVIDER_REJECTED');
  t.is(error.metadata.smtp_code, '554');
});

test('SMTP AUTH logs in with the configured user, and a wrong password is terminal without leaking it', async (t) => {
  const sink = await startSink({ auth: { user: 'herald', pass: PASSWORD } });
  const good = smtpProviders(sink.port, { HERALD_SMTP_USER: 'herald', HERALD_SMTP_PASS: PASSWORD });
  await good.email.sendEmail(makeEmail(), makeDeliveryContext());
  t.is(sink.received[0].user, 'herald');

  const bad = smtpProviders(sink.port, { HERALD_SMTP_USER: 'herald', HERALD_SMTP_PASS: `${PASSWORD}-wrong` });
  const error = await t.throwsAsync(bad.email.sendEmail(makeEmail(), makeDeliveryContext()), { instanceOf: TerminalError });
  t.is(error.reason, 'PROVIDER_AUTH_FAILED');
  t.false(JSON.stringify({ message: error.message, metadata: error.metadata }).includes(PASSWORD));
});

test('a refused connection is retryable', async (t) => {
  const sink = await startSink();
  const port = sink.port;
  await sink.close();
  const { email } = smtpProviders(port);

  const error = await t.throwsAsync(email.sendEmail(makeEmail(), makeDeliveryContext()), { instanceOf: RetryableError });
  t.is(error.reason, 'PROVIDER_UNAVAILABLE');
  t.is(error.metadata.error_code, 'ECONNREFUSED');
});

test('a server that never greets times out as retryable', async (t) => {
  const sockets = new Set<Socket>();
  const silent = createServer((socket) => sockets.add(socket));
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  toClose.push({
    close: () => {
      for (const s of sockets) s.destroy();
      return new Promise((resolve) => silent.close(() => resolve()));
    },
  });
  const { email } = smtpProviders((silent.address() as AddressInfo).port, { HERALD_PROVIDER_TIMEOUT_MS: '300' });

  const error = await t.throwsAsync(email.sendEmail(makeEmail(), makeDeliveryContext()), { instanceOf: RetryableError });
  t.is(error.reason, 'PROVIDER_TIMEOUT');
});

// TLS is part of the provider's contract, so a machine without the openssl CLI fails these
// tests (naming what is missing) instead of skipping them quietly.
const certificate = createTestCertificate();
const tlsTest = (title: string, body: (t: ExecutionContext) => Promise<void>) =>
  test(title, async (t) => {
    if (!certificate) return t.fail('the openssl CLI is needed to make a test certificate');
    return body(t);
  });

function writeCa(pem: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'herald-ca-'));
  toClose.push({ close: async () => rmSync(dir, { recursive: true, force: true }) });
  const path = join(dir, 'ca.pem');
  writeFileSync(path, pem);
  return path;
}

tlsTest('STARTTLS upgrades the session when required, trusting the configured CA', async (t) => {
  const sink = await startSink({ tls: certificate!, auth: { user: 'herald', pass: PASSWORD } });
  const { email } = smtpProviders(sink.port, {
    HERALD_SMTP_REQUIRE_TLS: 'true',
    HERALD_SMTP_TLS_CA_FILE: writeCa(certificate!.cert),
    HERALD_SMTP_USER: 'herald',
    HERALD_SMTP_PASS: PASSWORD,
  });

  await email.sendEmail(makeEmail(), makeDeliveryContext());

  t.true(sink.received[0].secure);
  t.is(sink.received[0].user, 'herald');
});

tlsTest('implicit TLS (secure) delivers over an encrypted session', async (t) => {
  const sink = await startSink({ tls: certificate!, secure: true });
  const { email } = smtpProviders(sink.port, { HERALD_SMTP_SECURE: 'true', HERALD_SMTP_TLS_CA_FILE: writeCa(certificate!.cert) });

  await email.sendEmail(makeEmail(), makeDeliveryContext());

  t.true(sink.received[0].secure);
});

tlsTest('an untrusted relay certificate is terminal unless verification is turned off', async (t) => {
  const sink = await startSink({ tls: certificate! });
  const strict = smtpProviders(sink.port, { HERALD_SMTP_REQUIRE_TLS: 'true' });
  const error = await t.throwsAsync(strict.email.sendEmail(makeEmail(), makeDeliveryContext()), { instanceOf: TerminalError });
  t.is(error.reason, 'PROVIDER_ERROR');

  const lax = smtpProviders(sink.port, { HERALD_SMTP_REQUIRE_TLS: 'true', HERALD_SMTP_TLS_REJECT_UNAUTHORIZED: 'false' });
  await lax.email.sendEmail(makeEmail(), makeDeliveryContext());
  t.true(sink.received[0].secure);
});

test('a server without STARTTLS fails a send that requires TLS, terminally', async (t) => {
  const sink = await startSink();
  const { email } = smtpProviders(sink.port, { HERALD_SMTP_REQUIRE_TLS: 'true' });

  const error = await t.throwsAsync(email.sendEmail(makeEmail(), makeDeliveryContext()), { instanceOf: TerminalError });
  t.is(error.reason, 'PROVIDER_ERROR');
  t.is(sink.received.length, 0);
});
