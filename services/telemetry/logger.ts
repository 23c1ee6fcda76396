import pino, { type Logger } from 'pino';

/**
 * Paths redacted from every log line. Secrets reach loggers only by accident (an error object
 * carrying a config, a request with metadata), so redaction is the backstop, not the policy.
 */
export const REDACT_PATHS = [
  'authorization',
  '*.authorization',
  'headers.authorization',
  'secret',
  '*.secret',
  'password',
  '*.password',
  'pass',
  '*.pass',
  'authToken',
  '*.authToken',
  'auth.pass',
  '*.auth.pass',
  'workerKey',
  '*.workerKey',
  'bootstrapAdminKey',
  '*.bootstrapAdminKey',
  'webhookSecret',
  '*.webhookSecret',
  'providers.email.smtp.pass',
  'providers.sms.twilio.authToken',
  'providers.sms.webhook.secret',
  'config.providers.email.smtp.pass',
  'config.providers.sms.twilio.authToken',
  'config.providers.sms.webhook.secret',
  'email.smtp.pass',
  'sms.twilio.authToken',
  'sms.webhook.secret',
  'config.scheduler.workerKey',
  'config.api.bootstrapAdminKey',
];

export function createLogger(level: string, name: string): Logger {
  return pino({
    name,
    level,
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    base: { pid: process.pid },
  });
}
