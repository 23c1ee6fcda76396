import type { Edge, WorkflowDefinition, WorkflowNode } from './model';

/** The DAG view of a definition that the validator and the planner share. */
export interface WorkflowGraph {
  nodeById: ReadonlyMap<string, WorkflowNode>;
  /** Node position in `nodes`, the tie-breaker for every deterministic order. */
  indexOf: ReadonlyMap<string, number>;
  outgoing: ReadonlyMap<string, readonly Edge[]>;
  incoming: ReadonlyMap<string, readonly Edge[]>;
  /** Topological order, ties broken by node position; only complete for an acyclic graph. */
  order: readonly string[];
}

export function edgeKey(edge: Pick<Edge, 'from' | 'to'>): string {
  return `${edge.from}->${edge.to}`;
}

const graphs = new WeakMap<WorkflowDefinition, WorkflowGraph>();

/** Built once per (immutable) definition; edges to unknown nodes are ignored here. */
export function graphOf(def: WorkflowDefinition): WorkflowGraph {
  const cached = graphs.get(def);
  if (cached) return cached;
  const graph = buildGraph(def);
  graphs.set(def, graph);
  return graph;
}

export function buildGraph(def: WorkflowDefinition): WorkflowGraph {
  const nodeById = new Map<string, WorkflowNode>();
  const indexOf = new Map<string, number>();
  const nodes = Array.isArray(def.nodes) ? def.nodes : [];
  const edges = Array.isArray(def.edges) ? def.edges : [];
  // Defensive: the validator builds graphs from untrusted input; malformed entries are skipped.
  nodes.forEach((node, index) => {
    if (node && typeof node === 'object' && typeof node.id === 'string' && !nodeById.has(node.id)) {
      nodeById.set(node.id, node);
      indexOf.set(node.id, index);
    }
  });
  const outgoing = new Map<string, Edge[]>();
  const incoming = new Map<string, Edge[]>();
  for (const id of nodeById.keys()) {
    outgoing.set(id, []);
    incoming.set(id, []);
  }
  const seen = new Set<string>();
  for (const edge of edges) {
    if (!edge || typeof edge !== 'object' || !nodeById.has(edge.from) || !nodeById.has(edge.to) || edge.from === edge.to) continue;
    const key = edgeKey(edge);
    if (seen.has(key)) continue;
    seen.add(key);
    outgoing.get(edge.from)!.push(edge);
    incoming.get(edge.to)!.push(edge);
  }
  return { nodeById, indexOf, outgoing, incoming, order: topologicalOrder(nodeById, indexOf, outgoing, incoming) };
}

function topologicalOrder(
  nodeById: Map<string, WorkflowNode>,
  indexOf: Map<string, number>,
  outgoing: Map<string, Edge[]>,
  incoming: Map<string, Edge[]>,
): string[] {
  const remaining = new Map<string, number>();
  for (const id of nodeById.keys()) remaining.set(id, incoming.get(id)!.length);
  const order: string[] = [];
  const available = [...nodeById.keys()].filter((id) => remaining.get(id) === 0);
  while (available.length > 0) {
    // n is at most a few hundred: a linear scan for the lowest position is plenty.
    available.sort((a, b) => indexOf.get(a)! - indexOf.get(b)!);
    const id = available.shift()!;
    order.push(id);
    for (const edge of outgoing.get(id)!) {
      const left = remaining.get(edge.to)! - 1;
      remaining.set(edge.to, left);
      if (left === 0) available.push(edge.to);
    }
  }
  return order;
}

/** One cycle as a closed path, e.g. `['a', 'b', 'c', 'a']`, or undefined when acyclic. */
export function findCycle(graph: WorkflowGraph): string[] | undefined {
  const state = new Map<string, 'visiting' | 'done'>();
  const stack: string[] = [];
  const ids = [...graph.nodeById.keys()];
  const visit = (id: string): string[] | undefined => {
    state.set(id, 'visiting');
    stack.push(id);
    for (const edge of graph.outgoing.get(id) ?? []) {
      const next = state.get(edge.to);
      if (next === 'visiting') return [...stack.slice(stack.indexOf(edge.to)), edge.to];
      if (next === undefined) {
        const found = visit(edge.to);
        if (found) return found;
      }
    }
    stack.pop();
    state.set(id, 'done');
    return undefined;
  };
  for (const id of ids) {
    if (state.has(id)) continue;
    const found = visit(id);
    if (found) return found;
  }
  return undefined;
}

/** Every node reachable from `entry` along edges (conditions ignored). */
export function reachableFrom(graph: WorkflowGraph, entry: string): Set<string> {
  const seen = new Set<string>();
  if (!graph.nodeById.has(entry)) return seen;
  const queue = [entry];
  seen.add(entry);
  while (queue.length > 0) {
    const id = queue.shift()!;
    for (const edge of graph.outgoing.get(id) ?? []) {
      if (!seen.has(edge.to)) {
        seen.add(edge.to);
        queue.push(edge.to);
      }
    }
  }
  return seen;
}
