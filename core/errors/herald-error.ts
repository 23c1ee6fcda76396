import type { ReasonCode } from './reason-codes';

/** A single problem with one field of an input, addressed by its path in the public contract. */
export interface Violation {
  /** Path in snake_case wire names, e.g. `nodes[2].delay.duration`. */
  path: string;
  reason: ReasonCode;
  message: string;
}

export interface HeraldErrorOptions {
  violations?: Violation[];
  /** Non-secret facts for logs and ErrorInfo metadata, e.g. the provider's status code. */
  metadata?: Record<string, string>;
  cause?: unknown;
}

/** Base of every error Herald raises on purpose. `reason` is what callers branch on. */
export class HeraldError extends Error {
  readonly reason: ReasonCode;
  readonly violations: Violation[];
  readonly metadata: Record<string, string>;

  constructor(reason: ReasonCode, message: string, options: HeraldErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.reason = reason;
    this.violations = options.violations ?? [];
    this.metadata = options.metadata ?? {};
  }
}

/** An error that retrying cannot fix: bad input, a rejected recipient, a template that fails. */
export class TerminalError extends HeraldError {}

/** An error that may pass: a timeout, a refused connection, a 429 or a 5xx. */
export class RetryableError extends HeraldError {
  /** The earliest sensible retry, in ms, when the other side said so (e.g. Retry-After). */
  readonly retryAfterMs?: number;

  constructor(reason: ReasonCode, message: string, options: HeraldErrorOptions & { retryAfterMs?: number } = {}) {
    super(reason, message, options);
    this.retryAfterMs = options.retryAfterMs;
  }
}

/** Unknown errors count as retryable: we would rather retry a bug than drop a message. */
export function isRetryable(error: unknown): boolean {
  return !(error instanceof TerminalError);
}

export function reasonOf(error: unknown): ReasonCode {
  return error instanceof HeraldError ? error.reason : 'INTERNAL';
}
