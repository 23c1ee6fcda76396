import { randomBytes } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import test from 'ava';
import { triggerIdFor } from '../../../core/trigger/new-trigger';
import { CaptureProvider } from '../../../services/providers';
import type { RunningScheduler } from '../../../services/scheduler/main';
import { linksOf, MAX_SPAN_LINKS } from '../../../services/telemetry/kafka-spans';
import { normalizeTraceparent } from '../../../services/telemetry/tracing';
import { bearer, failure, makeRecipient, startApiHarness, unary, type ApiHarness } from '../api/grpc-harness';
import {
  createActiveWorkflow,
  flushPrefix,
  kafkaFor,
  makeSmsWorkflow,
  makeTriggerRequest,
  makeWorkflow,
  produceToTriggers,
  startCapturingScheduler,
  waitForTerminal,
} from '../../support/scheduler-fixtures';
import { pollUntil } from '../../support/test-env';

const exporter = new InMemorySpanExporter();
// Registered before the api and the scheduler start, as the CLI starts the SDK before serving:
// the AsyncLocalStorage context manager and the W3C propagator, as NodeSDK registers them.
new NodeTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] }).register({ propagator: new W3CTraceContextPropagator() });

let harness: ApiHarness;
let scheduler: RunningScheduler;
const capture = new CaptureProvider();

test.before(async () => {
  harness = await startApiHarness('tracing');
  scheduler = await startCapturingScheduler(harness.env.config, capture);
});

test.after.always(async () => {
  await scheduler?.stop();
  if (harness) await flushPrefix(harness.env.config.redis.url, harness.env.config.redis.prefix);
  await harness?.stop();
});

/** A client's own span: a fresh trace id and span id, sampled. */
function clientTrace(): { traceId: string; spanId: string; traceparent: string } {
  const traceId = randomBytes(16).toString('hex');
  const spanId = randomBytes(8).toString('hex');
  return { traceId, spanId, traceparent: `00-${traceId}-${spanId}-01` };
}

function tracedCall(key: string, traceparent: string): grpc.Metadata {
  const metadata = bearer(key);
  metadata.set('traceparent', traceparent);
  return metadata;
}

const inTrace = (traceId: string) => exporter.getFinishedSpans().filter((s) => s.spanContext().traceId === traceId);
const startMs = (s: ReadableSpan) => s.startTime[0] * 1e3 + s.startTime[1] / 1e6;
const durationMs = (s: ReadableSpan) => s.duration[0] * 1e3 + s.duration[1] / 1e6;
const stepsOf = (spans: ReadableSpan[], triggerId: string) =>
  spans.filter((s) => s.name.startsWith('herald.step') && s.attributes['herald.trigger_id'] === triggerId).sort((a, b) => startMs(a) - startMs(b));

/** Waits for the span the scheduler records last: the trigger's own, when it finishes. */
function finishedTriggerSpan(traceId: string, triggerId: string): Promise<ReadableSpan> {
  return pollUntil(() => inTrace(traceId).find((s) => s.name === 'herald.trigger' && s.attributes['herald.trigger_id'] === triggerId), {
    timeoutMs: 60_000,
    what: `the finished span of trigger ${triggerId}`,
  });
}

/** Headers of the first message keyed `key` on herald.triggers, read by a group of its own. */
async function headersOfPublished(key: string): Promise<Record<string, string>> {
  const config = harness.env.config;
  const consumer = kafkaFor(config).consumer({ groupId: `${config.kafka.topicPrefix}trace-reader-${Date.now()}` });
  let found: Record<string, string> | undefined;
  await consumer.connect();
  try {
    await consumer.subscribe({ topics: [config.kafka.triggersTopic], fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ message }) => {
        if (found || message.key?.toString() !== key) return;
        found = Object.fromEntries(Object.entries(message.headers ?? {}).map(([name, value]) => [name, String(value)]));
      },
    });
    return await pollUntil(() => found, { what: `the published message of ${key}` });
  } finally {
    await consumer.disconnect();
  }
}

test.serial("a CreateTrigger call joins the caller's trace, and every step of the trigger (retry and delay included) continues it", async (t) => {
  const workflow = await createActiveWorkflow(
    harness.env.knex,
    makeWorkflow({
      nodes: makeWorkflow().nodes.map((n) => (n.type === 'DELAY' ? { ...n, delay: { delayMs: 300 } } : n)),
      retry: { maxAttempts: 3, baseDelayMs: 50, maxDelayMs: 100 },
    }),
  );
  const idempotencyKey = `traced-${Date.now()}`;
  const triggerId = triggerIdFor(workflow.id, idempotencyKey);
  capture.failNext({ triggerId, nodeId: 'welcome', times: 1, kind: 'retryable' });
  const client = clientTrace();
  const { triggers } = harness.clients;
  const request = { workflowId: workflow.id, idempotencyKey, recipient: makeRecipient(), payload: { name: 'Ada' } };
  const created = await unary(triggers, triggers.createTrigger, request, tracedCall(harness.keys.triggerOperator, client.traceparent));
  t.is(created.trigger!.id, triggerId);

  // (a) The server span is the client's child, named and attributed like any gRPC server's.
  const server = await pollUntil(() => inTrace(client.traceId).find((s) => s.name === 'herald.v1.TriggerService/CreateTrigger'));
  t.is(server.kind, SpanKind.SERVER);
  t.is(server.parentSpanContext?.spanId, client.spanId);
  t.like(server.attributes, {
    'rpc.system': 'grpc',
    'rpc.service': 'herald.v1.TriggerService',
    'rpc.method': 'CreateTrigger',
    'rpc.grpc.status_code': grpc.status.OK,
  });
  t.not(server.status.code, SpanStatusCode.ERROR);

  // (b) The row stores the server span as the trigger's parent, and the ref the api published carries it.
  const row = (await harness.env.knex('trigger_instances').where({ id: triggerId }).first()) as { traceparent: string | null };
  t.is(row.traceparent, `00-${client.traceId}-${server.spanContext().spanId}-01`);
  t.is(row.traceparent, (await headersOfPublished(triggerId)).traceparent, 'the published ref carries it as a header');

  // (c) Every step, across the retry backoff and the parked delay, is in the same trace.
  const finished = await finishedTriggerSpan(client.traceId, triggerId);
  t.is(finished.attributes['herald.trigger_status'], 'completed');
  const steps = stepsOf(inTrace(client.traceId), triggerId);
  t.deepEqual(
    steps.map((s) => [s.name, s.kind, s.attributes['herald.node_id'], s.attributes['herald.attempt'], s.attributes['herald.step_outcome']]),
    [
      ['herald.step email', SpanKind.CLIENT, 'welcome', 1, 'retry_scheduled'],
      ['herald.step email', SpanKind.CLIENT, 'welcome', 2, 'succeeded'],
      ['herald.step delay', SpanKind.INTERNAL, 'wait', 1, 'succeeded'],
      ['herald.step sms', SpanKind.CLIENT, 'remind', 1, 'succeeded'],
    ],
  );
  for (const step of [...steps, finished]) {
    t.is(step.parentSpanContext?.spanId, server.spanContext().spanId, `${step.name} is a child of the accepting call`);
    t.like(step.attributes, { 'herald.trigger_id': triggerId, 'herald.workflow_id': workflow.id });
  }
  t.deepEqual(steps[0].status, { code: SpanStatusCode.ERROR, message: 'PROVIDER_UNAVAILABLE' });
  t.is(steps[0].attributes['herald.node_type'], 'email');
  t.not(steps[1].status.code, SpanStatusCode.ERROR);
  t.true(durationMs(steps[2]) >= 250, `the delay's span covers its 300 ms wait (${durationMs(steps[2])} ms)`);
  // The first attempt's retry_scheduled span is the same provider call the capture saw fail.
  t.deepEqual(capture.attempts.filter((a) => a.context.triggerId === triggerId).map((a) => a.outcome), ['PROVIDER_UNAVAILABLE', 'delivered', 'delivered']);
});

test.serial('BatchCreateTriggers records the caller\'s trace on every trigger it accepts', async (t) => {
  const workflow = await createActiveWorkflow(harness.env.knex, makeSmsWorkflow());
  const client = clientTrace();
  const { triggers } = harness.clients;
  const item = (key: string) => ({ workflowId: workflow.id, idempotencyKey: key, recipient: makeRecipient(), payload: { n: 1 } });
  const metadata = tracedCall(harness.keys.triggerOperator, client.traceparent);
  const response = await unary(triggers, triggers.batchCreateTriggers, { requests: [item('batch-1'), item('batch-2')] }, metadata);
  t.is(response.results.length, 2);
  const server = await pollUntil(() => inTrace(client.traceId).find((s) => s.name === 'herald.v1.TriggerService/BatchCreateTriggers'));
  const rows = (await harness.env.knex('trigger_instances').where({ workflow_id: workflow.id }).select('traceparent')) as Array<{ traceparent: string }>;
  t.deepEqual(rows.map((r) => r.traceparent), Array(2).fill(`00-${client.traceId}-${server.spanContext().spanId}-01`));
});

test.serial("a message produced straight to Kafka with a traceparent header runs under the producer's trace; a malformed one is ignored", async (t) => {
  const workflow = await createActiveWorkflow(harness.env.knex, makeSmsWorkflow());
  const producer = clientTrace();
  const traced = makeTriggerRequest(workflow.id);
  const untraced = makeTriggerRequest(workflow.id);
  const ids = [traced, untraced].map((r) => triggerIdFor(workflow.id, String(r.idempotencyKey)));
  await produceToTriggers(harness.env.config, [
    { key: String(traced.idempotencyKey), value: JSON.stringify(traced), headers: { 'content-type': 'application/json', traceparent: producer.traceparent } },
    { key: String(untraced.idempotencyKey), value: JSON.stringify(untraced), headers: { traceparent: 'not-a-traceparent' } },
  ]);
  const statuses = await waitForTerminal(harness.env.knex, ids);
  t.deepEqual(ids.map((id) => statuses.get(id)), ['completed', 'completed'], 'a malformed header is no reason to dead-letter');

  const rows = (await harness.env.knex('trigger_instances').whereIn('id', ids).select('id', 'traceparent')) as Array<{ id: string; traceparent: string | null }>;
  const stored = new Map(rows.map((r) => [r.id, r.traceparent]));
  t.is(stored.get(ids[0]), producer.traceparent);
  t.is(stored.get(ids[1]), null);

  await finishedTriggerSpan(producer.traceId, ids[0]);
  const steps = stepsOf(inTrace(producer.traceId), ids[0]);
  t.deepEqual(steps.map((s) => [s.name, s.attributes['herald.node_id'], s.attributes['herald.attempt'], s.attributes['herald.step_outcome']]), [
    ['herald.step sms', 'ping', 1, 'succeeded'],
  ]);
  t.is(steps[0].parentSpanContext?.spanId, producer.spanId);
  const processed = await kafkaSpanLinkedTo(SpanKind.CONSUMER, producer.traceId);
  t.true(processed.links.some((l) => l.context.spanId === producer.spanId), "the ingest span links the producer's own span");
});

/** The finished Kafka span of `kind` that links to `traceId`, once there is one. */
const kafkaSpanLinkedTo = (kind: SpanKind, traceId: string) =>
  pollUntil(() => exporter.getFinishedSpans().find((s) => s.kind === kind && s.links.some((l) => l.context.traceId === traceId)), {
    what: `a ${SpanKind[kind]} span linked to trace ${traceId}`,
  });

test.serial("the api's publish is a Kafka PRODUCER span and the scheduler's ingest a CONSUMER span, each linked to the trigger's trace", async (t) => {
  const workflow = await createActiveWorkflow(harness.env.knex, makeSmsWorkflow());
  const client = clientTrace();
  const { triggers } = harness.clients;
  const request = { workflowId: workflow.id, idempotencyKey: `kafka-spans-${Date.now()}`, recipient: makeRecipient(), payload: {} };
  const created = await unary(triggers, triggers.createTrigger, request, tracedCall(harness.keys.triggerOperator, client.traceparent));
  const server = await pollUntil(() => inTrace(client.traceId).find((s) => s.name === 'herald.v1.TriggerService/CreateTrigger'));
  const topic = harness.env.config.kafka.triggersTopic;

  const send = await kafkaSpanLinkedTo(SpanKind.PRODUCER, client.traceId);
  t.is(send.name, `send ${topic}`);
  t.like(send.attributes, { 'messaging.system': 'kafka', 'messaging.operation.type': 'send', 'messaging.destination.name': topic });
  t.true(send.links.some((l) => l.context.spanId === server.spanContext().spanId), 'the link names the CreateTrigger span');
  t.not(send.spanContext().traceId, client.traceId, 'a batch span is a root of its own, not a child of one trigger');

  const processed = await kafkaSpanLinkedTo(SpanKind.CONSUMER, client.traceId);
  t.is(processed.name, `process ${topic}`);
  t.like(processed.attributes, {
    'messaging.system': 'kafka',
    'messaging.operation.type': 'process',
    'messaging.destination.partition.id': String(created.trigger!.partition),
  });
  t.true((processed.attributes['messaging.batch.message_count'] as number) >= 1);
});

test('a batch span links each distinct trace context once, skips malformed ones, and stops at the cap', (t) => {
  const a = clientTrace();
  const b = clientTrace();
  const links = linksOf([a.traceparent, undefined, 'garbage', b.traceparent, a.traceparent]);
  t.deepEqual(links.map((l) => l.context.spanId), [a.spanId, b.spanId]);
  t.is(linksOf(Array.from({ length: MAX_SPAN_LINKS + 10 }, () => clientTrace().traceparent)).length, MAX_SPAN_LINKS);
});

test.serial('a refused or invalid call is an ERROR server span carrying its gRPC code and reason', async (t) => {
  const { triggers } = harness.clients;
  const request = { workflowId: '', idempotencyKey: 'x', recipient: makeRecipient(), payload: {} };
  const cases: Array<[string, grpc.status, string]> = [
    [harness.keys.workflowManager, grpc.status.PERMISSION_DENIED, 'PERMISSION_DENIED'],
    [harness.keys.triggerOperator, grpc.status.INVALID_ARGUMENT, 'INVALID_ARGUMENT'],
  ];
  for (const [key, code, reason] of cases) {
    const client = clientTrace();
    const refused = await failure(unary(triggers, triggers.createTrigger, request, tracedCall(key, client.traceparent)));
    t.is(refused.code, code);
    const server = await pollUntil(() => inTrace(client.traceId).find((s) => s.name === 'herald.v1.TriggerService/CreateTrigger'));
    t.is(server.parentSpanContext?.spanId, client.spanId);
    t.is(server.attributes['rpc.grpc.status_code'], code);
    t.deepEqual(server.status, { code: SpanStatusCode.ERROR, message: reason });
    t.is(server.attributes['error.type'], reason);
  }
});

test('only a well-formed W3C traceparent is stored, in canonical form', (t) => {
  const id = `${'a'.repeat(32)}-${'b'.repeat(16)}`;
  t.is(normalizeTraceparent(`00-${id}-01`), `00-${id}-01`);
  t.is(normalizeTraceparent(` 00-${id}-00 `), `00-${id}-00`, 'an unsampled parent stays unsampled');
  t.is(normalizeTraceparent(`01-${id}-01-future`), `00-${id}-01`, 'a later version may add fields');
  const malformed = [
    `00-${id}-01-extra`,
    `ff-${id}-01`,
    `00-${'0'.repeat(32)}-${'b'.repeat(16)}-01`,
    `00-${'a'.repeat(32)}-${'0'.repeat(16)}-01`,
    `00-${id.toUpperCase()}-01`,
    'garbage',
    '',
  ];
  for (const bad of malformed) {
    t.is(normalizeTraceparent(bad), undefined, bad);
  }
});
