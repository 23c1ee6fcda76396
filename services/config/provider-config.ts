import { readFileSync } from 'node:fs';
import { ConfigError } from './config-error';

/**
 * Provider configuration per channel. Owned by the providers adapter; `outbox` is the default
 * for any channel with nothing configured. Secrets (`pass`, `authToken`, `secret`) live here and
 * must never be logged or returned; the logger redacts those key names.
 */
export interface SmtpSettings {
  host: string;
  port: number;
  /** Implicit TLS from the first byte (port 465). */
  secure: boolean;
  /** Fail unless the server upgrades with STARTTLS. */
  requireTLS: boolean;
  /** Never upgrade, even when the server offers STARTTLS. */
  ignoreTLS: boolean;
  tlsRejectUnauthorized: boolean;
  /** PEM of extra trusted CAs (private relays); read from HERALD_SMTP_TLS_CA_FILE. */
  tlsCa?: string;
  user?: string;
  pass?: string;
  poolSize: number;
}

export interface TwilioSettings {
  baseUrl: string;
  accountSid: string;
  authToken: string;
  from?: string;
  messagingServiceSid?: string;
}

export interface WebhookSettings {
  url: string;
  secret: string;
}

interface EmailCommon {
  /** Used when a workflow's email node names no `from`. */
  defaultFrom?: string;
  /** Right-hand side of the deterministic Message-ID. */
  messageIdDomain: string;
}

export type EmailProviderConfig =
  | (EmailCommon & { kind: 'outbox' })
  | (EmailCommon & { kind: 'capture' })
  | (EmailCommon & { kind: 'smtp'; smtp: SmtpSettings });

export type SmsProviderConfig =
  | { kind: 'outbox' }
  | { kind: 'capture' }
  | { kind: 'twilio'; twilio: TwilioSettings }
  | { kind: 'webhook'; webhook: WebhookSettings };

export interface ProviderConfig {
  email: EmailProviderConfig;
  sms: SmsProviderConfig;
  /** Whole-call budget of every outbound provider call. */
  timeoutMs: number;
  /** Response bodies are read up to this many bytes, then dropped. */
  maxResponseBytes: number;
  /** Simulated latency of the capture provider (benchmarks). */
  captureLatencyMs: number;
}

export interface ProviderEnvDoc {
  name: string;
  default: string;
  description: string;
  secret: boolean;
}

const doc = (name: string, def: string, description: string, secret = false): ProviderEnvDoc => ({
  name,
  default: def,
  description,
  secret,
});

/** Every provider env var, for the README table. Defaults are shown as the literal string read. */
export const PROVIDER_ENV_DOC: readonly ProviderEnvDoc[] = [
  doc('HERALD_PROVIDERS_FILE', '', 'JSON file with any of the variables below as keys; real env vars win over it'),
  doc('HERALD_EMAIL_PROVIDER', 'outbox', 'Email provider: outbox | smtp | capture'),
  doc('HERALD_EMAIL_DEFAULT_FROM', '', 'From address when a workflow names none (required for smtp)'),
  doc('HERALD_MESSAGE_ID_DOMAIN', 'domain of the default from, else herald.local', 'Domain of the deterministic Message-ID'),
  doc('HERALD_SMTP_HOST', '', 'SMTP relay host (required for smtp)'),
  doc('HERALD_SMTP_PORT', '465 if secure, else 587', 'SMTP relay port'),
  doc('HERALD_SMTP_SECURE', 'false', 'Implicit TLS from connect (port 465 style)'),
  doc('HERALD_SMTP_REQUIRE_TLS', 'false', 'Refuse to send unless STARTTLS succeeds'),
  doc('HERALD_SMTP_IGNORE_TLS', 'false', 'Never use STARTTLS even if offered'),
  doc('HERALD_SMTP_TLS_REJECT_UNAUTHORIZED', 'true', 'Verify the relay certificate'),
  doc('HERALD_SMTP_TLS_CA_FILE', '', 'PEM file of extra CAs trusted for the relay'),
  doc('HERALD_SMTP_USER', '', 'SMTP AUTH user (set together with the password)'),
  doc('HERALD_SMTP_PASS', '', 'SMTP AUTH password', true),
  doc('HERALD_SMTP_POOL_SIZE', '5', 'Pooled SMTP connections per process'),
  doc('HERALD_SMS_PROVIDER', 'outbox', 'SMS provider: outbox | twilio | webhook | capture'),
  doc('HERALD_TWILIO_BASE_URL', 'https://api.twilio.com', 'Base URL of the Twilio-compatible Messages API'),
  doc('HERALD_TWILIO_ACCOUNT_SID', '', 'Account SID, also the basic-auth user (required for twilio)'),
  doc('HERALD_TWILIO_AUTH_TOKEN', '', 'Auth token, the basic-auth password (required for twilio)', true),
  doc('HERALD_TWILIO_FROM', '', 'Sender number (E.164); this or the messaging service SID is required'),
  doc('HERALD_TWILIO_MESSAGING_SERVICE_SID', '', 'Messaging service SID, sent instead of From'),
  doc('HERALD_SMS_WEBHOOK_URL', '', 'URL the webhook SMS provider POSTs to (required for webhook)'),
  doc('HERALD_SMS_WEBHOOK_SECRET', '', 'HMAC-SHA256 key of the Herald-Signature header (required for webhook)', true),
  doc('HERALD_PROVIDER_TIMEOUT_MS', '10000', 'Budget of one provider call, connect to last byte'),
  doc('HERALD_PROVIDER_MAX_RESPONSE_BYTES', '65536', 'Largest provider response body read'),
  doc('HERALD_CAPTURE_LATENCY_MS', '0', 'Simulated latency of the capture provider (tests, benchmarks)'),
];

const KNOWN_NAMES = new Set(PROVIDER_ENV_DOC.map((d) => d.name));

/** Reads provider settings from env (and HERALD_PROVIDERS_FILE); throws ConfigError naming every bad var. */
export function loadProviderConfig(env: NodeJS.ProcessEnv): ProviderConfig {
  const problems: string[] = [];
  const source = mergeFileValues(env, problems);
  const r = new Reader(source, problems);

  const timeoutMs = r.int('HERALD_PROVIDER_TIMEOUT_MS', 10_000, 1, 10 * 60_000);
  const maxResponseBytes = r.int('HERALD_PROVIDER_MAX_RESPONSE_BYTES', 64 * 1024, 256, 64 * 1024 * 1024);
  const captureLatencyMs = r.int('HERALD_CAPTURE_LATENCY_MS', 0, 0, 60_000);
  const email = readEmail(r);
  const sms = readSms(r);

  if (problems.length > 0) throw new ConfigError(problems);
  return { email, sms, timeoutMs, maxResponseBytes, captureLatencyMs };
}

function readEmail(r: Reader): EmailProviderConfig {
  const kind = r.oneOf('HERALD_EMAIL_PROVIDER', ['outbox', 'smtp', 'capture'] as const, 'outbox');
  const defaultFrom = r.optional('HERALD_EMAIL_DEFAULT_FROM');
  const fromAddress = defaultFrom === undefined ? undefined : addressOf(defaultFrom);
  if (defaultFrom !== undefined && fromAddress === undefined) {
    r.problem('HERALD_EMAIL_DEFAULT_FROM', 'expected an address like "Name <user@example.com>"');
  }
  const domain = r.optional('HERALD_MESSAGE_ID_DOMAIN') ?? fromAddress?.split('@')[1] ?? 'herald.local';
  if (!/^[a-z0-9.-]+$/i.test(domain)) r.problem('HERALD_MESSAGE_ID_DOMAIN', 'expected a domain name');
  const common = { defaultFrom, messageIdDomain: domain };
  if (kind !== 'smtp') return { kind, ...common };

  const secure = r.bool('HERALD_SMTP_SECURE', false);
  const user = r.optional('HERALD_SMTP_USER');
  const pass = r.optional('HERALD_SMTP_PASS');
  if ((user === undefined) !== (pass === undefined)) {
    r.problem(user === undefined ? 'HERALD_SMTP_USER' : 'HERALD_SMTP_PASS', 'SMTP user and password must be set together');
  }
  const requireTLS = r.bool('HERALD_SMTP_REQUIRE_TLS', false);
  const ignoreTLS = r.bool('HERALD_SMTP_IGNORE_TLS', false);
  if (requireTLS && ignoreTLS) r.problem('HERALD_SMTP_IGNORE_TLS', 'cannot be true together with HERALD_SMTP_REQUIRE_TLS');
  r.required('HERALD_EMAIL_DEFAULT_FROM', 'smtp');
  const smtp: SmtpSettings = {
    host: r.required('HERALD_SMTP_HOST', 'smtp'),
    port: r.int('HERALD_SMTP_PORT', secure ? 465 : 587, 1, 65_535),
    secure,
    requireTLS,
    ignoreTLS,
    tlsRejectUnauthorized: r.bool('HERALD_SMTP_TLS_REJECT_UNAUTHORIZED', true),
    tlsCa: r.file('HERALD_SMTP_TLS_CA_FILE'),
    user,
    pass,
    poolSize: r.int('HERALD_SMTP_POOL_SIZE', 5, 1, 100),
  };
  return { kind, ...common, smtp };
}

function readSms(r: Reader): SmsProviderConfig {
  const kind = r.oneOf('HERALD_SMS_PROVIDER', ['outbox', 'twilio', 'webhook', 'capture'] as const, 'outbox');
  if (kind === 'twilio') {
    const from = r.optional('HERALD_TWILIO_FROM');
    const messagingServiceSid = r.optional('HERALD_TWILIO_MESSAGING_SERVICE_SID');
    if (from === undefined && messagingServiceSid === undefined) {
      r.problem('HERALD_TWILIO_FROM', 'required for twilio unless HERALD_TWILIO_MESSAGING_SERVICE_SID is set');
    }
    const twilio: TwilioSettings = {
      baseUrl: r.url('HERALD_TWILIO_BASE_URL', 'https://api.twilio.com').replace(/\/+$/, ''),
      accountSid: r.required('HERALD_TWILIO_ACCOUNT_SID', 'twilio'),
      authToken: r.required('HERALD_TWILIO_AUTH_TOKEN', 'twilio'),
      from,
      messagingServiceSid,
    };
    return { kind, twilio };
  }
  if (kind === 'webhook') {
    const url = r.required('HERALD_SMS_WEBHOOK_URL', 'webhook');
    if (url !== '') r.url('HERALD_SMS_WEBHOOK_URL', '');
    return { kind, webhook: { url, secret: r.required('HERALD_SMS_WEBHOOK_SECRET', 'webhook') } };
  }
  return { kind };
}

/** File values first, real env vars over them; unknown keys are typos and fail loudly. */
function mergeFileValues(env: NodeJS.ProcessEnv, problems: string[]): Record<string, string | undefined> {
  const path = env.HERALD_PROVIDERS_FILE?.trim();
  if (!path) return env;
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    problems.push(`HERALD_PROVIDERS_FILE=${JSON.stringify(path)}: cannot read JSON (${(error as Error).message})`);
    return env;
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    problems.push(`HERALD_PROVIDERS_FILE=${JSON.stringify(path)}: expected a JSON object`);
    return env;
  }
  const merged: Record<string, string | undefined> = {};
  for (const [key, value] of Object.entries(parsed)) {
    if (!KNOWN_NAMES.has(key) || key === 'HERALD_PROVIDERS_FILE') {
      problems.push(`HERALD_PROVIDERS_FILE: unknown key ${key}`);
    } else if (['string', 'number', 'boolean'].includes(typeof value)) {
      merged[key] = String(value);
    } else {
      problems.push(`HERALD_PROVIDERS_FILE: ${key} must be a string, number or boolean`);
    }
  }
  return { ...merged, ...definedOnly(env) };
}

function definedOnly(env: NodeJS.ProcessEnv): Record<string, string> {
  return Object.fromEntries(Object.entries(env).filter((e): e is [string, string] => e[1] !== undefined));
}

function addressOf(value: string): string | undefined {
  if (/[\r\n]/.test(value)) return undefined;
  const bare = /<([^<>]+)>\s*$/.exec(value)?.[1] ?? value.trim();
  return /^[^\s@<>]+@[^\s@<>]+$/.test(bare) ? bare : undefined;
}

/**
 * Reads and checks one variable at a time, collecting every problem. Messages show values only
 * for non-secret variables, so a ConfigError never prints a password.
 */
class Reader {
  private readonly secrets = new Set(PROVIDER_ENV_DOC.filter((d) => d.secret).map((d) => d.name));

  constructor(
    private readonly source: Record<string, string | undefined>,
    private readonly problems: string[],
  ) {}

  problem(name: string, message: string): void {
    const raw = this.source[name];
    const shown = raw === undefined ? '' : this.secrets.has(name) ? '=<redacted>' : `=${JSON.stringify(raw)}`;
    this.problems.push(`${name}${shown}: ${message}`);
  }

  optional(name: string): string | undefined {
    const value = this.source[name]?.trim();
    return value ? value : undefined;
  }

  required(name: string, provider: string): string {
    const value = this.optional(name);
    if (value === undefined) this.problems.push(`${name}: required when the ${provider} provider is chosen`);
    return value ?? '';
  }

  oneOf<T extends string>(name: string, allowed: readonly T[], fallback: T): T {
    const value = this.optional(name) ?? fallback;
    if ((allowed as readonly string[]).includes(value)) return value as T;
    this.problem(name, `expected one of ${allowed.join(', ')}`);
    return fallback;
  }

  int(name: string, fallback: number, min: number, max: number): number {
    const raw = this.optional(name);
    if (raw === undefined) return fallback;
    const value = Number(raw);
    if (Number.isInteger(value) && value >= min && value <= max) return value;
    this.problem(name, `expected an integer from ${min} to ${max}`);
    return fallback;
  }

  bool(name: string, fallback: boolean): boolean {
    const raw = this.optional(name)?.toLowerCase();
    if (raw === undefined) return fallback;
    if (raw === 'true' || raw === '1') return true;
    if (raw === 'false' || raw === '0') return false;
    this.problem(name, 'expected true or false');
    return fallback;
  }

  url(name: string, fallback: string): string {
    const value = this.optional(name) ?? fallback;
    let parsed: URL | undefined;
    try {
      parsed = new URL(value);
    } catch {
      parsed = undefined;
    }
    if (!parsed || (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') || parsed.username || parsed.password) {
      this.problem(name, 'expected an http(s) URL without credentials');
    }
    return value;
  }

  file(name: string): string | undefined {
    const path = this.optional(name);
    if (path === undefined) return undefined;
    try {
      return readFileSync(path, 'utf8');
    } catch (error) {
      this.problem(name, `cannot read file (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
      return undefined;
    }
  }
}
