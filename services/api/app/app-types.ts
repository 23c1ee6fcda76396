/**
 * The api's application layer, in domain types only. gRPC handlers (services/grpc) convert
 * proto <-> these types and call these interfaces; implementations live in services/api/app.
 * Every method throws core's HeraldError subclasses with a reason code (NOT_FOUND, ETAG_MISMATCH,
 * WORKFLOW_INACTIVE, INVALID_ARGUMENT with violations, ...).
 */
import type { Role } from '../../../core/auth/roles';
import type { Violation } from '../../../core/errors';
import type { ExecutionLogEntry } from '../../../core/trigger/log';
import type { Recipient, TriggerInstance, TriggerStatus } from '../../../core/trigger/model';
import type { Workflow, WorkflowDefinition } from '../../../core/workflow/model';

export interface Page<T> {
  items: T[];
  /** Empty when there are no more pages. Opaque to clients. */
  nextPageToken: string;
}

export interface PageRequest {
  pageSize: number;
  pageToken: string;
}

export interface WorkflowApp {
  create(definition: WorkflowDefinition): Promise<Workflow>;
  /** Latest version, or the given one. */
  get(id: string, version?: number): Promise<Workflow>;
  list(request: PageRequest & { activeOnly?: boolean }): Promise<Page<Workflow>>;
  /** Writes version+1. `etag` must match the current one, else ETAG_MISMATCH. */
  update(id: string, definition: WorkflowDefinition, etag: string): Promise<Workflow>;
  /** Only when inactive (WORKFLOW_ACTIVE otherwise). Etag checked when non-empty. */
  delete(id: string, etag: string): Promise<void>;
  activate(id: string, etag: string): Promise<Workflow>;
  deactivate(id: string, etag: string): Promise<Workflow>;
  validate(definition: WorkflowDefinition): Violation[];
  preview(definition: WorkflowDefinition, sample: { payload: Record<string, unknown>; recipient: Recipient }): Promise<NodePreview[]>;
}

export interface NodePreview {
  nodeId: string;
  type: 'EMAIL' | 'SMS' | 'DELAY';
  /** Rendered fields (to, subject, text, html, body, wake_at), or empty when rendering failed. */
  rendered: Record<string, string>;
  violations: Violation[];
}

export interface CreateTriggerInput {
  workflowId: string;
  idempotencyKey: string;
  recipient: Recipient;
  payload: Record<string, unknown>;
  /** Set by the app from the active span, never by a client: the trace the trigger's steps continue. */
  traceparent?: string;
}

export interface AcceptedTrigger {
  instance: TriggerInstance;
  deduplicated: boolean;
}

export type BatchResult = { ok: AcceptedTrigger } | { error: import('../../../core/errors').HeraldError };

export interface TriggerListFilter extends PageRequest {
  workflowId?: string;
  status?: TriggerStatus;
  createdAfter?: Date;
  createdBefore?: Date;
}

export interface OutboxMessage {
  id: string;
  triggerId: string;
  workflowId: string;
  nodeId: string;
  channel: 'email' | 'sms';
  idempotencyKey: string;
  message: Record<string, unknown>;
  createdAt: Date;
}

export interface TriggerApp {
  create(input: CreateTriggerInput): Promise<AcceptedTrigger>;
  /** Up to 1,000; each result independent. Shares DB round trips and Kafka batches. */
  batchCreate(inputs: CreateTriggerInput[]): Promise<BatchResult[]>;
  get(id: string): Promise<TriggerInstance>;
  list(filter: TriggerListFilter): Promise<Page<TriggerInstance>>;
  cancel(id: string): Promise<TriggerInstance>;
  /** failed -> enqueued with a fresh attempt budget (run + 1); re-published to Kafka. */
  retry(id: string): Promise<TriggerInstance>;
  listLogs(request: PageRequest & { triggerId?: string; workflowId?: string }): Promise<Page<ExecutionLogEntry>>;
  /** Log entries as they happen (starting with those already written), ending at a terminal state. */
  watch(triggerId: string, signal: AbortSignal): AsyncIterable<ExecutionLogEntry>;
  listOutbox(request: PageRequest & { triggerId?: string }): Promise<Page<OutboxMessage>>;
}

export type { Role };

export interface ApiKey {
  id: string;
  role: Role;
  description: string;
  createdAt: Date;
  revokedAt: Date | null;
  lastUsedAt: Date | null;
}

export interface Principal {
  keyId: string;
  role: Role;
}

export interface AdminApp {
  /** The secret is returned once and stored only as a hash. */
  createKey(role: Role, description: string): Promise<{ key: ApiKey; secret: string }>;
  listKeys(request: PageRequest): Promise<Page<ApiKey>>;
  revokeKey(id: string): Promise<ApiKey>;
  /** Null for a missing, malformed, unknown or revoked key. Constant-time comparison. */
  authenticate(bearerSecret: string): Promise<Principal | null>;
  /** Makes sure a systemAdmin key with this exact secret exists (HERALD_BOOTSTRAP_ADMIN_KEY). */
  ensureBootstrapKey(secret: string): Promise<void>;
}

export interface SchedulerStatus {
  schedulerId: string;
  partitions: Array<{ partition: number; epoch: number }>;
  actorsInMemory: number;
  parkedTimers: number;
  consumerLag: number;
  startedAt: Date;
}

export interface ClusterApp {
  heartbeat(status: SchedulerStatus): Promise<void>;
  listSchedulers(): Promise<Array<SchedulerStatus & { lastSeenAt: Date }>>;
}
