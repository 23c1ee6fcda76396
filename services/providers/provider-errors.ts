import { RetryableError, TerminalError, type HeraldError, type ReasonCode } from '../../core/errors';

/**
 * Classification shared by the HTTP adapters (Twilio, webhook) and the SMTP adapter's network
 * failures. Every message and metadata value passes through `redactSecrets`, because providers
 * and client libraries echo request data (auth headers, URLs) back in their errors.
 */

const REDACTED = '[redacted]';
const MAX_PROVIDER_MESSAGE = 500;

/** Replaces every occurrence of each secret (raw and URL-encoded) with a marker. */
export function redactSecrets(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const secret of secrets) {
    if (!secret) continue;
    for (const form of new Set([secret, encodeURIComponent(secret)])) out = out.split(form).join(REDACTED);
  }
  return out;
}

/** Trims and redacts a provider-supplied message before it reaches a log or an error. */
export function providerText(text: string, secrets: readonly string[]): string {
  const clean = redactSecrets(text, secrets).replace(/\s+/g, ' ').trim();
  return clean.length > MAX_PROVIDER_MESSAGE ? `${clean.slice(0, MAX_PROVIDER_MESSAGE)}…` : clean;
}

/** `Retry-After` is either delta-seconds or an HTTP date; anything else is ignored. */
export function parseRetryAfter(value: string | null | undefined, nowMs = Date.now()): number | undefined {
  if (!value) return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  // HTTP dates always name a weekday or month; this keeps Date.parse's leniency ("-5") out.
  if (!/[a-z]{3}/i.test(trimmed)) return undefined;
  const at = Date.parse(trimmed);
  return Number.isNaN(at) ? undefined : Math.max(0, at - nowMs);
}

const TIMEOUT_CODES = new Set([
  'ETIMEDOUT',
  'ESOCKETTIMEDOUT',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
]);

const RETRYABLE_NETWORK_CODES = new Set([
  ...TIMEOUT_CODES,
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'EPIPE',
  'EAI_AGAIN',
  'ENOTFOUND',
  'EHOSTUNREACH',
  'EHOSTDOWN',
  'ENETUNREACH',
  'ENETDOWN',
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
]);

/** ECONNREFUSED, ECONNRESET, DNS and timeout codes: the peer may well answer next time. */
export function isRetryableNetworkCode(code: string | undefined): boolean {
  return code !== undefined && RETRYABLE_NETWORK_CODES.has(code);
}

/** Certificate problems are configuration errors: retrying the same relay gets the same cert. */
function isTlsCertificateCode(code: string): boolean {
  return (
    code.startsWith('CERT_') ||
    code.startsWith('ERR_TLS_CERT') ||
    code.includes('SELF_SIGNED') ||
    code.startsWith('UNABLE_TO_') ||
    code === 'HOSTNAME_MISMATCH'
  );
}

/** First `code` found on the error or its `cause` chain (undici nests the socket error). */
export function errorCodeOf(error: unknown): string | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 5 && current && typeof current === 'object'; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string' && code !== '') return code;
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}

function messageChain(error: unknown): string {
  const parts: string[] = [];
  let current: unknown = error;
  for (let depth = 0; depth < 5 && current; depth++) {
    parts.push(current instanceof Error ? current.message : String(current));
    current = current instanceof Error ? current.cause : undefined;
  }
  return parts.join(': ');
}

export interface NetworkFailure {
  provider: string;
  error: unknown;
  /** Our own deadline fired (as opposed to the caller cancelling). */
  timedOut: boolean;
  secrets: readonly string[];
}

/** A call that got no usable answer: refused, reset, DNS, TLS or a deadline. */
export function classifyNetworkError({ provider, error, timedOut, secrets }: NetworkFailure): HeraldError {
  const code = errorCodeOf(error);
  const metadata: Record<string, string> = { provider };
  if (code) metadata.error_code = code;
  metadata.provider_message = providerText(messageChain(error), secrets);

  if (timedOut || (code !== undefined && TIMEOUT_CODES.has(code))) {
    return new RetryableError('PROVIDER_TIMEOUT', `${provider}: no answer within the deadline`, { metadata });
  }
  if (code !== undefined && isTlsCertificateCode(code)) {
    return new TerminalError('PROVIDER_ERROR', `${provider}: TLS certificate rejected (${code})`, { metadata });
  }
  if (isAbort(error)) {
    return new RetryableError('PROVIDER_UNAVAILABLE', `${provider}: call cancelled by the caller`, { metadata });
  }
  // Unknown failures retry too: the request may not have arrived, and a retry costs less than a lost message.
  const known = code !== undefined && RETRYABLE_NETWORK_CODES.has(code);
  return new RetryableError('PROVIDER_UNAVAILABLE', `${provider}: ${known ? code : 'network error'}`, { metadata });
}

function isAbort(error: unknown): boolean {
  return error instanceof Error && (error.name === 'AbortError' || error.name === 'TimeoutError');
}

export interface HttpFailure {
  provider: string;
  status: number;
  retryAfter?: string | null;
  /** The provider's own error code and message, when its body had them. */
  providerCode?: string;
  providerMessage?: string;
  secrets: readonly string[];
  nowMs?: number;
}

/** Maps a non-2xx answer to Herald's classification; 3xx means a redirect we refused to follow. */
export function classifyHttpStatus(failure: HttpFailure): HeraldError {
  const { provider, status, secrets } = failure;
  const metadata: Record<string, string> = { provider, http_status: String(status) };
  if (failure.providerCode) metadata.provider_code = providerText(failure.providerCode, secrets);
  if (failure.providerMessage) metadata.provider_message = providerText(failure.providerMessage, secrets);
  const detail = metadata.provider_message ? `: ${metadata.provider_message}` : '';
  const message = `${provider} answered HTTP ${status}${detail}`;

  if (status === 429 || status >= 500) {
    const retryAfterMs = parseRetryAfter(failure.retryAfter, failure.nowMs);
    if (retryAfterMs !== undefined) metadata.retry_after_ms = String(retryAfterMs);
    const reason: ReasonCode = status === 429 ? 'PROVIDER_RATE_LIMITED' : 'PROVIDER_UNAVAILABLE';
    return new RetryableError(reason, message, { metadata, retryAfterMs });
  }
  if (status === 408) return new RetryableError('PROVIDER_TIMEOUT', message, { metadata });
  if (status >= 300 && status < 400) {
    return new TerminalError('PROVIDER_ERROR', `${provider} answered a redirect (HTTP ${status}); redirects are not followed`, {
      metadata,
    });
  }
  if (status === 401 || status === 403) return new TerminalError('PROVIDER_AUTH_FAILED', message, { metadata });
  // 404 means the configured URL or account is wrong, not that this message was bad.
  if (status === 404) return new TerminalError('PROVIDER_ERROR', message, { metadata });
  if (status >= 400) return new TerminalError('PROVIDER_REJECTED', message, { metadata });
  return new TerminalError('PROVIDER_ERROR', message, { metadata });
}
