import { classifyNetworkError } from './provider-errors';

/**
 * The one way providers speak HTTP. Every call has a deadline (combined with the caller's
 * signal), reads at most `maxResponseBytes` of the answer, and never follows a redirect: the
 * URL is the configured one, and a 3xx must not move the request (and its credentials) elsewhere.
 */
/** Per-call limits every HTTP provider applies, from HERALD_PROVIDER_TIMEOUT_MS / _MAX_RESPONSE_BYTES. */
export interface HttpLimits {
  timeoutMs: number;
  maxResponseBytes: number;
}

export interface HttpPost {
  provider: string;
  url: string;
  headers: Record<string, string>;
  body: string;
  timeoutMs: number;
  maxResponseBytes: number;
  signal?: AbortSignal;
  /** Values to scrub from any error text. */
  secrets: readonly string[];
}

export interface HttpAnswer {
  status: number;
  headers: Headers;
  /** UTF-8 text of at most `maxResponseBytes` bytes. */
  body: string;
  truncated: boolean;
}

/** POSTs once; throws RetryableError/TerminalError for transport failures, returns any HTTP status. */
export async function postHttp(request: HttpPost): Promise<HttpAnswer> {
  const deadline = AbortSignal.timeout(request.timeoutMs);
  const signal = request.signal ? AbortSignal.any([deadline, request.signal]) : deadline;
  try {
    const response = await fetch(request.url, {
      method: 'POST',
      headers: request.headers,
      body: request.body,
      redirect: 'manual',
      signal,
    });
    const { text, truncated } = await readCapped(response, request.maxResponseBytes);
    return { status: response.status, headers: response.headers, body: text, truncated };
  } catch (error) {
    throw classifyNetworkError({
      provider: request.provider,
      error,
      timedOut: deadline.aborted,
      secrets: request.secrets,
    });
  }
}

/** Reads the body up to `cap` bytes, then cancels the stream so the rest is never buffered. */
async function readCapped(response: Response, cap: number): Promise<{ text: string; truncated: boolean }> {
  if (!response.body) return { text: '', truncated: false };
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  let truncated = false;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    const room = cap - size;
    if (value.byteLength >= room) {
      chunks.push(value.subarray(0, room));
      size += room;
      truncated = value.byteLength > room;
      if (!truncated) {
        const next = await reader.read();
        truncated = !next.done;
      }
      if (truncated) await reader.cancel().catch(() => undefined);
      break;
    }
    chunks.push(value);
    size += value.byteLength;
  }
  return { text: new TextDecoder().decode(Buffer.concat(chunks)), truncated };
}

/** Parses a JSON body, or undefined when it is not JSON (or was cut by the cap). */
export function parseJsonObject(body: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(body);
    return value && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}
