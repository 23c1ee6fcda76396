import { TerminalError } from '../errors';
import { resolveDelay } from '../delay/resolve-delay';
import { renderEmail, renderSms } from '../templates/render-message';
import { evaluateCondition } from '../templates/template-engine';
import { jsonByteLength } from '../util/byte-size';
import { contextByteLength } from '../util/context-size';
import { edgeKey } from '../workflow/graph';
import type { WorkflowGraph } from '../workflow/graph';
import type { WorkflowDefinition, WorkflowNode } from '../workflow/model';
import type { LogEntryDraft } from './log';
import type { StepState, TriggerState } from './model';
import type { Effect, RandomSource } from './planner-types';
import { idempotencyKeyFor } from './planner-types';
import { assertTransition } from './state-machine';

/** One decision in progress: a private copy of the state plus the effects emitted so far. */
export interface PlannerSession {
  def: WorkflowDefinition;
  graph: WorkflowGraph;
  state: TriggerState;
  effects: Effect[];
  now: Date;
  nowIso: string;
  random: RandomSource;
  maxDelayMs: number;
  maxContextBytes: number;
}

export interface StepFailure {
  reason: string;
  message: string;
  retryable: boolean;
  /** The provider's own code and text, for the log only. */
  metadata?: Record<string, string>;
}

export function appendLog(s: PlannerSession, entry: LogEntryDraft): void {
  s.effects.push({ type: 'AppendLog', entry });
}

export function stepOf(s: PlannerSession, nodeId: string): StepState {
  // A cursor written for an older shape may lack a node: treat it as never started.
  return (s.state.cursor.steps[nodeId] ??= { status: 'pending', attempts: 0 });
}

export function failTrigger(s: PlannerSession, reason: string, message: string, nodeId?: string): void {
  assertTransition(s.state.status, 'failed');
  s.state.status = 'failed';
  s.state.wakeAt = null;
  appendLog(s, { event: 'TRIGGER_FAILED', level: 'error', message, reason, ...(nodeId ? { nodeId } : {}) });
  s.effects.push({ type: 'Fail', reason, message });
}

/** A step that will not be retried: it fails, and with it the trigger. */
export function failStep(s: PlannerSession, nodeId: string, failure: StepFailure, exhausted = false): void {
  const step = stepOf(s, nodeId);
  step.status = 'failed';
  step.finishedAt = s.nowIso;
  delete step.wakeAt;
  step.lastError = { reason: failure.reason, message: failure.message, retryable: failure.retryable };
  appendLog(s, {
    event: 'STEP_FAILED',
    level: 'error',
    message: exhausted ? `${failure.message} (gave up after ${step.attempts} attempts)` : failure.message,
    nodeId,
    attempt: step.attempts,
    reason: failure.reason,
    classification: failure.retryable ? 'retryable' : 'terminal',
    ...(exhausted || failure.metadata
      ? { data: { ...(exhausted ? { exhausted: true } : {}), ...(failure.metadata ? { provider: failure.metadata } : {}) } }
      : {}),
  });
  const reason = exhausted ? 'ATTEMPTS_EXHAUSTED' : failure.reason;
  failTrigger(s, reason, `step ${nodeId} failed: ${failure.reason}: ${failure.message}`, nodeId);
}

/** Records a step's output under `steps.<id>` (and nowhere else), then resolves its edges. */
export function completeStep(s: PlannerSession, nodeId: string, output: Record<string, unknown>): boolean {
  const step = stepOf(s, nodeId);
  const steps = s.state.context.steps;
  const previous = Object.prototype.hasOwnProperty.call(steps, nodeId) ? steps[nodeId] : undefined;
  steps[nodeId] = output;
  const size = contextByteLength(s.state.context);
  if (size === undefined || size > s.maxContextBytes) {
    if (previous === undefined) delete steps[nodeId];
    else steps[nodeId] = previous;
    const message = size === undefined
      ? 'step output is not JSON-serialisable'
      : `execution context would be ${size} bytes; the limit is ${s.maxContextBytes}`;
    failStep(s, nodeId, { reason: 'CONTEXT_TOO_LARGE', message, retryable: false });
    return false;
  }
  step.status = 'done';
  step.finishedAt = s.nowIso;
  delete step.wakeAt;
  delete step.lastError;
  const outputBytes = jsonByteLength(output) ?? Infinity;
  appendLog(s, {
    event: 'STEP_SUCCEEDED',
    level: 'info',
    message: `step ${nodeId} succeeded`,
    nodeId,
    attempt: step.attempts,
    ...(outputBytes <= 1024 ? { data: { output } } : {}),
  });
  return resolveOutgoing(s, nodeId);
}

/**
 * Resolves the edges leaving a finished node: from a done node an edge is taken when its
 * condition holds (or it has none); from a skipped node it is never taken. A condition that
 * cannot be evaluated fails the trigger (permanently, as any render error). Returns false then.
 */
export function resolveOutgoing(s: PlannerSession, nodeId: string): boolean {
  const source = stepOf(s, nodeId);
  for (const edge of s.graph.outgoing.get(nodeId) ?? []) {
    const key = edgeKey(edge);
    if (s.state.cursor.edges[key] !== undefined) continue;
    let taken = false;
    if (source.status === 'done') {
      if (edge.condition === undefined || edge.condition === null || edge.condition === '') taken = true;
      else {
        try {
          taken = evaluateCondition(edge.condition, s.state.context, { now: s.now });
        } catch (error) {
          const reason = error instanceof TerminalError ? error.reason : 'TEMPLATE_RENDER_FAILED';
          failTrigger(s, reason, `condition on edge ${key} failed: ${(error as Error).message}`, edge.to);
          return false;
        }
      }
    }
    s.state.cursor.edges[key] = taken ? 'taken' : 'not_taken';
    if (!settleTarget(s, edge.to)) return false;
  }
  return true;
}

/** A pending node becomes ready once every incoming edge is resolved and one was taken; else skipped. */
function settleTarget(s: PlannerSession, nodeId: string): boolean {
  const step = stepOf(s, nodeId);
  if (step.status !== 'pending') return true;
  const incoming = s.graph.incoming.get(nodeId) ?? [];
  // Only the entry has no inputs; it starts ready and is never settled here.
  if (incoming.length === 0) return true;
  const resolutions = incoming.map((edge) => s.state.cursor.edges[edgeKey(edge)]);
  if (resolutions.some((r) => r === undefined)) return true;
  if (resolutions.includes('taken')) {
    step.status = 'ready';
    return true;
  }
  step.status = 'skipped';
  step.finishedAt = s.nowIso;
  appendLog(s, { event: 'STEP_SKIPPED', level: 'info', message: `step ${nodeId} skipped: no incoming edge was taken`, nodeId });
  return resolveOutgoing(s, nodeId);
}

/**
 * Brings the cursor to a fixed point: every finished node has resolved edges and every pending
 * node whose inputs are all resolved is ready or skipped. Normally a no-op; after an operator's
 * retry it re-resolves what a failing condition left open.
 */
function settleAll(s: PlannerSession): boolean {
  for (const id of s.graph.order) {
    const status = stepOf(s, id).status;
    if ((status === 'done' || status === 'skipped') && !resolveOutgoing(s, id)) return false;
    if (status === 'pending' && !settleTarget(s, id)) return false;
  }
  return true;
}

export function renderFailure(error: unknown): StepFailure {
  // Rendering is pure: whatever went wrong will go wrong again, so it is never retried.
  if (error instanceof TerminalError) return { reason: error.reason, message: error.message, retryable: false };
  return { reason: 'TEMPLATE_RENDER_FAILED', message: String((error as Error)?.message ?? error), retryable: false };
}

/** Renders the Send effect for a step's attempt; undefined (and the trigger failed) when rendering fails. */
export function buildSend(s: PlannerSession, node: WorkflowNode, attempt: number): Effect | undefined {
  const key = idempotencyKeyFor(s.state.context.trigger.id, node.id, attempt, s.state.run);
  try {
    if (node.type === 'EMAIL') {
      const defaults = { from: s.def.defaultFrom, replyTo: s.def.defaultReplyTo };
      const message = renderEmail(node, s.state.context, defaults, { now: s.now });
      return { type: 'SendEmail', nodeId: node.id, attempt, idempotencyKey: key, message };
    }
    if (node.type === 'SMS') {
      const message = renderSms(node, s.state.context, { now: s.now });
      return { type: 'SendSms', nodeId: node.id, attempt, idempotencyKey: key, message };
    }
    throw new TerminalError('INTERNAL', `node ${node.id} does not send anything`);
  } catch (error) {
    failStep(s, node.id, renderFailure(error));
    return undefined;
  }
}

function runNode(s: PlannerSession, nodeId: string): void {
  const node = s.graph.nodeById.get(nodeId)!;
  const step = stepOf(s, nodeId);
  const attempt = step.attempts + 1;
  step.attempts = attempt;
  step.startedAt = s.nowIso;
  delete step.wakeAt;
  if (node.type === 'DELAY') {
    let wake: Date;
    try {
      wake = resolveDelay(node.delay, s.state.context, s.now, s.maxDelayMs);
    } catch (error) {
      failStep(s, nodeId, renderFailure(error));
      return;
    }
    const wakeAt = wake.toISOString();
    appendLog(s, { event: 'DELAY_SCHEDULED', level: 'info', message: `step ${nodeId} waits until ${wakeAt}`, nodeId, wakeAt });
    if (wake.getTime() <= s.now.getTime()) {
      completeStep(s, nodeId, { wake_at: wakeAt, fired_at: s.nowIso });
      return;
    }
    step.status = 'waiting';
    step.wakeAt = wakeAt;
    return;
  }
  const send = buildSend(s, node, attempt);
  if (!send) return;
  step.status = 'running';
  // Logged before the send so the checkpoint says "attempt k started" before anything leaves.
  appendLog(s, { event: 'STEP_STARTED', level: 'info', message: `step ${nodeId} attempt ${attempt} started`, nodeId, attempt });
  s.effects.push(send);
}

export function earliestWake(s: PlannerSession): string | null {
  let earliest: string | null = null;
  for (const step of Object.values(s.state.cursor.steps)) {
    if (step.status === 'waiting' && step.wakeAt !== undefined) {
      if (earliest === null || Date.parse(step.wakeAt) < Date.parse(earliest)) earliest = step.wakeAt;
    }
  }
  return earliest;
}

/**
 * Runs ready nodes one at a time in topological order until one is in flight, everything is
 * parked, or the trigger is finished.
 */
export function advance(s: PlannerSession): void {
  if (s.state.status !== 'processing' || !settleAll(s)) return;
  for (;;) {
    if (s.state.status !== 'processing') return;
    const ids = s.graph.order;
    const steps = s.state.cursor.steps;
    if (ids.some((id) => steps[id]?.status === 'running')) return;
    const next = ids.find((id) => steps[id]?.status === 'ready');
    if (next !== undefined) {
      runNode(s, next);
      continue;
    }
    if (ids.every((id) => steps[id]?.status === 'done' || steps[id]?.status === 'skipped')) {
      assertTransition(s.state.status, 'completed');
      s.state.status = 'completed';
      s.state.wakeAt = null;
      appendLog(s, { event: 'TRIGGER_COMPLETED', level: 'info', message: 'every node is done or skipped' });
      s.effects.push({ type: 'Complete' });
      return;
    }
    const wake = earliestWake(s);
    if (wake !== null) {
      s.state.wakeAt = wake;
      s.effects.push({ type: 'StartTimer', wakeAt: wake });
      return;
    }
    // Unreachable for a validated DAG; failing beats hanging forever.
    failTrigger(s, 'INTERNAL', 'no node can make progress (the cursor does not match the workflow)');
    return;
  }
}
