import type { StepState, TriggerState } from './model';
import { assertTransition } from './state-machine';

/**
 * An operator's RetryTrigger: failed → enqueued with run + 1 (so provider idempotency keys are
 * new), failed steps ready again with a fresh attempt budget. Finished steps stay finished and
 * keep their outputs: a retry resumes the trigger, it does not re-send what was delivered.
 * Throws ILLEGAL_TRANSITION unless the trigger is failed.
 */
export function retryTriggerState(state: TriggerState): TriggerState {
  assertTransition(state.status, 'enqueued');
  const steps: Record<string, StepState> = {};
  for (const [id, step] of Object.entries(state.cursor.steps)) {
    if (step.status === 'failed' || step.status === 'running') {
      steps[id] = { status: 'ready', attempts: 0 };
    } else if (step.status === 'waiting' || step.status === 'ready') {
      // A retry backoff or delay in flight when the trigger failed: run it again fresh.
      steps[id] = { ...step, attempts: 0 };
    } else {
      steps[id] = { ...step };
    }
  }
  return {
    ...state,
    status: 'enqueued',
    cursor: { steps, edges: { ...state.cursor.edges } },
    run: state.run + 1,
    wakeAt: null,
  };
}
