import { TerminalError } from '../errors';
import type { TriggerStatus } from './model';

/**
 * DESIGN.md's lifecycle: enqueued → processing → completed | failed; enqueued|processing →
 * cancelled; failed → enqueued only by an operator's RetryTrigger.
 * One addition: enqueued → failed, for a trigger that cannot even start (its workflow version
 * is gone, or its stored input no longer validates) — it must still end in a terminal state.
 */
export const TRIGGER_TRANSITIONS: Readonly<Record<TriggerStatus, readonly TriggerStatus[]>> = Object.freeze({
  enqueued: Object.freeze(['processing', 'cancelled', 'failed'] as const),
  processing: Object.freeze(['completed', 'failed', 'cancelled'] as const),
  completed: Object.freeze([] as const),
  failed: Object.freeze(['enqueued'] as const),
  cancelled: Object.freeze([] as const),
});

export const TERMINAL_STATUSES: readonly TriggerStatus[] = Object.freeze(['completed', 'failed', 'cancelled'] as const);

export function isTerminalStatus(status: TriggerStatus): boolean {
  return TERMINAL_STATUSES.includes(status);
}

export function canTransition(from: TriggerStatus, to: TriggerStatus): boolean {
  return Object.prototype.hasOwnProperty.call(TRIGGER_TRANSITIONS, from) && TRIGGER_TRANSITIONS[from].includes(to);
}

export function assertTransition(from: TriggerStatus, to: TriggerStatus): void {
  if (!canTransition(from, to)) {
    throw new TerminalError('ILLEGAL_TRANSITION', `a trigger cannot go from ${from} to ${to}`, { metadata: { from, to } });
  }
}
