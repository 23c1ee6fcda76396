import type { IHeaders, Producer } from 'kafkajs';
import type { ReasonCode } from '../../core/errors';

/**
 * `herald.triggers.dlq`: where a message the scheduler cannot accept goes, byte for byte, with
 * why in its headers. Nothing is ever dropped silently; an operator can fix and replay it.
 */

export const DLQ_HEADERS = {
  reason: 'x-herald-dlq-reason',
  message: 'x-herald-dlq-message',
  sourceTopic: 'x-herald-dlq-source-topic',
  sourcePartition: 'x-herald-dlq-source-partition',
  sourceOffset: 'x-herald-dlq-source-offset',
} as const;

const MAX_HEADER_MESSAGE = 1_000;

export interface DeadLetter {
  reason: ReasonCode;
  message: string;
  source: { topic: string; partition: number; offset: string };
  original: { key: Buffer | null; value: Buffer | null; headers?: IHeaders; timestamp?: string };
}

export class DeadLetterSink {
  constructor(
    private readonly producer: Producer,
    readonly topic: string,
  ) {}

  /** Resolves once the broker has every letter (acks from all in-sync replicas). */
  async send(letters: DeadLetter[]): Promise<void> {
    if (letters.length === 0) return;
    await this.producer.send({
      topic: this.topic,
      acks: -1,
      messages: letters.map((letter) => ({
        key: letter.original.key,
        value: letter.original.value,
        timestamp: letter.original.timestamp,
        headers: {
          ...(letter.original.headers ?? {}),
          [DLQ_HEADERS.reason]: letter.reason,
          [DLQ_HEADERS.message]: letter.message.slice(0, MAX_HEADER_MESSAGE),
          [DLQ_HEADERS.sourceTopic]: letter.source.topic,
          [DLQ_HEADERS.sourcePartition]: String(letter.source.partition),
          [DLQ_HEADERS.sourceOffset]: letter.source.offset,
        },
      })),
    });
  }
}
