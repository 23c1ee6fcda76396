import type { ReasonCode, Violation } from '../errors';
import { parseIsoDuration } from '../delay/iso-duration';
import { DEFAULT_MAX_DELAY_MS } from '../delay/resolve-delay';
import { RETRY_POLICY_BOUNDS } from '../retry/retry-policy';
import { CONTEXT_ROOTS, parseCondition, parseTemplate } from '../templates/template-engine';
import { parseRfc3339 } from '../delay/rfc3339';
import { utf8ByteLength } from '../util/byte-size';
import { checkStepOrder } from './step-order';
import { buildGraph, edgeKey, findCycle, reachableFrom } from './graph';
import type { RetryPolicy, WorkflowDefinition } from './model';

export interface WorkflowLimits {
  maxNodes: number;
  /** Per template, in UTF-8 bytes. */
  maxTemplateBytes: number;
  maxDelayMs: number;
}

export const DEFAULT_WORKFLOW_LIMITS: Readonly<WorkflowLimits> = Object.freeze({
  maxNodes: 200,
  maxTemplateBytes: 65_536,
  maxDelayMs: DEFAULT_MAX_DELAY_MS,
});

export const NODE_ID_PATTERN = /^[a-z][a-z0-9_-]{0,62}$/;
const MAX_EDGES_PER_NODE = 10;
const MAX_NAME_LENGTH = 200;
const MAX_DESCRIPTION_LENGTH = 4000;
const NODE_TYPES = ['EMAIL', 'SMS', 'DELAY'] as const;
const CONTENT_FIELD = { EMAIL: 'email', SMS: 'sms', DELAY: 'delay' } as const;

type Report = (path: string, reason: ReasonCode, message: string) => void;

/**
 * Checks a workflow definition and returns EVERY violation (empty = valid). Paths use the
 * proto's snake_case names, e.g. `nodes[2].delay.duration`, so clients can point at the field.
 * The input is treated as untrusted: it may come straight from a decoded request.
 */
export function validateWorkflow(def: WorkflowDefinition, limits: Partial<WorkflowLimits> = {}): Violation[] {
  const bounds: WorkflowLimits = { ...DEFAULT_WORKFLOW_LIMITS, ...stripUndefined(limits) };
  const violations: Violation[] = [];
  const report: Report = (path, reason, message) => violations.push({ path, reason, message });

  if (!def || typeof def !== 'object') {
    report('', 'INVALID_ARGUMENT', 'a workflow definition is required');
    return violations;
  }
  checkText(report, 'name', def.name, MAX_NAME_LENGTH, true);
  checkText(report, 'description', def.description, MAX_DESCRIPTION_LENGTH, false);
  checkTemplate(report, 'default_from', def.defaultFrom, bounds);
  checkTemplate(report, 'default_reply_to', def.defaultReplyTo, bounds);
  checkRetry(report, 'retry', def.retry);

  const nodes = Array.isArray(def.nodes) ? def.nodes : [];
  const edges = Array.isArray(def.edges) ? def.edges : [];
  if (!Array.isArray(def.nodes) || nodes.length === 0) report('nodes', 'MISSING_FIELD', 'a workflow needs at least one node');
  if (nodes.length > bounds.maxNodes) report('nodes', 'TOO_MANY_NODES', `a workflow has at most ${bounds.maxNodes} nodes, got ${nodes.length}`);
  if (def.edges !== undefined && def.edges !== null && !Array.isArray(def.edges)) report('edges', 'INVALID_VALUE', 'edges must be a list');
  if (edges.length > bounds.maxNodes * MAX_EDGES_PER_NODE) report('edges', 'INVALID_VALUE', `a workflow has at most ${bounds.maxNodes * MAX_EDGES_PER_NODE} edges`);

  const ids = new Set<string>();
  nodes.forEach((node, i) => {
    const path = `nodes[${i}]`;
    if (!node || typeof node !== 'object') {
      report(path, 'INVALID_VALUE', 'a node must be an object');
      return;
    }
    if (typeof node.id !== 'string' || node.id === '') report(`${path}.id`, 'MISSING_FIELD', 'node id is required');
    else if (!NODE_ID_PATTERN.test(node.id)) report(`${path}.id`, 'INVALID_NODE_ID', `node id "${node.id.slice(0, 80)}" must match ${NODE_ID_PATTERN.source}`);
    else if (ids.has(node.id)) report(`${path}.id`, 'DUPLICATE_NODE_ID', `node id "${node.id}" is used more than once`);
    else ids.add(node.id);
    checkNodeContent(report, path, node as unknown as Record<string, unknown>, bounds);
    checkRetry(report, `${path}.retry`, node.retry);
  });

  if (typeof def.entryNodeId !== 'string' || def.entryNodeId === '') report('entry_node_id', 'MISSING_FIELD', 'entry_node_id is required');
  else if (!ids.has(def.entryNodeId)) report('entry_node_id', 'ENTRY_NODE_MISSING', `entry node "${def.entryNodeId.slice(0, 80)}" is not a node of this workflow`);

  const edgeKeys = new Set<string>();
  edges.forEach((edge, i) => {
    const path = `edges[${i}]`;
    if (!edge || typeof edge !== 'object') {
      report(path, 'INVALID_VALUE', 'an edge must be an object');
      return;
    }
    const fromOk = checkEdgeEnd(report, `${path}.from`, edge.from, ids);
    const toOk = checkEdgeEnd(report, `${path}.to`, edge.to, ids);
    if (fromOk && toOk && edge.from === edge.to) report(path, 'SELF_LOOP', `edge ${edge.from} -> ${edge.to} loops on itself`);
    else if (fromOk && toOk) {
      const key = edgeKey(edge);
      if (edgeKeys.has(key)) report(path, 'DUPLICATE_EDGE', `edge ${edge.from} -> ${edge.to} appears more than once`);
      edgeKeys.add(key);
    }
    if (edge.condition !== undefined && edge.condition !== null && edge.condition !== '') {
      if (typeof edge.condition !== 'string') report(`${path}.condition`, 'INVALID_VALUE', 'condition must be a string');
      else if (utf8ByteLength(edge.condition) > bounds.maxTemplateBytes) report(`${path}.condition`, 'TEMPLATE_TOO_LARGE', `condition exceeds ${bounds.maxTemplateBytes} bytes`);
      else for (const problem of parseCondition(edge.condition, { roots: CONTEXT_ROOTS })) report(`${path}.condition`, problem.reason, problem.message);
    }
  });

  // Graph-level rules only make sense over the well-formed part; the rest is already reported.
  if (nodes.length > 0 && nodes.length <= bounds.maxNodes) {
    // Not the cached graphOf: a definition under validation may still be edited by its caller.
    const graph = buildGraph(def);
    const cycle = findCycle(graph);
    if (cycle) report('edges', 'CYCLE_DETECTED', `the graph has a cycle: ${cycle.join(' -> ')}`);
    else checkStepOrder(def, graph, report);
    if (ids.has(def.entryNodeId)) {
      const reachable = reachableFrom(graph, def.entryNodeId);
      nodes.forEach((node, i) => {
        if (node && typeof node.id === 'string' && ids.has(node.id) && graph.indexOf.get(node.id) === i && !reachable.has(node.id)) {
          report(`nodes[${i}]`, 'UNREACHABLE_NODE', `node "${node.id}" is not reachable from the entry node "${def.entryNodeId}"`);
        }
      });
    }
  }
  return violations;
}

function checkNodeContent(report: Report, path: string, node: Record<string, unknown>, bounds: WorkflowLimits): void {
  const type = node.type;
  if (!NODE_TYPES.includes(type as (typeof NODE_TYPES)[number])) {
    report(`${path}.type`, type === undefined || type === '' ? 'MISSING_FIELD' : 'INVALID_VALUE', 'type must be EMAIL, SMS or DELAY');
    return;
  }
  const field = CONTENT_FIELD[type as keyof typeof CONTENT_FIELD];
  for (const other of Object.values(CONTENT_FIELD)) {
    if (other !== field && node[other] !== undefined && node[other] !== null) {
      report(`${path}.${other}`, 'CONFLICTING_FIELDS', `a ${String(type)} node must not carry ${other} content`);
    }
  }
  const content = node[field];
  if (!content || typeof content !== 'object') {
    report(`${path}.${field}`, 'MISSING_FIELD', `a ${String(type)} node needs its ${field} content`);
    return;
  }
  const c = content as Record<string, unknown>;
  const p = `${path}.${field}`;
  if (type === 'EMAIL') {
    requiredTemplate(report, `${p}.to`, c.to, bounds);
    requiredTemplate(report, `${p}.subject`, c.subject, bounds);
    if (isBlank(c.text) && isBlank(c.html)) report(`${p}.text`, 'MISSING_FIELD', 'an email needs text or html (or both)');
    checkTemplate(report, `${p}.text`, c.text, bounds);
    checkTemplate(report, `${p}.html`, c.html, bounds, true);
    checkTemplate(report, `${p}.from`, c.from, bounds);
    checkTemplate(report, `${p}.reply_to`, c.replyTo, bounds);
  } else if (type === 'SMS') {
    requiredTemplate(report, `${p}.to`, c.to, bounds);
    requiredTemplate(report, `${p}.body`, c.body, bounds);
  } else {
    checkDelay(report, p, c, bounds);
  }
}

function checkDelay(report: Report, p: string, c: Record<string, unknown>, bounds: WorkflowLimits): void {
  const set = (['delayMs', 'duration', 'until'] as const).filter((k) => !isBlank(c[k]));
  if (set.length === 0) {
    report(p, 'MISSING_FIELD', 'a delay sets exactly one of delay_ms, duration or until');
    return;
  }
  if (set.length > 1) report(p, 'CONFLICTING_FIELDS', 'a delay sets exactly one of delay_ms, duration or until');
  if (!isBlank(c.delayMs)) {
    const ms = c.delayMs;
    if (typeof ms !== 'number' || !Number.isInteger(ms)) report(`${p}.delay_ms`, 'INVALID_VALUE', 'delay_ms must be an integer');
    else if (ms < 1 || ms > bounds.maxDelayMs) report(`${p}.delay_ms`, 'DELAY_OUT_OF_RANGE', `delay_ms must be between 1 and ${bounds.maxDelayMs}`);
  }
  if (!isBlank(c.duration)) {
    if (typeof c.duration !== 'string') report(`${p}.duration`, 'INVALID_DURATION', 'duration must be an ISO-8601 string');
    else {
      try {
        const ms = parseIsoDuration(c.duration);
        if (ms > bounds.maxDelayMs) report(`${p}.duration`, 'DELAY_OUT_OF_RANGE', `duration must be at most ${bounds.maxDelayMs} ms`);
      } catch (error) {
        report(`${p}.duration`, 'INVALID_DURATION', (error as Error).message);
      }
    }
  }
  checkTemplate(report, `${p}.until`, c.until, bounds);
  // A literal until (no Liquid in it) can be checked now rather than failing at run time.
  if (typeof c.until === 'string' && c.until !== '' && !/\{\{|\{%/.test(c.until) && !parseRfc3339(c.until.trim())) {
    report(`${p}.until`, 'INVALID_TIMESTAMP', `until "${c.until.slice(0, 64)}" is not an RFC 3339 time such as 2030-01-01T09:00:00Z`);
  }
}

function checkRetry(report: Report, path: string, retry: RetryPolicy | undefined): void {
  if (retry === undefined || retry === null) return;
  if (typeof retry !== 'object') {
    report(path, 'INVALID_RETRY_POLICY', 'retry must be an object');
    return;
  }
  const fields = [
    ['maxAttempts', 'max_attempts'],
    ['baseDelayMs', 'base_delay_ms'],
    ['maxDelayMs', 'max_delay_ms'],
  ] as const;
  for (const [key, wire] of fields) {
    const value = retry[key];
    if (value === undefined || value === null) continue;
    const { min, max } = RETRY_POLICY_BOUNDS[key];
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
      report(`${path}.${wire}`, 'INVALID_RETRY_POLICY', `${wire} must be an integer from ${min} to ${max}`);
    }
  }
  const { baseDelayMs, maxDelayMs } = retry;
  if (typeof baseDelayMs === 'number' && typeof maxDelayMs === 'number' && maxDelayMs < baseDelayMs) {
    report(`${path}.max_delay_ms`, 'INVALID_RETRY_POLICY', 'max_delay_ms must not be below base_delay_ms');
  }
}

function checkEdgeEnd(report: Report, path: string, id: unknown, ids: Set<string>): boolean {
  if (typeof id !== 'string' || id === '') {
    report(path, 'MISSING_FIELD', 'an edge names both of its nodes');
    return false;
  }
  if (!ids.has(id)) {
    report(path, 'UNKNOWN_NODE', `edge refers to unknown node "${id.slice(0, 80)}"`);
    return false;
  }
  return true;
}

function requiredTemplate(report: Report, path: string, value: unknown, bounds: WorkflowLimits): void {
  if (isBlank(value)) report(path, 'MISSING_FIELD', `${path.split('.').pop()} is required`);
  else checkTemplate(report, path, value, bounds);
}

function checkTemplate(report: Report, path: string, value: unknown, bounds: WorkflowLimits, escapeHtml = false): void {
  if (isBlank(value)) return;
  if (typeof value !== 'string') {
    report(path, 'INVALID_VALUE', 'must be a string template');
    return;
  }
  if (utf8ByteLength(value) > bounds.maxTemplateBytes) {
    report(path, 'TEMPLATE_TOO_LARGE', `template exceeds ${bounds.maxTemplateBytes} bytes`);
    return;
  }
  for (const problem of parseTemplate(value, { escapeHtml, roots: CONTEXT_ROOTS })) report(path, problem.reason, problem.message);
}

function checkText(report: Report, path: string, value: unknown, maxLength: number, required: boolean): void {
  if (isBlank(value)) {
    if (required) report(path, 'MISSING_FIELD', `${path} is required`);
    return;
  }
  if (typeof value !== 'string') report(path, 'INVALID_VALUE', `${path} must be a string`);
  else if (value.trim() === '') report(path, required ? 'MISSING_FIELD' : 'INVALID_VALUE', `${path} must not be blank`);
  else if (value.length > maxLength) report(path, 'INVALID_VALUE', `${path} is at most ${maxLength} characters`);
}

function isBlank(value: unknown): boolean {
  return value === undefined || value === null || value === '';
}

function stripUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
