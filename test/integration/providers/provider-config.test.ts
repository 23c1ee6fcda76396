import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { ConfigError, loadConfig } from '../../../services/config/config';
import { loadProviderConfig, PROVIDER_ENV_DOC } from '../../../services/config/provider-config';

const configError = (env: Record<string, string>) =>
  (() => {
    try {
      loadProviderConfig(env);
    } catch (error) {
      if (error instanceof ConfigError) return error;
      throw error;
    }
    throw new Error('expected a ConfigError');
  })();

test('with nothing set both channels use the outbox with the documented limits', (t) => {
  const config = loadProviderConfig({});
  t.deepEqual(config, {
    email: { kind: 'outbox', defaultFrom: undefined, messageIdDomain: 'herald.local' },
    sms: { kind: 'outbox' },
    timeoutMs: 10_000,
    maxResponseBytes: 65_536,
    captureLatencyMs: 0,
  });
});

test('smtp settings are parsed, and the Message-ID domain defaults to the default from\'s domain', (t) => {
  const config = loadProviderConfig({
    HERALD_EMAIL_PROVIDER: 'smtp',
    HERALD_SMTP_HOST: 'relay.example.com',
    HERALD_SMTP_SECURE: 'true',
    HERALD_SMTP_USER: 'herald',
    HERALD_SMTP_PASS: 'p',
    HERALD_EMAIL_DEFAULT_FROM: 'Herald <noreply@mail.example.com>',
  });
  t.like(config.email, {
    kind: 'smtp',
    messageIdDomain: 'mail.example.com',
    smtp: { host: 'relay.example.com', port: 465, secure: true, requireTLS: false, tlsRejectUnauthorized: true, poolSize: 5 },
  });
});

test('choosing smtp without its required variables names each of them', (t) => {
  const error = configError({ HERALD_EMAIL_PROVIDER: 'smtp' });
  t.true(error.problems.some((p) => p.startsWith('HERALD_SMTP_HOST')));
  t.true(error.problems.some((p) => p.startsWith('HERALD_EMAIL_DEFAULT_FROM')));
});

test('choosing twilio or webhook without credentials names each missing variable', (t) => {
  const twilio = configError({ HERALD_SMS_PROVIDER: 'twilio' });
  for (const name of ['HERALD_TWILIO_ACCOUNT_SID', 'HERALD_TWILIO_AUTH_TOKEN', 'HERALD_TWILIO_FROM']) {
    t.true(twilio.problems.some((p) => p.startsWith(name)), name);
  }
  const webhook = configError({ HERALD_SMS_PROVIDER: 'webhook', HERALD_SMS_WEBHOOK_URL: 'ftp://x' });
  t.true(webhook.problems.some((p) => p.startsWith('HERALD_SMS_WEBHOOK_URL')));
  t.true(webhook.problems.some((p) => p.startsWith('HERALD_SMS_WEBHOOK_SECRET')));
});

test('bad values are all reported together, and secret values are never printed', (t) => {
  const error = configError({
    HERALD_EMAIL_PROVIDER: 'sendgrid',
    HERALD_SMS_PROVIDER: 'twilio',
    HERALD_TWILIO_ACCOUNT_SID: 'AC1',
    HERALD_TWILIO_AUTH_TOKEN: 'tok-secret-value',
    HERALD_TWILIO_FROM: '+1500',
    HERALD_TWILIO_BASE_URL: 'https://user:tok-secret-value@api.example.com',
    HERALD_PROVIDER_TIMEOUT_MS: '-1',
  });
  t.true(error.problems.some((p) => p.startsWith('HERALD_EMAIL_PROVIDER="sendgrid"')));
  t.true(error.problems.some((p) => p.startsWith('HERALD_PROVIDER_TIMEOUT_MS')));
  t.true(error.problems.some((p) => p.startsWith('HERALD_TWILIO_BASE_URL')));

  const pass = configError({ HERALD_EMAIL_PROVIDER: 'smtp', HERALD_SMTP_HOST: 'h', HERALD_SMTP_PASS: 'hunter2-secret' });
  t.true(pass.problems.some((p) => p.startsWith('HERALD_SMTP_USER')));
  t.false(pass.message.includes('hunter2-secret'));
});

test('the whole config reports provider problems in the same ConfigError as the rest', (t) => {
  const error = t.throws(() => loadConfig({ HERALD_PARTITIONS: 'zero', HERALD_SMS_PROVIDER: 'webhook' }), { instanceOf: ConfigError });
  t.true(error.problems.some((p) => p.startsWith('HERALD_PARTITIONS')));
  t.true(error.problems.some((p) => p.startsWith('HERALD_SMS_WEBHOOK_URL')));
});

test('a providers file supplies values, real env vars win, and unknown keys are refused', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'herald-providers-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'providers.json');
  writeFileSync(
    file,
    JSON.stringify({
      HERALD_SMS_PROVIDER: 'webhook',
      HERALD_SMS_WEBHOOK_URL: 'https://hooks.example.com/sms',
      HERALD_SMS_WEBHOOK_SECRET: 'from-file',
      HERALD_PROVIDER_TIMEOUT_MS: 2500,
    }),
  );
  const config = loadProviderConfig({ HERALD_PROVIDERS_FILE: file, HERALD_PROVIDER_TIMEOUT_MS: '3000' });
  t.deepEqual(config.sms, { kind: 'webhook', webhook: { url: 'https://hooks.example.com/sms', secret: 'from-file' } });
  t.is(config.timeoutMs, 3000);

  writeFileSync(file, JSON.stringify({ HERALD_SMS_PROVIDR: 'webhook' }));
  const error = configError({ HERALD_PROVIDERS_FILE: file });
  t.deepEqual(error.problems, ['HERALD_PROVIDERS_FILE: unknown key HERALD_SMS_PROVIDR']);
});

test('the env doc lists every provider variable once and flags the three secrets', (t) => {
  const names = PROVIDER_ENV_DOC.map((d) => d.name);
  t.is(new Set(names).size, names.length);
  t.deepEqual(
    PROVIDER_ENV_DOC.filter((d) => d.secret).map((d) => d.name),
    ['HERALD_SMTP_PASS', 'HERALD_TWILIO_AUTH_TOKEN', 'HERALD_SMS_WEBHOOK_SECRET'],
  );
  for (const name of ['HERALD_EMAIL_PROVIDER', 'HERALD_SMS_PROVIDER', 'HERALD_PROVIDER_TIMEOUT_MS', 'HERALD_PROVIDER_MAX_RESPONSE_BYTES']) {
    t.true(names.includes(name), name);
  }
});
