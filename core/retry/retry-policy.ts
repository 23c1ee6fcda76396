import { HeraldError, RetryableError, TerminalError } from '../errors';
import type { ReasonCode } from '../errors';
import type { RandomSource } from '../trigger/planner-types';
import type { RetryPolicy, WorkflowDefinition, WorkflowNode } from '../workflow/model';

export const DEFAULT_RETRY_POLICY: Readonly<Required<RetryPolicy>> = Object.freeze({
  maxAttempts: 3,
  baseDelayMs: 1000,
  maxDelayMs: 60_000,
});

/** Sanity bounds that validation enforces on every retry policy. */
export const RETRY_POLICY_BOUNDS = Object.freeze({
  maxAttempts: { min: 1, max: 20 },
  baseDelayMs: { min: 0, max: 3_600_000 },
  maxDelayMs: { min: 0, max: 86_400_000 },
});

/** Node overrides workflow overrides default, field by field. */
export function resolveRetryPolicy(def: WorkflowDefinition, node: WorkflowNode): Required<RetryPolicy> {
  const resolved: Required<RetryPolicy> = { ...DEFAULT_RETRY_POLICY };
  for (const layer of [def.retry, node.retry]) {
    if (!layer) continue;
    if (layer.maxAttempts !== undefined && layer.maxAttempts !== null) resolved.maxAttempts = layer.maxAttempts;
    if (layer.baseDelayMs !== undefined && layer.baseDelayMs !== null) resolved.baseDelayMs = layer.baseDelayMs;
    if (layer.maxDelayMs !== undefined && layer.maxDelayMs !== null) resolved.maxDelayMs = layer.maxDelayMs;
  }
  return resolved;
}

/**
 * Full jitter ("Exponential Backoff And Jitter", AWS): a uniform draw from
 * [0, min(cap, base·2^(attempt-1))]. `attempt` is the 1-based attempt that just failed.
 */
export function backoffDelayMs(policy: Required<RetryPolicy>, attempt: number, random: RandomSource): number {
  const exponent = Math.max(0, Math.min(attempt - 1, 52));
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** exponent);
  if (!(ceiling > 0)) return 0;
  return Math.floor(random.next() * (ceiling + 1));
}

export interface ErrorClassification {
  reason: ReasonCode;
  message: string;
  retryable: boolean;
  retryAfterMs?: number;
  /** The provider's own code and text (already redacted by the adapter), kept for the log. */
  metadata?: Record<string, string>;
}

/** TerminalError never retries; RetryableError may carry retryAfterMs; anything unknown retries. */
export function classifyError(error: unknown): ErrorClassification {
  if (!(error instanceof HeraldError)) {
    const message = error instanceof Error ? error.message : String(error);
    return { reason: 'INTERNAL', message, retryable: true };
  }
  const classified: ErrorClassification = { reason: error.reason, message: error.message, retryable: !(error instanceof TerminalError) };
  if (error instanceof RetryableError) {
    const retryAfterMs = error.retryAfterMs;
    if (retryAfterMs !== undefined && Number.isFinite(retryAfterMs) && retryAfterMs >= 0) classified.retryAfterMs = retryAfterMs;
  }
  if (Object.keys(error.metadata).length > 0) classified.metadata = { ...error.metadata };
  return classified;
}
