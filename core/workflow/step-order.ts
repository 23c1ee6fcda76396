import type { ReasonCode } from '../errors';
import { stepReferences, type StepReference } from '../templates/template-engine';
import type { WorkflowGraph } from './graph';
import type { WorkflowDefinition, WorkflowNode } from './model';

type Report = (path: string, reason: ReasonCode, message: string) => void;

/**
 * A template may read `steps.<id>` only for a node that always runs (or is skipped) before it,
 * that is, an ancestor in the DAG; an edge condition may also read its own `from` node.
 * Anything else is undefined when it renders, and a missing variable is a permanent failure,
 * so it is reported at validation instead of failing triggers later. Only for acyclic graphs.
 */
export function checkStepOrder(def: WorkflowDefinition, graph: WorkflowGraph, report: Report): void {
  const ancestors = ancestorsOf(graph);
  (Array.isArray(def.nodes) ? def.nodes : []).forEach((node, i) => {
    if (!node || graph.indexOf.get(node.id) !== i) return;
    const before = ancestors.get(node.id)!;
    for (const { path, source, escapeHtml } of templatesOf(node, `nodes[${i}]`)) {
      for (const ref of stepReferences(source, { escapeHtml })) checkReference(report, path, ref, before, `node "${node.id}"`, graph);
    }
  });
  (Array.isArray(def.edges) ? def.edges : []).forEach((edge, i) => {
    if (!edge || typeof edge.condition !== 'string' || edge.condition === '' || !graph.nodeById.has(edge.from)) return;
    const before = new Set([...ancestors.get(edge.from)!, edge.from]);
    for (const ref of stepReferences(edge.condition, { condition: true })) {
      checkReference(report, `edges[${i}].condition`, ref, before, `the edge ${edge.from} -> ${edge.to}`, graph);
    }
  });
}

function checkReference(report: Report, path: string, ref: StepReference, before: Set<string>, what: string, graph: WorkflowGraph): void {
  if (before.has(ref.nodeId)) return;
  const where = ref.line === undefined ? '' : ` at line ${ref.line}, column ${ref.col}`;
  const why = graph.nodeById.has(ref.nodeId) ? `does not run before ${what}` : 'is not a node of this workflow';
  report(path, 'UNDEFINED_VARIABLE', `steps.${ref.nodeId}${where} ${why}, so it would be undefined when this renders`);
}

function templatesOf(node: WorkflowNode, path: string): Array<{ path: string; source: string; escapeHtml?: boolean }> {
  const fields: Array<[string, unknown, boolean?]> =
    node.type === 'EMAIL' && node.email
      ? [
          ['email.to', node.email.to],
          ['email.subject', node.email.subject],
          ['email.text', node.email.text],
          ['email.html', node.email.html, true],
          ['email.from', node.email.from],
          ['email.reply_to', node.email.replyTo],
        ]
      : node.type === 'SMS' && node.sms
        ? [
            ['sms.to', node.sms.to],
            ['sms.body', node.sms.body],
          ]
        : node.type === 'DELAY' && node.delay
          ? [['delay.until', node.delay.until]]
          : [];
  return fields
    .filter((f): f is [string, string, boolean?] => typeof f[1] === 'string' && f[1] !== '')
    .map(([field, source, escapeHtml]) => ({ path: `${path}.${field}`, source, escapeHtml }));
}

/** Every node's ancestors, walking incoming edges in topological order. */
function ancestorsOf(graph: WorkflowGraph): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>();
  for (const id of graph.order) {
    const set = new Set<string>();
    for (const edge of graph.incoming.get(id) ?? []) {
      set.add(edge.from);
      for (const a of out.get(edge.from) ?? []) set.add(a);
    }
    out.set(id, set);
  }
  for (const id of graph.nodeById.keys()) if (!out.has(id)) out.set(id, new Set());
  return out;
}
