/** Workflow domain types. Field names are camelCase here; the proto contract is snake_case. */

export type NodeType = 'EMAIL' | 'SMS' | 'DELAY';

/** Per-workflow or per-node override of the default retry policy (3 attempts). */
export interface RetryPolicy {
  maxAttempts?: number;
  baseDelayMs?: number;
  maxDelayMs?: number;
}

export interface EmailContent {
  /** Each of these is a LiquidJS template. */
  to: string;
  subject: string;
  text?: string;
  html?: string;
  from?: string;
  replyTo?: string;
}

export interface SmsContent {
  to: string;
  body: string;
}

/** Exactly one of the three must be set. */
export interface DelaySpec {
  delayMs?: number;
  /** ISO-8601 duration with only W, D, H, M, S parts, e.g. `PT2S`, `P1DT12H`. */
  duration?: string;
  /** A template that renders to an RFC 3339 time. */
  until?: string;
}

interface NodeBase {
  id: string;
  retry?: RetryPolicy;
}

export interface EmailNode extends NodeBase {
  type: 'EMAIL';
  email: EmailContent;
}

export interface SmsNode extends NodeBase {
  type: 'SMS';
  sms: SmsContent;
}

export interface DelayNode extends NodeBase {
  type: 'DELAY';
  delay: DelaySpec;
}

export type WorkflowNode = EmailNode | SmsNode | DelayNode;

export interface Edge {
  from: string;
  to: string;
  /** A Liquid expression over the execution context, e.g. `payload.plan == "pro"`. */
  condition?: string;
}

/** What an operator writes. Immutable once stored as a version. */
export interface WorkflowDefinition {
  name: string;
  description?: string;
  entryNodeId: string;
  nodes: WorkflowNode[];
  edges: Edge[];
  retry?: RetryPolicy;
  /** Default sender and reply-to for email nodes that do not set their own. */
  defaultFrom?: string;
  defaultReplyTo?: string;
}

/** The latest state of a workflow. */
export interface Workflow extends WorkflowDefinition {
  id: string;
  version: number;
  active: boolean;
  etag: string;
  createdAt: Date;
  updatedAt: Date;
}

/** One immutable version; triggers are pinned to one of these. */
export interface WorkflowVersion {
  workflowId: string;
  version: number;
  definition: WorkflowDefinition;
}
