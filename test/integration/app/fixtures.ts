/** Fixture factories for the application-layer tests (real Postgres and Kafka via createTestEnv). */
import type { Knex } from 'knex';
import type { Consumer, Kafka } from 'kafkajs';
import type { CreateTriggerInput } from '../../../services/api/app/app-types';
import type { WorkflowApp } from '../../../services/api/app/app-types';
import type { PublishableTrigger, TriggerPublisher, TriggerRefMessage, TriggerRefReason } from '../../../services/kafka/trigger-publisher';
import { parseTriggerRef } from '../../../services/kafka/trigger-publisher';
import { RetryableError } from '../../../core/errors';
import type { Workflow, WorkflowDefinition } from '../../../core/workflow/model';

/** A valid workflow: welcome email -> 1 h delay -> reminder SMS. */
export function makeWorkflow(overrides: Partial<WorkflowDefinition> = {}): WorkflowDefinition {
  return {
    name: 'Onboarding',
    description: 'welcome, wait, remind',
    entryNodeId: 'welcome',
    nodes: [
      { id: 'welcome', type: 'EMAIL', email: { to: '{{ recipient.email }}', subject: 'Hello {{ payload.name }}', text: 'Hi {{ payload.name }}' } },
      { id: 'wait', type: 'DELAY', delay: { duration: 'PT1H' } },
      { id: 'remind', type: 'SMS', sms: { to: '{{ recipient.phone }}', body: 'Still there, {{ payload.name }}?' } },
    ],
    edges: [
      { from: 'welcome', to: 'wait' },
      { from: 'wait', to: 'remind' },
    ],
    ...overrides,
  };
}

let keyCounter = 0;

export function makeTriggerInput(workflowId: string, overrides: Partial<CreateTriggerInput> = {}): CreateTriggerInput {
  keyCounter += 1;
  return {
    workflowId,
    idempotencyKey: `key-${process.pid}-${keyCounter}`,
    recipient: { id: 'user-1', email: 'ada@example.com', phone: '+15550100' },
    payload: { name: 'Ada' },
    ...overrides,
  };
}

export async function createActiveWorkflow(workflows: WorkflowApp, overrides: Partial<WorkflowDefinition> = {}): Promise<Workflow> {
  const created = await workflows.create(makeWorkflow(overrides));
  return workflows.activate(created.id, created.etag);
}

/** A publisher that records what it was asked to publish, and can be told to fail. */
export function makeRecordingPublisher(): TriggerPublisher & {
  published: Array<{ triggers: PublishableTrigger[]; reason: TriggerRefReason }>;
  failing: boolean;
} {
  const publisher = {
    published: [] as Array<{ triggers: PublishableTrigger[]; reason: TriggerRefReason }>,
    failing: false,
    async publish(triggers: PublishableTrigger[], reason: TriggerRefReason) {
      if (publisher.failing) throw new RetryableError('BROKER_UNAVAILABLE', 'test broker is down');
      publisher.published.push({ triggers: [...triggers], reason });
    },
    async close() {},
  };
  return publisher;
}

/** Counts statements whose SQL matches `pattern`, through knex's 'query' event. */
export function countQueries(knex: Knex, pattern: RegExp): { count(): number; stop(): void } {
  let count = 0;
  const listener = (query: { sql?: string }) => {
    if (query.sql && pattern.test(query.sql)) count += 1;
  };
  knex.on('query', listener);
  return { count: () => count, stop: () => knex.removeListener('query', listener) };
}

export interface ConsumedRef {
  key: string;
  partition: number;
  contentType: string;
  ref: TriggerRefMessage;
}

/** Reads the triggers topic from the beginning into `refs` (a fresh consumer group per call). */
export async function consumeTriggerRefs(kafka: Kafka, topic: string, groupId: string): Promise<{ refs: ConsumedRef[]; consumer: Consumer }> {
  const refs: ConsumedRef[] = [];
  const consumer = kafka.consumer({ groupId, sessionTimeout: 10_000, heartbeatInterval: 1_000 });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ partition, message }) => {
      const ref = parseTriggerRef(message.value);
      if (!ref) return;
      refs.push({
        key: message.key?.toString() ?? '',
        partition,
        contentType: message.headers?.['content-type']?.toString() ?? '',
        ref,
      });
    },
  });
  return { refs, consumer };
}
