/** The workflows the bench runs on Herald, in the generated proto shape. */
import { NodeType, type Workflow } from '../../../services/grpc/gen/herald/v1/workflow';
import type { CreateTriggerRequest } from './client';

/** Node ids of the 3-step workflow, in step order (index = step number in the metrics). */
export const THREE_STEP_NODES = ['welcome-email', 'reminder-sms', 'followup-email'] as const;

const email = (id: string, subject: string) => ({
  id,
  type: NodeType.NODE_TYPE_EMAIL,
  config: { $case: 'email' as const, email: { to: '{{ recipient.email }}', subject, text: 'Hi {{ payload.name }}, order {{ payload.order.id }}.', html: '', from: '', replyTo: '' } },
});
const sms = (id: string) => ({
  id,
  type: NodeType.NODE_TYPE_SMS,
  config: { $case: 'sms' as const, sms: { to: '{{ recipient.phone }}', body: 'Hi {{ payload.name }}, your code is {{ payload.code }}.' } },
});

export function threeStepWorkflow(name: string): Partial<Workflow> {
  return {
    name,
    description: 'bench: email -> sms -> email',
    entryNodeId: THREE_STEP_NODES[0],
    defaultFrom: 'bench@herald.local',
    nodes: [email(THREE_STEP_NODES[0], 'Welcome {{ payload.name }}'), sms(THREE_STEP_NODES[1]), email(THREE_STEP_NODES[2], 'How was it, {{ payload.name }}?')],
    edges: [
      { from: THREE_STEP_NODES[0], to: THREE_STEP_NODES[1], condition: '' },
      { from: THREE_STEP_NODES[1], to: THREE_STEP_NODES[2], condition: '' },
    ],
  };
}

export const TIMER_NODES = ['wait', 'ping-sms'] as const;

/** A delay until `payload.wake_at` (RFC 3339), then one SMS. */
export function timerWorkflow(name: string): Partial<Workflow> {
  return {
    name,
    description: 'bench: delay until payload.wake_at -> sms',
    entryNodeId: TIMER_NODES[0],
    nodes: [{ id: TIMER_NODES[0], type: NodeType.NODE_TYPE_DELAY, config: { $case: 'delay', delay: { delay: { $case: 'until', until: '{{ payload.wake_at }}' } } } }, sms(TIMER_NODES[1])],
    edges: [{ from: TIMER_NODES[0], to: TIMER_NODES[1], condition: '' }],
  };
}

/** A realistic ~300-byte trigger. */
export function triggerRequest(workflowId: string, key: string, payload: Record<string, unknown> = {}): CreateTriggerRequest {
  return {
    workflowId,
    idempotencyKey: key,
    recipient: { id: `user-${key}`, email: `user-${key}@example.com`, phone: '+15555550100', locale: 'en-GB', timezone: 'Europe/London' },
    payload: { name: 'Ada', code: '493817', order: { id: key, items: 3, total: 42.5 }, ...payload },
  };
}
