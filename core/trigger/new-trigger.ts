import { v5 as uuidv5 } from 'uuid';
import { utf8Bytes } from '../util/byte-size';
import type { WorkflowDefinition, WorkflowVersion } from '../workflow/model';
import type { Cursor, ExecutionContext, Recipient, StepState, TriggerState } from './model';

/** Fixed forever: changing it would change every trigger id and break deduplication. */
export const HERALD_NAMESPACE = '14f92878-683d-47fb-875e-63e501988329';

/** `UUIDv5(HERALD_NS, workflow_id + "\n" + idempotency_key)`: the same request always maps to the same trigger. */
export function triggerIdFor(workflowId: string, idempotencyKey: string): string {
  return uuidv5(`${workflowId}\n${idempotencyKey}`, HERALD_NAMESPACE);
}

/**
 * The Kafka partition that owns a trigger: FNV-1a (32-bit) over the id's UTF-8 bytes, mod
 * `partitions`. Stable across processes and versions; correctness never rests on it (the
 * unique constraint does), only placement.
 */
export function partitionFor(triggerId: string, partitions: number): number {
  if (!Number.isSafeInteger(partitions) || partitions < 1) {
    throw new RangeError(`partitions must be a positive integer, got ${partitions}`);
  }
  let hash = 0x811c9dc5;
  for (const byte of utf8Bytes(triggerId)) {
    hash ^= byte;
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash % partitions;
}

export interface ExecutionContextInput {
  triggerId: string;
  idempotencyKey: string;
  createdAt: Date;
  workflowId: string;
  workflowVersion: number;
  recipient: Recipient;
  payload: Record<string, unknown>;
  /** The checkpointed step outputs (`trigger_instances.context`); empty for a new trigger. */
  steps?: Record<string, Record<string, unknown>>;
}

/** `{payload, recipient, trigger, workflow, steps}`, rebuilt from a row's own columns. */
export function buildExecutionContext(input: ExecutionContextInput): ExecutionContext {
  return {
    payload: input.payload,
    recipient: input.recipient,
    trigger: { id: input.triggerId, idempotency_key: input.idempotencyKey, created_at: input.createdAt.toISOString() },
    workflow: { id: input.workflowId, version: input.workflowVersion },
    steps: input.steps ?? {},
  };
}

/** Every node pending except the entry, which is ready. */
export function initialCursor(def: WorkflowDefinition): Cursor {
  const steps: Record<string, StepState> = {};
  for (const node of def.nodes) {
    steps[node.id] = { status: node.id === def.entryNodeId ? 'ready' : 'pending', attempts: 0 };
  }
  return { steps, edges: {} };
}

export interface NewTriggerInput {
  id: string;
  idempotencyKey: string;
  createdAt: Date;
  recipient: Recipient;
  payload: Record<string, unknown>;
}

export function initialTriggerState(version: WorkflowVersion, input: NewTriggerInput): TriggerState {
  return {
    status: 'enqueued',
    cursor: initialCursor(version.definition),
    context: buildExecutionContext({
      triggerId: input.id,
      idempotencyKey: input.idempotencyKey,
      createdAt: input.createdAt,
      workflowId: version.workflowId,
      workflowVersion: version.version,
      recipient: input.recipient,
      payload: input.payload,
    }),
    run: 1,
    wakeAt: null,
  };
}
