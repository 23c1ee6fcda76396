import type {
  Edge,
  RetryPolicy,
  Workflow,
  WorkflowDefinition,
  WorkflowNode,
  WorkflowVersion,
} from '../../../core/workflow/model';

/** A `workflows` row: the mutable head of a workflow. */
export interface WorkflowRow {
  id: string;
  name: string;
  description: string;
  current_version: number;
  active: boolean;
  etag: string;
  created_at: Date;
  updated_at: Date;
  deleted_at: Date | null;
}

/** A `workflow_versions` row: one immutable definition. */
export interface WorkflowVersionRow {
  workflow_id: string;
  version: number;
  definition: StoredDefinition;
  created_at: Date;
}

/**
 * The JSON stored in `workflow_versions.definition`. It is spelled out (not "whatever the domain
 * object is") so that a refactor of the domain type cannot silently change stored data; `v`
 * names the format for future migrations.
 */
export interface StoredDefinition {
  v: 1;
  name: string;
  description: string;
  entryNodeId: string;
  nodes: WorkflowNode[];
  edges: Edge[];
  retry?: RetryPolicy;
  defaultFrom?: string;
  defaultReplyTo?: string;
}

function copyRetry(retry: RetryPolicy | undefined): RetryPolicy | undefined {
  if (!retry) return undefined;
  const out: RetryPolicy = {};
  if (retry.maxAttempts !== undefined) out.maxAttempts = retry.maxAttempts;
  if (retry.baseDelayMs !== undefined) out.baseDelayMs = retry.baseDelayMs;
  if (retry.maxDelayMs !== undefined) out.maxDelayMs = retry.maxDelayMs;
  return out;
}

function copyNode(node: WorkflowNode): WorkflowNode {
  const retry = copyRetry(node.retry);
  const base = retry ? { id: node.id, retry } : { id: node.id };
  switch (node.type) {
    case 'EMAIL':
      return { ...base, type: 'EMAIL', email: dropUndefined({ ...node.email }) };
    case 'SMS':
      return { ...base, type: 'SMS', sms: { to: node.sms.to, body: node.sms.body } };
    case 'DELAY':
      return { ...base, type: 'DELAY', delay: dropUndefined({ ...node.delay }) };
  }
}

function dropUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}

function copyEdge(edge: Edge): Edge {
  return edge.condition === undefined || edge.condition === ''
    ? { from: edge.from, to: edge.to }
    : { from: edge.from, to: edge.to, condition: edge.condition };
}

export function definitionToStored(definition: WorkflowDefinition): StoredDefinition {
  return dropUndefined({
    v: 1 as const,
    name: definition.name,
    description: definition.description ?? '',
    entryNodeId: definition.entryNodeId,
    nodes: definition.nodes.map(copyNode),
    edges: definition.edges.map(copyEdge),
    retry: copyRetry(definition.retry),
    defaultFrom: definition.defaultFrom || undefined,
    defaultReplyTo: definition.defaultReplyTo || undefined,
  });
}

export function storedToDefinition(stored: StoredDefinition): WorkflowDefinition {
  return dropUndefined({
    name: stored.name,
    description: stored.description,
    entryNodeId: stored.entryNodeId,
    nodes: stored.nodes.map(copyNode),
    edges: stored.edges.map(copyEdge),
    retry: copyRetry(stored.retry),
    defaultFrom: stored.defaultFrom,
    defaultReplyTo: stored.defaultReplyTo,
  });
}

/** The head row plus one of its versions; `version` is that version's number. */
export function rowsToWorkflow(head: WorkflowRow, version: WorkflowVersionRow): Workflow {
  return {
    ...storedToDefinition(version.definition),
    id: head.id,
    version: version.version,
    active: head.active,
    etag: head.etag,
    createdAt: head.created_at,
    updatedAt: head.updated_at,
  };
}

export function rowToWorkflowVersion(row: WorkflowVersionRow): WorkflowVersion {
  return { workflowId: row.workflow_id, version: row.version, definition: storedToDefinition(row.definition) };
}
