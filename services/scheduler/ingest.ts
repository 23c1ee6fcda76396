import type { KafkaMessage } from 'kafkajs';
import type { Knex } from 'knex';
import type { Logger } from 'pino';
import { TerminalError, type ReasonCode } from '../../core/errors';
import type { Recipient } from '../../core/trigger/model';
import { validateTriggerInput } from '../../core/trigger/validate-trigger-input';
import type { DeadLetter, DeadLetterSink } from '../kafka/dead-letter';
import { decodeTriggerMessage, type DirectTriggerRequest } from '../kafka/decode-trigger-message';
import { appendLogs, type NewLogEntry } from '../postgres/log-store';
import { findTriggerPartitions } from '../postgres/scheduler-trigger-store';
import { createTriggerAcceptor, type TriggerAcceptor } from '../postgres/trigger-acceptor';
import { newTriggerRow, type InsertedTrigger } from '../postgres/trigger-store';

/** A trigger whose row exists after ingest, on the partition that owns it. */
export interface IngestedTrigger {
  id: string;
  partition: number;
}

export interface IngestStats {
  refs: number;
  direct: number;
  deduplicated: number;
  deadLettered: number;
}

interface Rejected {
  message: KafkaMessage;
  reason: ReasonCode;
  text: string;
  workflowId?: string;
}

/** A producer's trigger request, with the trace its `traceparent` header names. */
interface DirectMessage {
  message: KafkaMessage;
  request: DirectTriggerRequest;
  traceparent?: string;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Turns one Kafka batch into rows: api refs are checked to exist; direct requests get exactly
 * CreateTrigger's validation and dedupe (validateTriggerInput, active workflow, one multi-row
 * INSERT … ON CONFLICT through the trigger acceptor) and belong to the partition they arrived on;
 * everything else is dead-lettered with its reason and logged. Resolves once every message is
 * either a row or a dead letter, which is when its offset may be committed; throws otherwise.
 */
export class TriggerIngest {
  readonly stats: IngestStats = { refs: 0, direct: 0, deduplicated: 0, deadLettered: 0 };
  private readonly acceptor: TriggerAcceptor;

  constructor(
    private readonly knex: Knex,
    private readonly deadLetters: DeadLetterSink,
    private readonly maxPayloadBytes: number,
    private readonly logger: Logger,
  ) {
    this.acceptor = createTriggerAcceptor(knex);
  }

  async ingest(topic: string, partition: number, messages: KafkaMessage[]): Promise<IngestedTrigger[]> {
    const out: IngestedTrigger[] = [];
    const rejected: Rejected[] = [];
    const refs: Array<{ message: KafkaMessage; triggerId: string }> = [];
    const direct: DirectMessage[] = [];

    for (const message of messages) {
      const decoded = decodeTriggerMessage(message.value, message.headers);
      if (decoded.kind === 'ref') refs.push({ message, triggerId: decoded.triggerId });
      else if (decoded.kind === 'direct') direct.push({ message, request: decoded.request, traceparent: decoded.traceparent });
      else rejected.push({ message, reason: 'MESSAGE_UNDECODABLE', text: decoded.message });
    }

    if (refs.length > 0) {
      const found = await findTriggerPartitions(this.knex, refs.map((r) => r.triggerId));
      for (const ref of refs) {
        const owner = found.get(ref.triggerId);
        if (owner === undefined) {
          rejected.push({ message: ref.message, reason: 'MESSAGE_INVALID', text: `references trigger ${ref.triggerId}, which does not exist` });
        } else {
          out.push({ id: ref.triggerId, partition: owner });
          this.stats.refs += 1;
        }
      }
    }

    if (direct.length > 0) out.push(...(await this.insertDirect(partition, direct, rejected)));

    if (rejected.length > 0) await this.deadLetter(topic, partition, rejected);
    return out;
  }

  private async insertDirect(
    partition: number,
    direct: DirectMessage[],
    rejected: Rejected[],
  ): Promise<IngestedTrigger[]> {
    const valid: Array<{
      message: KafkaMessage;
      workflowId: string;
      idempotencyKey: string;
      recipient: Recipient;
      payload: Record<string, unknown>;
      traceparent?: string;
    }> = [];
    for (const { message, request, traceparent } of direct) {
      const violations = validateTriggerInput(request, { maxPayloadBytes: this.maxPayloadBytes });
      if (violations.length > 0) {
        const text = violations.map((v) => `${v.path}: ${v.reason}: ${v.message}`).join('; ');
        rejected.push({ message, reason: 'MESSAGE_INVALID', text, workflowId: uuidOrUndefined(request.workflowId) });
        continue;
      }
      valid.push({
        message,
        workflowId: request.workflowId as string,
        idempotencyKey: request.idempotencyKey as string,
        recipient: normalizeRecipient(request.recipient as Record<string, unknown>),
        payload: (request.payload ?? {}) as Record<string, unknown>,
        traceparent,
      });
    }
    if (valid.length === 0) return [];

    const createdAt = new Date();
    // Correctness rests on the unique constraint; placement is the partition it arrived on.
    const results = await this.acceptor.accept(valid, (version, input) =>
      newTriggerRow(version, input, { partitionOf: () => partition, source: 'kafka', createdAt, publishedAt: createdAt }),
    );
    const inserted: InsertedTrigger[] = [];
    results.forEach((result, i) => {
      if (!(result instanceof Error)) inserted.push(result);
      else if (result instanceof TerminalError) {
        rejected.push({ message: valid[i].message, reason: result.reason, text: result.message, workflowId: uuidOrUndefined(valid[i].workflowId) });
      } else throw result;
    });
    this.stats.direct += inserted.length;
    this.stats.deduplicated += inserted.filter((r) => r.deduplicated).length;
    // A duplicate of an existing row wakes that row (on its own partition), which is harmless.
    return inserted.map((r) => ({ id: r.instance.id, partition: r.instance.partition }));
  }

  private async deadLetter(topic: string, partition: number, rejected: Rejected[]): Promise<void> {
    const letters: DeadLetter[] = rejected.map((r) => ({
      reason: r.reason,
      message: r.text,
      source: { topic, partition, offset: r.message.offset },
      original: { key: r.message.key, value: r.message.value, headers: r.message.headers, timestamp: r.message.timestamp },
    }));
    // The broker has the letter before the log says so; both happen before the offset commits.
    await this.deadLetters.send(letters);
    const logs: NewLogEntry[] = rejected.map((r) => ({
      triggerId: null,
      workflowId: r.workflowId ?? null,
      entry: {
        event: 'MESSAGE_DEAD_LETTERED',
        level: 'warn',
        message: `message dead-lettered to ${this.deadLetters.topic}: ${r.text}`.slice(0, 2_000),
        reason: r.reason,
        data: { topic, partition, offset: r.message.offset, dead_letter_topic: this.deadLetters.topic },
      },
    }));
    await appendLogs(this.knex, logs);
    this.stats.deadLettered += rejected.length;
    this.logger.warn({ topic, partition, count: rejected.length, reasons: [...new Set(rejected.map((r) => r.reason))] }, 'messages dead-lettered');
  }
}

function uuidOrUndefined(value: unknown): string | undefined {
  return typeof value === 'string' && UUID.test(value) ? value : undefined;
}

/** The same shape the api stores: known fields only, blanks dropped. */
function normalizeRecipient(raw: Record<string, unknown>): Recipient {
  const recipient: Recipient = { id: String(raw.id) };
  for (const field of ['email', 'phone', 'locale', 'timezone'] as const) {
    const value = raw[field];
    if (typeof value === 'string' && value !== '') recipient[field] = value;
  }
  return recipient;
}
