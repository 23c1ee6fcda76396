import type { LogEntryDraft } from './log';
import type { TriggerState } from './model';

/** Rendered email, ready for a provider. Addresses and subject are already checked for CR/LF. */
export interface RenderedEmail {
  to: string;
  from?: string;
  replyTo?: string;
  subject: string;
  text?: string;
  html?: string;
}

export interface RenderedSms {
  /** E.164. */
  to: string;
  body: string;
}

/** What happened to a trigger; the actor feeds these to `decide`. */
export type TriggerEvent =
  | { type: 'Started' }
  | { type: 'StepSucceeded'; nodeId: string; output: Record<string, unknown> }
  | {
      type: 'StepFailed';
      nodeId: string;
      error: { reason: string; message: string; retryable: boolean; retryAfterMs?: number; metadata?: Record<string, string> };
    }
  | { type: 'TimerFired' }
  | { type: 'Cancel'; reason?: string };

/** Deterministic provider idempotency key: `trigger_id:node_id:attempt-run`. */
export function idempotencyKeyFor(triggerId: string, nodeId: string, attempt: number, run: number): string {
  return `${triggerId}:${nodeId}:${attempt}-${run}`;
}

/** What the actor must do after a decision; the planner itself does no I/O. */
export type Effect =
  | { type: 'SendEmail'; nodeId: string; attempt: number; idempotencyKey: string; message: RenderedEmail }
  | { type: 'SendSms'; nodeId: string; attempt: number; idempotencyKey: string; message: RenderedSms }
  | { type: 'StartTimer'; wakeAt: string }
  | { type: 'Complete' }
  | { type: 'Fail'; reason: string; message: string }
  | { type: 'AppendLog'; entry: LogEntryDraft };

export interface Decision {
  state: TriggerState;
  effects: Effect[];
}

/** Seedable randomness, for backoff jitter. Returns a float in [0, 1). */
export interface RandomSource {
  next(): number;
}
