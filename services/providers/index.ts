export { createProviders, type ProviderDeps, type Providers } from './create-providers';
export { CaptureProvider, type CapturedAttempt, type CapturedDelivery, type FailureScript } from './capture-provider';
export { OutboxProvider } from './outbox-provider';
export { SmtpEmailProvider, IDEMPOTENCY_HEADER } from './smtp-email-provider';
export { TwilioSmsProvider } from './twilio-sms-provider';
export { WebhookSmsProvider, type WebhookSmsBody } from './webhook-sms-provider';
export { SIGNATURE_HEADER, signWebhookBody, verifyWebhookSignature } from './webhook-signature';
export { messageIdFor } from './message-id';
