/**
 * Provider configuration per channel. Owned by the providers adapter; `outbox` is the default
 * for any channel with nothing configured. Secrets live here and must never be logged.
 */
export type ProviderConfig = {
  email: { kind: 'outbox' };
  sms: { kind: 'outbox' };
};

export function loadProviderConfig(_env: NodeJS.ProcessEnv): ProviderConfig {
  return { email: { kind: 'outbox' }, sms: { kind: 'outbox' } };
}
