import { Partitioners, type Kafka, type Producer } from 'kafkajs';
import type { Logger } from 'pino';
import { RetryableError } from '../../core/errors';
import type { TriggerInstance } from '../../core/trigger/model';
import type { HeraldConfig } from '../config/config';
import { inKafkaSpan } from '../telemetry/kafka-spans';

/**
 * THE MESSAGE THE API PRODUCES to `${prefix}herald.triggers` (the scheduler consumes it):
 *
 *   key:       the trigger id (UUID text, utf8)
 *   partition: the row's stored `partition` (= partitionFor(id, HERALD_PARTITIONS)), set explicitly
 *   headers:   content-type: application/vnd.herald.trigger-ref+json
 *              traceparent: <W3C traceparent>   // when the trigger has one (the trace it continues)
 *   value:     utf8 JSON {
 *                "v": 1,
 *                "kind": "trigger-ref",
 *                "triggerId": "<uuid>",
 *                "workflowId": "<uuid>",
 *                "partition": <int>,
 *                "run": <int>,                       // the trigger's run (RetryTrigger bumps it)
 *                "reason": "accepted" | "retried" | "relayed" | "cancelled"
 *              }
 *
 * It is a reference, not the trigger: the row in Postgres is already the truth, so the consumer
 * loads it by id and acts on its CURRENT status (an enqueued row starts; a cancelled or terminal
 * one is ignored, or stops a live actor). The same ref can arrive more than once (the relay
 * re-publishes rows whose ack was not recorded); consumers must be idempotent on triggerId+run.
 * Messages without this content-type are direct-producer `TriggerRequest`s (JSON or protobuf).
 */
export const TRIGGER_REF_CONTENT_TYPE = 'application/vnd.herald.trigger-ref+json';

export type TriggerRefReason = 'accepted' | 'retried' | 'relayed' | 'cancelled';

export interface TriggerRefMessage {
  v: 1;
  kind: 'trigger-ref';
  triggerId: string;
  workflowId: string;
  partition: number;
  run: number;
  reason: TriggerRefReason;
}

export type PublishableTrigger = Pick<TriggerInstance, 'id' | 'workflowId' | 'partition' | 'run' | 'traceparent'>;

export interface TriggerPublisher {
  /**
   * Produces one ref per trigger in ONE producer call (kafkajs batches per partition leader)
   * and resolves once the broker acked all of them (acks = all). Rejects with a RetryableError
   * BROKER_UNAVAILABLE if that takes longer than `publishTimeoutMs` or too many publishes are
   * already stuck; the rows stay unpublished and the relay picks them up.
   */
  publish(triggers: PublishableTrigger[], reason: TriggerRefReason): Promise<void>;
  close(): Promise<void>;
}

/** Parses a ref; null when the bytes are not one (the consumer then treats it as a TriggerRequest). */
export function parseTriggerRef(value: Buffer | string | null): TriggerRefMessage | null {
  if (value === null) return null;
  try {
    const parsed = JSON.parse(value.toString()) as Partial<TriggerRefMessage>;
    return parsed && parsed.kind === 'trigger-ref' && typeof parsed.triggerId === 'string' ? (parsed as TriggerRefMessage) : null;
  } catch {
    return null;
  }
}

export interface TriggerPublisherOptions {
  publishTimeoutMs?: number;
  /** Publishes allowed to wait on an unreachable broker before new ones fail fast. */
  maxPending?: number;
  logger?: Logger;
}

export function createTriggerPublisher(kafka: Kafka, config: HeraldConfig, options: TriggerPublisherOptions = {}): TriggerPublisher {
  const publishTimeoutMs = options.publishTimeoutMs ?? 5_000;
  const maxPending = options.maxPending ?? 64;
  const topic = config.kafka.triggersTopic;
  // Idempotent producer: the broker drops a retried batch it already wrote. kafkajs requires
  // acks = -1 for it and keeps ordering with one request in flight per broker. Its retries are
  // unbounded by design, so a down broker is bounded here by publishTimeoutMs + maxPending.
  const producer: Producer = kafka.producer({
    idempotent: true,
    maxInFlightRequests: 1,
    allowAutoTopicCreation: false,
    // Every message names its partition; the partitioner is never consulted. Naming it silences
    // kafkajs' "default partitioner changed" warning.
    createPartitioner: Partitioners.DefaultPartitioner,
  });
  let connecting: Promise<void> | null = null;
  let pending = 0;
  let closed = false;
  producer.on(producer.events.DISCONNECT, () => {
    connecting = null;
  });

  function ensureConnected(): Promise<void> {
    if (!connecting) {
      connecting = producer.connect().catch((error: unknown) => {
        connecting = null;
        throw error;
      });
    }
    return connecting;
  }

  async function send(triggers: PublishableTrigger[], reason: TriggerRefReason): Promise<void> {
    await ensureConnected();
    const target = { operation: 'send', topic, messageCount: triggers.length } as const;
    await inKafkaSpan(target, () => triggers.map((t) => t.traceparent), () => producer.send({
      topic,
      acks: -1,
      messages: triggers.map((t) => {
        const value: TriggerRefMessage = {
          v: 1,
          kind: 'trigger-ref',
          triggerId: t.id,
          workflowId: t.workflowId,
          partition: t.partition,
          run: t.run,
          reason,
        };
        const headers: Record<string, string> = { 'content-type': TRIGGER_REF_CONTENT_TYPE };
        if (t.traceparent) headers.traceparent = t.traceparent;
        return { key: t.id, partition: t.partition, value: JSON.stringify(value), headers };
      }),
    }));
  }

  return {
    async publish(triggers, reason) {
      if (triggers.length === 0) return;
      if (closed) throw new RetryableError('BROKER_UNAVAILABLE', 'publisher is closed');
      if (pending >= maxPending) throw new RetryableError('BROKER_UNAVAILABLE', 'too many publishes waiting for the broker');
      pending += 1;
      const sending = send(triggers, reason).finally(() => {
        pending -= 1;
      });
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new RetryableError('BROKER_UNAVAILABLE', `broker did not ack within ${publishTimeoutMs} ms`)),
          publishTimeoutMs,
        );
      });
      // A timed-out send keeps going in the background; if it lands, the relay's copy is a harmless duplicate.
      sending.catch((error: unknown) => options.logger?.debug({ err: error }, 'background publish ended with an error'));
      try {
        await Promise.race([sending, timeout]);
      } catch (error) {
        if (error instanceof RetryableError) throw error;
        throw new RetryableError('BROKER_UNAVAILABLE', 'publishing to Kafka failed', { cause: error });
      } finally {
        clearTimeout(timer);
      }
    },
    async close() {
      closed = true;
      await producer.disconnect().catch(() => undefined);
    },
  };
}
