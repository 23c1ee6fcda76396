import { ROOT_CONTEXT, SpanKind, trace, type Link, type Span } from '@opentelemetry/api';
import { HeraldError } from '../../core/errors';
import { markSpanError, parseTraceparent } from './tracing';

/**
 * Kafka spans, after OpenTelemetry's messaging conventions: one PRODUCER span per send and one
 * CONSUMER span per processed batch. A batch carries many triggers of many traces, so the span
 * is a root of its own and LINKS to each trigger's trace instead of joining one of them.
 * No-ops (and no header parsing) until a TracerProvider is registered.
 */
const kafkaTracer = trace.getTracer('herald-kafka');

/** Enough to follow a batch back to its triggers without making a huge span out of a big one. */
export const MAX_SPAN_LINKS = 128;

export interface KafkaSpanTarget {
  operation: 'send' | 'process';
  topic: string;
  /** The partition, when the whole batch is one partition's. */
  partition?: number;
  messageCount: number;
}

/** The trace contexts to link, deduplicated and capped; undefined and malformed ones are skipped. */
export function linksOf(traceparents: Iterable<string | undefined>): Link[] {
  const links: Link[] = [];
  const seen = new Set<string>();
  for (const value of traceparents) {
    if (links.length >= MAX_SPAN_LINKS) break;
    const context = parseTraceparent(value);
    if (!context || seen.has(context.spanId)) continue;
    seen.add(context.spanId);
    links.push({ context });
  }
  return links;
}

function startKafkaSpan(target: KafkaSpanTarget, traceparents: () => Iterable<string | undefined>): Span {
  const span = kafkaTracer.startSpan(
    `${target.operation} ${target.topic}`,
    {
      kind: target.operation === 'send' ? SpanKind.PRODUCER : SpanKind.CONSUMER,
      attributes: {
        'messaging.system': 'kafka',
        'messaging.operation.type': target.operation,
        'messaging.operation.name': target.operation,
        'messaging.destination.name': target.topic,
        'messaging.batch.message_count': target.messageCount,
        ...(target.partition === undefined ? {} : { 'messaging.destination.partition.id': String(target.partition) }),
      },
    },
    ROOT_CONTEXT,
  );
  if (span.isRecording()) span.addLinks(linksOf(traceparents()));
  return span;
}

/**
 * Runs `work` inside a Kafka span. A failure marks the span ERROR with Herald's reason code
 * only: error texts can carry broker addresses or message content.
 */
export async function inKafkaSpan<T>(target: KafkaSpanTarget, traceparents: () => Iterable<string | undefined>, work: () => Promise<T>): Promise<T> {
  const span = startKafkaSpan(target, traceparents);
  try {
    return await work();
  } catch (error) {
    if (span.isRecording()) markSpanError(span, error instanceof HeraldError ? error.reason : 'INTERNAL');
    throw error;
  } finally {
    span.end();
  }
}
