/** Fixtures for the scheduler's integration and e2e tests (real Postgres, Redis and Kafka). */
import type { Knex } from 'knex';
import { Partitioners, type IHeaders, type Kafka } from 'kafkajs';
import { Redis } from 'ioredis';
import pino from 'pino';
import type { ExecutionLogEntry } from '../../core/trigger/log';
import type { TriggerStatus } from '../../core/trigger/model';
import type { Workflow, WorkflowDefinition } from '../../core/workflow/model';
import type { HeraldConfig } from '../../services/config/config';
import { createKafka } from '../../services/kafka/kafka-client';
import { ensureTopics } from '../../services/kafka/topics';
import { listLogs } from '../../services/postgres/log-store';
import { createWorkflow, setWorkflowActive } from '../../services/postgres/workflow-store';
import type { CaptureProvider } from '../../services/providers';
import { startScheduler, type RunningScheduler } from '../../services/scheduler/main';
import { pollUntil } from './test-env';

/** email -> delay -> sms, the README flow. */
export function makeWorkflow(overrides: Partial<WorkflowDefinition> = {}): WorkflowDefinition {
  return {
    name: 'Welcome',
    entryNodeId: 'welcome',
    nodes: [
      { id: 'welcome', type: 'EMAIL', email: { to: '{{ recipient.email }}', from: 'herald@example.com', subject: 'Hi {{ payload.name }}', text: 'Welcome, {{ payload.name }}' } },
      { id: 'wait', type: 'DELAY', delay: { delayMs: 2_000 } },
      { id: 'remind', type: 'SMS', sms: { to: '{{ recipient.phone }}', body: 'Still there, {{ payload.name }}?' } },
    ],
    edges: [
      { from: 'welcome', to: 'wait' },
      { from: 'wait', to: 'remind' },
    ],
    ...overrides,
  };
}

/** One SMS node, with a retry policy fast enough for tests. */
export function makeSmsWorkflow(overrides: Partial<WorkflowDefinition> = {}): WorkflowDefinition {
  return {
    name: 'Ping',
    entryNodeId: 'ping',
    nodes: [{ id: 'ping', type: 'SMS', sms: { to: '{{ recipient.phone }}', body: 'ping {{ payload.n }}' } }],
    edges: [],
    retry: { maxAttempts: 3, baseDelayMs: 100, maxDelayMs: 200 },
    ...overrides,
  };
}

export async function createActiveWorkflow(knex: Knex, definition: WorkflowDefinition): Promise<Workflow> {
  const created = await createWorkflow(knex, definition);
  return setWorkflowActive(knex, created.id, created.etag, true);
}

let keyCounter = 0;

export function makeTriggerRequest(workflowId: string, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  keyCounter += 1;
  return {
    workflowId,
    idempotencyKey: `key-${process.pid}-${Date.now()}-${keyCounter}`,
    recipient: { id: `user-${keyCounter}`, email: 'ada@example.com', phone: '+15550100' },
    payload: { name: 'Ada', n: keyCounter },
    ...overrides,
  };
}

export interface ProducedMessage {
  key?: string | null;
  value: string | Buffer | null;
  headers?: IHeaders;
  partition?: number;
}

/** A plain kafkajs producer, as any service outside Herald would use. */
export async function produceToTriggers(config: HeraldConfig, messages: ProducedMessage[]): Promise<void> {
  const kafka = createKafka(config, 'test-producer');
  await ensureTopics(kafka, config);
  const producer = kafka.producer({ allowAutoTopicCreation: false, createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
  try {
    await producer.send({ topic: config.kafka.triggersTopic, acks: -1, messages });
  } finally {
    await producer.disconnect();
  }
}

export function kafkaFor(config: HeraldConfig): Kafka {
  return createKafka(config, 'test-client');
}

export async function triggerStatuses(knex: Knex, ids: string[]): Promise<Map<string, TriggerStatus>> {
  const rows = (await knex('trigger_instances').whereIn('id', ids).select('id', 'status')) as Array<{ id: string; status: TriggerStatus }>;
  return new Map(rows.map((r) => [r.id, r.status]));
}

const TERMINAL = new Set<TriggerStatus>(['completed', 'failed', 'cancelled']);

/** Waits until every trigger is terminal; returns their statuses. */
export async function waitForTerminal(knex: Knex, ids: string[], timeoutMs = 60_000): Promise<Map<string, TriggerStatus>> {
  return pollUntil(
    async () => {
      const statuses = await triggerStatuses(knex, ids);
      return statuses.size === ids.length && [...statuses.values()].every((s) => TERMINAL.has(s)) ? statuses : null;
    },
    { timeoutMs, intervalMs: 100, what: `${ids.length} triggers to finish` },
  );
}

export async function logsOf(knex: Knex, triggerId: string): Promise<ExecutionLogEntry[]> {
  const out: ExecutionLogEntry[] = [];
  let pageToken = '';
  do {
    const page = await listLogs(knex, { triggerId, pageSize: 1000, pageToken });
    out.push(...page.items);
    pageToken = page.nextPageToken;
  } while (pageToken);
  return out;
}

/** Deletes this test's Redis keys only (other suites share the server): never FLUSHALL. */
export async function flushPrefix(redisUrl: string, prefix: string): Promise<number> {
  const redis = new Redis(redisUrl);
  try {
    let deleted = 0;
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
      cursor = next;
      if (keys.length > 0) deleted += await redis.del(...keys);
    } while (cursor !== '0');
    return deleted;
  } finally {
    redis.disconnect();
  }
}

export interface DeadLetterRecord {
  key: string | null;
  value: Buffer | null;
  headers: Record<string, string>;
}

/** Reads the dead-letter topic from the start until `done` holds for what was read. */
export async function readDeadLetters(
  config: HeraldConfig,
  done: (letters: DeadLetterRecord[]) => boolean,
  timeoutMs = 30_000,
): Promise<DeadLetterRecord[]> {
  const kafka = createKafka(config, 'test-dlq-reader');
  await ensureTopics(kafka, config);
  const consumer = kafka.consumer({ groupId: `${config.kafka.topicPrefix}dlq-reader-${Date.now()}-${Math.random()}` });
  const letters: DeadLetterRecord[] = [];
  await consumer.connect();
  try {
    await consumer.subscribe({ topics: [config.kafka.deadLetterTopic], fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ message }) => {
        const headers: Record<string, string> = {};
        for (const [name, value] of Object.entries(message.headers ?? {})) {
          if (value !== undefined) headers[name] = (Array.isArray(value) ? value[0] : value).toString();
        }
        letters.push({ key: message.key?.toString() ?? null, value: message.value, headers });
      },
    });
    await pollUntil(() => done(letters), { timeoutMs, what: 'dead letters' });
    return letters;
  } finally {
    await consumer.disconnect();
  }
}

/** An in-process scheduler sending through `capture`, returned once it owns every partition. */
export async function startCapturingScheduler(config: HeraldConfig, capture: CaptureProvider): Promise<RunningScheduler> {
  const scheduler = await startScheduler(config, pino({ level: process.env.HERALD_LOG_LEVEL ?? 'silent' }), {
    providers: { email: capture, sms: capture },
  });
  await pollUntil(() => scheduler.status().partitions.length === config.kafka.partitions, { what: 'the scheduler to own every partition' });
  return scheduler;
}
