/**
 * Fixture factories for the pure core. Core tests need no services, so they do not call
 * createTestEnv: there is nothing to isolate.
 */
import {
  decide,
  initialTriggerState,
  seededRandom,
  triggerIdFor,
  type Decision,
  type DelayNode,
  type Edge,
  type Effect,
  type EmailNode,
  type ExecutionContext,
  type LogEvent,
  type SmsNode,
  type TriggerEvent,
  type TriggerState,
  type WorkflowDefinition,
  type WorkflowVersion,
} from '../../../core';

export const T0 = new Date('2024-03-01T09:00:00.000Z');

export function makeEmailNode(id: string, overrides: Partial<EmailNode['email']> = {}): EmailNode {
  return {
    id,
    type: 'EMAIL',
    email: { to: '{{ recipient.email }}', subject: 'Hello {{ payload.name }}', text: 'Hi {{ payload.name }}', ...overrides },
  };
}

export function makeSmsNode(id: string, overrides: Partial<SmsNode['sms']> = {}): SmsNode {
  return { id, type: 'SMS', sms: { to: '{{ recipient.phone }}', body: 'Hi {{ payload.name }}', ...overrides } };
}

export function makeDelayNode(id: string, delay: DelayNode['delay'] = { duration: 'PT1H' }): DelayNode {
  return { id, type: 'DELAY', delay };
}

/** A valid linear workflow: welcome email -> 1 h delay -> reminder SMS. */
export function makeWorkflow(overrides: Partial<WorkflowDefinition> = {}): WorkflowDefinition {
  return {
    name: 'Onboarding',
    description: 'welcome, wait, remind',
    entryNodeId: 'welcome',
    nodes: [makeEmailNode('welcome'), makeDelayNode('wait'), makeSmsNode('remind')],
    edges: [
      { from: 'welcome', to: 'wait' },
      { from: 'wait', to: 'remind' },
    ],
    ...overrides,
  };
}

export function makeVersion(definition: WorkflowDefinition = makeWorkflow(), version = 1): WorkflowVersion {
  return { workflowId: 'wf-onboarding', version, definition };
}

export function makeState(version: WorkflowVersion = makeVersion(), payload: Record<string, unknown> = { name: 'Ada' }): TriggerState {
  const idempotencyKey = 'order-42';
  return initialTriggerState(version, {
    id: triggerIdFor(version.workflowId, idempotencyKey),
    idempotencyKey,
    createdAt: T0,
    recipient: { id: 'user-1', email: 'ada@example.com', phone: '+14155550100' },
    payload,
  });
}

export function makeContext(overrides: Partial<ExecutionContext> = {}): ExecutionContext {
  return { ...makeState().context, ...overrides };
}

export function edge(from: string, to: string, condition?: string): Edge {
  return condition === undefined ? { from, to } : { from, to, condition };
}

export function at(ms: number): Date {
  return new Date(T0.getTime() + ms);
}

/** Drives decide() one event at a time, keeping the latest state. */
export class Driver {
  state: TriggerState;
  readonly random = seededRandom(7);
  readonly history: Decision[] = [];

  constructor(
    readonly version: WorkflowVersion = makeVersion(),
    state?: TriggerState,
  ) {
    this.state = state ?? makeState(version);
  }

  send(event: TriggerEvent, now: Date = T0): Effect[] {
    const decision = decide(this.version, this.state, event, now, { random: this.random });
    this.history.push(decision);
    this.state = decision.state;
    return decision.effects;
  }
}

export function logEvents(effects: Effect[]): LogEvent[] {
  return effects.flatMap((e) => (e.type === 'AppendLog' ? [e.entry.event] : []));
}

export function effectTypes(effects: Effect[]): string[] {
  return effects.map((e) => (e.type === 'AppendLog' ? `Log:${e.entry.event}` : e.type));
}

export function sends(effects: Effect[]): Extract<Effect, { type: 'SendEmail' | 'SendSms' }>[] {
  return effects.filter((e): e is Extract<Effect, { type: 'SendEmail' | 'SendSms' }> => e.type === 'SendEmail' || e.type === 'SendSms');
}

export function timers(effects: Effect[]): string[] {
  return effects.flatMap((e) => (e.type === 'StartTimer' ? [e.wakeAt] : []));
}
