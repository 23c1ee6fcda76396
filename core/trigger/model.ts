/** Trigger domain types, shared by the api, the scheduler and the planner. */

export type TriggerStatus = 'enqueued' | 'processing' | 'completed' | 'failed' | 'cancelled';

export type StepStatus = 'pending' | 'ready' | 'running' | 'waiting' | 'done' | 'skipped' | 'failed';

export interface StepError {
  reason: string;
  message: string;
  retryable: boolean;
}

export interface StepState {
  status: StepStatus;
  /** Attempts made in the current run; reset by an operator's RetryTrigger. */
  attempts: number;
  /** ISO time this step must not fire before, while `waiting` (delay or retry backoff). */
  wakeAt?: string;
  startedAt?: string;
  finishedAt?: string;
  lastError?: StepError;
}

/** The DAG cursor: where a trigger is. Checkpointed with every step. */
export interface Cursor {
  steps: Record<string, StepState>;
  /** Resolution of each edge, keyed `${from}->${to}`. */
  edges: Record<string, 'taken' | 'not_taken'>;
}

export interface Recipient {
  id: string;
  email?: string;
  phone?: string;
  locale?: string;
  timezone?: string;
}

/** What a template sees: `{payload, recipient, trigger, workflow, steps}`. */
export interface ExecutionContext {
  payload: Record<string, unknown>;
  recipient: Recipient;
  trigger: { id: string; idempotency_key: string; created_at: string };
  workflow: { id: string; version: number };
  steps: Record<string, Record<string, unknown>>;
}

/** The part of a trigger that the planner reads and writes. */
export interface TriggerState {
  status: TriggerStatus;
  cursor: Cursor;
  context: ExecutionContext;
  /** Bumped by each RetryTrigger; part of every provider idempotency key. */
  run: number;
  /** Earliest wake time among waiting steps, when the trigger is parked. */
  wakeAt: string | null;
}

export type TriggerSource = 'api' | 'kafka';

/** A trigger as stored. */
export interface TriggerInstance {
  id: string;
  workflowId: string;
  workflowVersion: number;
  idempotencyKey: string;
  partition: number;
  source: TriggerSource;
  status: TriggerStatus;
  recipient: Recipient;
  payload: Record<string, unknown>;
  cursor: Cursor;
  context: ExecutionContext;
  run: number;
  wakeAt: Date | null;
  /** Optimistic-concurrency version of the row; every checkpoint bumps it. */
  version: number;
  lastError: StepError | null;
  createdAt: Date;
  updatedAt: Date;
  publishedAt: Date | null;
  /**
   * W3C traceparent of the request that created the trigger (the api call, or a producer's Kafka
   * header): every step of every run is traced under it. Absent when nobody was tracing.
   */
  traceparent?: string;
}
