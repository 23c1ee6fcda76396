import { DEFAULT_MAX_DELAY_MS } from '../delay/resolve-delay';
import { backoffDelayMs, resolveRetryPolicy } from '../retry/retry-policy';
import { graphOf } from '../workflow/graph';
import type { WorkflowVersion } from '../workflow/model';
import type { StepState, TriggerState } from './model';
import { advance, appendLog, buildSend, completeStep, earliestWake, failStep, stepOf } from './planner-session';
import type { PlannerSession } from './planner-session';
import type { Decision, RandomSource, TriggerEvent } from './planner-types';
import { assertTransition, isTerminalStatus } from './state-machine';

export const DEFAULT_MAX_CONTEXT_BYTES = 256 * 1024;

export interface DecideDeps {
  random: RandomSource;
  limits?: { maxDelayMs?: number; maxContextBytes?: number };
}

/**
 * The planner: a pure function from (workflow version, trigger state, event, now) to a new state
 * and the effects the actor must carry out. No I/O, no clock, no global randomness; the same
 * inputs (and random draws) always give the same decision. Events are delivered at least once,
 * so an event that no longer applies (a duplicate result, an event after the end) is a no-op:
 * the same state back and no effects. It never throws for those.
 */
export function decide(version: WorkflowVersion, state: TriggerState, event: TriggerEvent, now: Date, deps: DecideDeps): Decision {
  if (isTerminalStatus(state.status)) return { state, effects: [] };
  const s: PlannerSession = {
    def: version.definition,
    graph: graphOf(version.definition),
    state: copyForDecision(state),
    effects: [],
    now,
    nowIso: now.toISOString(),
    random: deps.random,
    maxDelayMs: deps.limits?.maxDelayMs ?? DEFAULT_MAX_DELAY_MS,
    maxContextBytes: deps.limits?.maxContextBytes ?? DEFAULT_MAX_CONTEXT_BYTES,
  };
  const changed = apply(s, event);
  if (!changed) return { state, effects: s.effects };
  if (!isTerminalStatus(s.state.status)) s.state.wakeAt = s.state.status === 'processing' ? earliestWake(s) : null;
  return { state: s.state, effects: s.effects };
}

/**
 * The planner's private copy: exactly the parts it writes. It assigns `status`, `wakeAt`, the
 * fields of each step, cursor edges and `context.steps.<id>`, and never writes inside the
 * payload, the recipient or a step's output, so those stay shared with the input. A deep
 * structuredClone of the whole state (payload included) per event was the planner's main cost.
 */
function copyForDecision(state: TriggerState): TriggerState {
  const steps: Record<string, StepState> = {};
  for (const id of Object.keys(state.cursor.steps)) steps[id] = { ...state.cursor.steps[id] };
  return {
    ...state,
    cursor: { steps, edges: { ...state.cursor.edges } },
    context: { ...state.context, steps: { ...state.context.steps } },
  };
}

/** Returns false when the event changes nothing (the original state is returned untouched). */
function apply(s: PlannerSession, event: TriggerEvent): boolean {
  const status = s.state.status;
  switch (event.type) {
    case 'Cancel':
      assertTransition(status, 'cancelled');
      s.state.status = 'cancelled';
      s.state.wakeAt = null;
      appendLog(s, {
        event: 'TRIGGER_CANCELLED',
        level: 'info',
        message: event.reason ? `cancelled: ${event.reason}` : 'cancelled',
        ...(event.reason ? { data: { reason: event.reason } } : {}),
      });
      return true;
    case 'Started':
      if (status === 'enqueued') {
        assertTransition(status, 'processing');
        s.state.status = 'processing';
        appendLog(s, { event: 'TRIGGER_STARTED', level: 'info', message: `run ${s.state.run} started` });
        advance(s);
      } else recover(s);
      return true;
    case 'StepSucceeded': {
      if (status !== 'processing' || s.state.cursor.steps[event.nodeId]?.status !== 'running') return false;
      if (completeStep(s, event.nodeId, event.output ?? {})) advance(s);
      return true;
    }
    case 'StepFailed':
      if (status !== 'processing' || s.state.cursor.steps[event.nodeId]?.status !== 'running') return false;
      onStepFailed(s, event.nodeId, event.error);
      return true;
    case 'TimerFired':
      if (status !== 'processing') return false;
      return onTimerFired(s);
    default:
      return false;
  }
}

/**
 * Started on a processing trigger: the actor was rebuilt from a checkpoint. A running step is
 * re-sent as the SAME attempt, so its idempotency key (and SMTP Message-ID) repeats and the
 * provider can drop the duplicate; parked steps get their timer back.
 */
function recover(s: PlannerSession): void {
  for (const id of s.graph.order) {
    const step = s.state.cursor.steps[id];
    if (step?.status !== 'running') continue;
    const node = s.graph.nodeById.get(id)!;
    const send = buildSend(s, node, step.attempts);
    if (send) s.effects.push(send);
    return;
  }
  advance(s);
}

function onStepFailed(s: PlannerSession, nodeId: string, error: Extract<TriggerEvent, { type: 'StepFailed' }>['error']): void {
  const node = s.graph.nodeById.get(nodeId)!;
  const step = stepOf(s, nodeId);
  const policy = resolveRetryPolicy(s.def, node);
  const failure = { reason: error.reason, message: error.message, retryable: error.retryable, metadata: error.metadata };
  if (!error.retryable || step.attempts >= policy.maxAttempts) {
    failStep(s, nodeId, failure, error.retryable);
    return;
  }
  const backoff = backoffDelayMs(policy, step.attempts, s.random);
  const retryAfter = error.retryAfterMs !== undefined && Number.isFinite(error.retryAfterMs) ? Math.max(0, error.retryAfterMs) : 0;
  const delayMs = Math.min(Math.max(backoff, retryAfter), s.maxDelayMs);
  const wakeAt = new Date(s.now.getTime() + delayMs).toISOString();
  step.status = 'waiting';
  step.wakeAt = wakeAt;
  step.lastError = failure;
  appendLog(s, {
    event: 'STEP_RETRY_SCHEDULED',
    level: 'warn',
    message: `attempt ${step.attempts} of ${policy.maxAttempts} failed (${error.reason}: ${error.message}); retrying in ${delayMs} ms`,
    nodeId,
    attempt: step.attempts,
    reason: error.reason,
    classification: 'retryable',
    wakeAt,
    data: { backoffMs: delayMs, ...(retryAfter > 0 ? { retryAfterMs: retryAfter } : {}), ...(error.metadata ? { provider: error.metadata } : {}) },
  });
  advance(s);
}

/** Fires every due step; never early. A premature fire only re-arms the timer. */
function onTimerFired(s: PlannerSession): boolean {
  const earliest = earliestWake(s);
  if (earliest === null) return false;
  const nowMs = s.now.getTime();
  if (nowMs < Date.parse(earliest)) {
    s.effects.push({ type: 'StartTimer', wakeAt: earliest });
    return false;
  }
  for (const id of s.graph.order) {
    const step = s.state.cursor.steps[id];
    if (s.state.status !== 'processing') return true;
    if (step?.status !== 'waiting' || step.wakeAt === undefined || Date.parse(step.wakeAt) > nowMs) continue;
    const node = s.graph.nodeById.get(id)!;
    appendLog(s, { event: 'TIMER_FIRED', level: 'info', message: `step ${id} woke (due ${step.wakeAt})`, nodeId: id, wakeAt: step.wakeAt });
    if (node.type === 'DELAY') {
      if (!completeStep(s, id, { wake_at: step.wakeAt, fired_at: s.nowIso })) return true;
    } else {
      step.status = 'ready';
      delete step.wakeAt;
    }
  }
  advance(s);
  return true;
}
