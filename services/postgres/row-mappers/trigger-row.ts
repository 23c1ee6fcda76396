import type {
  Cursor,
  ExecutionContext,
  Recipient,
  StepError,
  TriggerInstance,
  TriggerSource,
  TriggerState,
  TriggerStatus,
} from '../../../core/trigger/model';
import { buildExecutionContext, initialTriggerState, triggerIdFor } from '../../../core/trigger/new-trigger';
import type { WorkflowVersion } from '../../../core/workflow/model';

/** A `trigger_instances` row as pg returns it (bigint parsed to number by connect.ts). */
export interface TriggerRow {
  id: string;
  workflow_id: string;
  workflow_version: number;
  idempotency_key: string;
  partition: number;
  source: string;
  status: string;
  recipient: Recipient;
  payload: Record<string, unknown>;
  cursor: Cursor;
  /** Only `steps` outputs; see contextFromRow. */
  context: Record<string, Record<string, unknown>> | null;
  run: number;
  attempts: number;
  wake_at: Date | null;
  version: number;
  last_error: StepError | null;
  created_at: Date;
  updated_at: Date;
  published_at: Date | null;
  finished_at: Date | null;
  traceparent: string | null;
}

/**
 * A trigger about to be inserted (by acceptance or by the scheduler's direct-Kafka ingest).
 * `state` normally comes from core's initialTriggerState; only its `steps` outputs are stored,
 * the rest of the context is the row's own columns.
 */
export interface NewTriggerRow {
  id: string;
  workflowId: string;
  workflowVersion: number;
  idempotencyKey: string;
  partition: number;
  source: TriggerSource;
  recipient: Recipient;
  payload: Record<string, unknown>;
  state: TriggerState;
  /** Millisecond precision: it is also the context's `trigger.created_at`. */
  createdAt: Date;
  /** Null for api accepts (the relay's outbox marker); the arrival time for rows ingested from Kafka. */
  publishedAt: Date | null;
  /** The trace the trigger's steps continue (W3C traceparent), when the request carried one. */
  traceparent?: string;
}

export interface NewTriggerInput {
  workflowId: string;
  idempotencyKey: string;
  recipient: Recipient;
  payload: Record<string, unknown>;
  /** Already validated: the active span's (api) or a well-formed Kafka header's. */
  traceparent?: string;
}

/**
 * The row of a newly accepted trigger, pinned to `version`, with its deterministic id and
 * initial cursor. Api accepts and direct Kafka ingest build the same row; only where it is
 * placed and whether it still needs publishing differ.
 */
export function newTriggerRow(
  version: WorkflowVersion,
  input: NewTriggerInput,
  placement: { partitionOf(id: string): number; source: TriggerSource; createdAt: Date; publishedAt: Date | null },
): NewTriggerRow {
  const id = triggerIdFor(input.workflowId, input.idempotencyKey);
  const { createdAt } = placement;
  return {
    id,
    workflowId: input.workflowId,
    workflowVersion: version.version,
    idempotencyKey: input.idempotencyKey,
    partition: placement.partitionOf(id),
    source: placement.source,
    recipient: input.recipient,
    payload: input.payload,
    state: initialTriggerState(version, { id, idempotencyKey: input.idempotencyKey, createdAt, recipient: input.recipient, payload: input.payload }),
    createdAt,
    publishedAt: placement.publishedAt,
    traceparent: input.traceparent,
  };
}

/** The full ExecutionContext, rebuilt from the row's columns plus the stored `steps`. */
export function contextFromRow(row: TriggerRow): ExecutionContext {
  return buildExecutionContext({
    triggerId: row.id,
    idempotencyKey: row.idempotency_key,
    createdAt: row.created_at,
    workflowId: row.workflow_id,
    workflowVersion: row.workflow_version,
    recipient: row.recipient,
    payload: row.payload,
    steps: row.context ?? {},
  });
}

/** What goes into `trigger_instances.context`: the steps outputs, nothing the row already holds. */
export function contextToColumn(context: ExecutionContext): Record<string, Record<string, unknown>> {
  return context.steps ?? {};
}

export function rowToTriggerInstance(row: TriggerRow): TriggerInstance {
  const instance: TriggerInstance = {
    id: row.id,
    workflowId: row.workflow_id,
    workflowVersion: row.workflow_version,
    idempotencyKey: row.idempotency_key,
    partition: row.partition,
    source: row.source as TriggerSource,
    status: row.status as TriggerStatus,
    recipient: row.recipient,
    payload: row.payload,
    cursor: row.cursor,
    context: contextFromRow(row),
    run: row.run,
    wakeAt: row.wake_at,
    version: row.version,
    lastError: row.last_error,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    publishedAt: row.published_at,
  };
  // Only when present: untraced triggers keep exactly the shape they had before tracing existed.
  if (row.traceparent) instance.traceparent = row.traceparent;
  return instance;
}

/** The planner's view of a stored trigger. */
export function rowToTriggerState(row: TriggerRow): TriggerState {
  return {
    status: row.status as TriggerStatus,
    cursor: row.cursor,
    context: contextFromRow(row),
    run: row.run,
    wakeAt: row.wake_at ? row.wake_at.toISOString() : null,
  };
}

/** One element of the JSON recordset that insertTriggers sends as a single parameter. */
export function newTriggerToRecord(draft: NewTriggerRow): Record<string, unknown> {
  return {
    id: draft.id,
    workflow_id: draft.workflowId,
    workflow_version: draft.workflowVersion,
    idempotency_key: draft.idempotencyKey,
    partition: draft.partition,
    source: draft.source,
    status: draft.state.status,
    recipient: draft.recipient,
    payload: draft.payload,
    cursor: draft.state.cursor,
    context: contextToColumn(draft.state.context),
    run: draft.state.run,
    wake_at: draft.state.wakeAt,
    created_at: draft.createdAt.toISOString(),
    published_at: draft.publishedAt ? draft.publishedAt.toISOString() : null,
    // Undefined is left out of the JSON recordset, which reads a missing key as NULL.
    traceparent: draft.traceparent,
  };
}
