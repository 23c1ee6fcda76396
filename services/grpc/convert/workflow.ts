import type { Violation } from '../../../core/errors';
import type { Edge, RetryPolicy, Workflow, WorkflowDefinition, WorkflowNode } from '../../../core/workflow/model';
import type { NodePreview } from '../../api/app/app-types';
import * as pb from '../gen/herald/v1/workflow';
import { optionalString, timestampToProto, Violations } from './common';

const NODE_TYPE_TO_PROTO = { EMAIL: pb.NodeType.NODE_TYPE_EMAIL, SMS: pb.NodeType.NODE_TYPE_SMS, DELAY: pb.NodeType.NODE_TYPE_DELAY } as const;
const CASE_OF_NODE_TYPE: Partial<Record<pb.NodeType, 'email' | 'sms' | 'delay'>> = {
  [pb.NodeType.NODE_TYPE_EMAIL]: 'email',
  [pb.NodeType.NODE_TYPE_SMS]: 'sms',
  [pb.NodeType.NODE_TYPE_DELAY]: 'delay',
};

/**
 * The definition part of a proto Workflow; output-only fields are ignored. Problems only the
 * wire format can have (a node type that contradicts its config) are returned as violations,
 * addressed relative to the workflow; core's validator finds everything else.
 */
export function definitionFromProto(workflow: pb.Workflow): { definition: WorkflowDefinition; violations: Violation[] } {
  const violations = new Violations();
  const nodes: WorkflowNode[] = [];
  workflow.nodes.forEach((node, index) => {
    const converted = nodeFromProto(node, `nodes[${index}]`, violations);
    if (converted) nodes.push(converted);
  });
  const definition: WorkflowDefinition = {
    name: workflow.name,
    description: optionalString(workflow.description),
    entryNodeId: workflow.entryNodeId,
    nodes,
    edges: workflow.edges.map(edgeFromProto),
    retry: retryFromProto(workflow.retry),
    defaultFrom: optionalString(workflow.defaultFrom),
    defaultReplyTo: optionalString(workflow.defaultReplyTo),
  };
  return { definition, violations: violations.list };
}

function nodeFromProto(node: pb.Node, path: string, violations: Violations): WorkflowNode | undefined {
  const declared = CASE_OF_NODE_TYPE[node.type];
  const config = node.config;
  if (node.type !== pb.NodeType.NODE_TYPE_UNSPECIFIED && !declared) {
    violations.add(`${path}.type`, 'INVALID_VALUE', `${path}.type is not a known node type`);
    return undefined;
  }
  if (declared && config && config.$case !== declared) {
    violations.add(`${path}.type`, 'CONFLICTING_FIELDS', `${path}.type is ${pb.NodeType[node.type]} but ${path}.${config.$case} is set`);
    return undefined;
  }
  const kind = config?.$case ?? declared;
  if (!kind) {
    violations.add(`${path}.type`, 'MISSING_FIELD', `${path} needs a type and its email, sms or delay config`);
    return undefined;
  }
  // A type without its config becomes an empty config, so core's validator names each missing field.
  const base = { id: node.id, retry: retryFromProto(node.retry) };
  switch (kind) {
    case 'email': {
      const email = config?.$case === 'email' ? config.email : pb.EmailConfig.create();
      return {
        ...base,
        type: 'EMAIL',
        email: {
          to: email.to,
          subject: email.subject,
          text: optionalString(email.text),
          html: optionalString(email.html),
          from: optionalString(email.from),
          replyTo: optionalString(email.replyTo),
        },
      };
    }
    case 'sms': {
      const sms = config?.$case === 'sms' ? config.sms : pb.SmsConfig.create();
      return { ...base, type: 'SMS', sms: { to: sms.to, body: sms.body } };
    }
    case 'delay': {
      const delay = config?.$case === 'delay' ? config.delay.delay : undefined;
      return {
        ...base,
        type: 'DELAY',
        delay: {
          delayMs: delay?.$case === 'delayMs' ? delay.delayMs : undefined,
          duration: delay?.$case === 'duration' ? delay.duration : undefined,
          until: delay?.$case === 'until' ? delay.until : undefined,
        },
      };
    }
  }
}

function edgeFromProto(edge: pb.Edge): Edge {
  return { from: edge.from, to: edge.to, condition: optionalString(edge.condition) };
}

function retryFromProto(retry: pb.RetryPolicy | undefined): RetryPolicy | undefined {
  if (!retry) return undefined;
  return { maxAttempts: retry.maxAttempts, baseDelayMs: retry.baseDelayMs, maxDelayMs: retry.maxDelayMs };
}

export function workflowToProto(workflow: Workflow): pb.Workflow {
  return {
    id: workflow.id,
    name: workflow.name,
    description: workflow.description ?? '',
    version: workflow.version,
    active: workflow.active,
    entryNodeId: workflow.entryNodeId,
    nodes: workflow.nodes.map(nodeToProto),
    edges: workflow.edges.map((edge) => ({ from: edge.from, to: edge.to, condition: edge.condition ?? '' })),
    retry: retryToProto(workflow.retry),
    defaultFrom: workflow.defaultFrom ?? '',
    defaultReplyTo: workflow.defaultReplyTo ?? '',
    etag: workflow.etag,
    createTime: timestampToProto(workflow.createdAt),
    updateTime: timestampToProto(workflow.updatedAt),
  };
}

function nodeToProto(node: WorkflowNode): pb.Node {
  const base = { id: node.id, type: NODE_TYPE_TO_PROTO[node.type], retry: retryToProto(node.retry) };
  switch (node.type) {
    case 'EMAIL': {
      const e = node.email;
      const email = { to: e.to, subject: e.subject, text: e.text ?? '', html: e.html ?? '', from: e.from ?? '', replyTo: e.replyTo ?? '' };
      return { ...base, config: { $case: 'email', email } };
    }
    case 'SMS':
      return { ...base, config: { $case: 'sms', sms: { to: node.sms.to, body: node.sms.body } } };
    case 'DELAY':
      return { ...base, config: { $case: 'delay', delay: { delay: delayToProto(node.delay) } } };
  }
}

function delayToProto(delay: { delayMs?: number; duration?: string; until?: string }): pb.DelayConfig['delay'] {
  if (delay.delayMs !== undefined) return { $case: 'delayMs', delayMs: delay.delayMs };
  if (delay.duration !== undefined) return { $case: 'duration', duration: delay.duration };
  if (delay.until !== undefined) return { $case: 'until', until: delay.until };
  return undefined;
}

function retryToProto(retry: RetryPolicy | undefined): pb.RetryPolicy | undefined {
  if (!retry) return undefined;
  return { maxAttempts: retry.maxAttempts, baseDelayMs: retry.baseDelayMs, maxDelayMs: retry.maxDelayMs };
}

export function violationToProto(violation: Violation): pb.Violation {
  return { path: violation.path, reason: violation.reason, message: violation.message };
}

export function nodePreviewToProto(preview: NodePreview): pb.NodePreview {
  return {
    nodeId: preview.nodeId,
    type: NODE_TYPE_TO_PROTO[preview.type],
    rendered: { ...preview.rendered },
    violations: preview.violations.map(violationToProto),
  };
}
