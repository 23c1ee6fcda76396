import { randomUUID } from 'node:crypto';
import pino from 'pino';
import type { DeliveryContext } from '../../../core/ports/providers';
import type { RenderedEmail, RenderedSms } from '../../../core/trigger/planner-types';
import { idempotencyKeyFor } from '../../../core/trigger/planner-types';

export const silentLogger = pino({ level: 'silent' });

export function makeDeliveryContext(overrides: Partial<Omit<DeliveryContext, 'idempotencyKey'>> = {}): DeliveryContext {
  const base = { triggerId: randomUUID(), workflowId: randomUUID(), nodeId: 'welcome', attempt: 1, run: 1, ...overrides };
  return { ...base, idempotencyKey: idempotencyKeyFor(base.triggerId, base.nodeId, base.attempt, base.run) };
}

export function makeEmail(overrides: Partial<RenderedEmail> = {}): RenderedEmail {
  return {
    to: 'ada@example.com',
    from: 'Herald Test <noreply@herald.test>',
    replyTo: 'support@herald.test',
    subject: 'Welcome aboard',
    text: 'Hello Ada,\r\nyour account is ready.\r\n',
    ...overrides,
  };
}

export function makeSms(overrides: Partial<RenderedSms> = {}): RenderedSms {
  return { to: '+15005550006', body: 'Your code is 123456', ...overrides };
}
