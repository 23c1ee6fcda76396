import type { Knex } from 'knex';
import type { Logger } from 'pino';
import type { EmailProvider, SmsProvider } from '../../core/ports/providers';
import type { ProviderConfig } from '../config/provider-config';
import { CaptureProvider } from './capture-provider';
import { OutboxProvider } from './outbox-provider';
import { SmtpEmailProvider } from './smtp-email-provider';
import { TwilioSmsProvider } from './twilio-sms-provider';
import { WebhookSmsProvider } from './webhook-sms-provider';

export interface ProviderDeps {
  knex: Knex;
  logger: Logger;
  /** Capture instance to use when a channel is `capture`, so a test can inspect what was sent. */
  capture?: CaptureProvider;
}

export interface Providers {
  email: EmailProvider;
  sms: SmsProvider;
  /** The capture instance when either channel uses it. */
  capture?: CaptureProvider;
  close(): Promise<void>;
}

/** Builds one provider per channel from configuration; hosts and URLs come only from `config`. */
export function createProviders(config: ProviderConfig, deps: ProviderDeps): Providers {
  const limits = { timeoutMs: config.timeoutMs, maxResponseBytes: config.maxResponseBytes };
  const emailConfig = config.email;
  let capture = deps.capture;
  const useCapture = () => (capture ??= new CaptureProvider({ latencyMs: config.captureLatencyMs }));
  let outbox: OutboxProvider | undefined;
  const useOutbox = () =>
    (outbox ??= new OutboxProvider(deps.knex, {
      defaultFrom: emailConfig.defaultFrom,
      messageIdDomain: emailConfig.messageIdDomain,
    }));

  let email: EmailProvider;
  switch (emailConfig.kind) {
    case 'smtp':
      email = new SmtpEmailProvider({
        smtp: emailConfig.smtp,
        defaultFrom: emailConfig.defaultFrom,
        messageIdDomain: emailConfig.messageIdDomain,
        timeoutMs: config.timeoutMs,
        maxResponseBytes: config.maxResponseBytes,
      });
      break;
    case 'capture':
      email = useCapture();
      break;
    case 'outbox':
      email = useOutbox();
      break;
  }

  let sms: SmsProvider;
  switch (config.sms.kind) {
    case 'twilio':
      sms = new TwilioSmsProvider(config.sms.twilio, limits);
      break;
    case 'webhook':
      sms = new WebhookSmsProvider(config.sms.webhook, limits);
      break;
    case 'capture':
      sms = useCapture();
      break;
    case 'outbox':
      sms = useOutbox();
      break;
  }

  // Only kinds and non-secret endpoints are logged; settings objects hold credentials.
  deps.logger.info({ email: email.name, sms: sms.name, ...endpoints(config) }, 'delivery providers ready');
  return {
    email,
    sms,
    capture,
    async close() {
      await Promise.all([email.close?.(), sms.close?.()]);
    },
  };
}

function endpoints(config: ProviderConfig): Record<string, string> {
  const out: Record<string, string> = {};
  if (config.email.kind === 'smtp') out.smtpHost = `${config.email.smtp.host}:${config.email.smtp.port}`;
  if (config.sms.kind === 'twilio') out.twilioBaseUrl = config.sms.twilio.baseUrl;
  if (config.sms.kind === 'webhook') out.webhookOrigin = new URL(config.sms.webhook.url).origin;
  return out;
}
