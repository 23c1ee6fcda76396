import { randomUUID } from 'node:crypto';
import type { Knex } from 'knex';
import { RetryableError } from '../../core/errors';

export type OutboxChannel = 'email' | 'sms';

/** One message the outbox provider keeps instead of sending. `message` is the rendered message. */
export interface OutboxMessageDraft {
  idempotencyKey: string;
  triggerId: string;
  workflowId: string;
  nodeId: string;
  channel: OutboxChannel;
  message: Record<string, unknown>;
}

export interface OutboxInsertResult {
  id: string;
  /** False when a message with this idempotency key was already stored (a re-sent step). */
  inserted: boolean;
}

/**
 * Stores a message once per idempotency key: `INSERT … ON CONFLICT (idempotency_key) DO NOTHING`,
 * then the existing row's id on conflict, so a re-sent step gets the same id back.
 */
export async function insertOutboxMessage(knex: Knex, draft: OutboxMessageDraft): Promise<OutboxInsertResult> {
  try {
    const rows: Array<{ id: string }> = await knex('outbox_messages')
      .insert({
        id: randomUUID(),
        idempotency_key: draft.idempotencyKey,
        trigger_id: draft.triggerId,
        workflow_id: draft.workflowId,
        node_id: draft.nodeId,
        channel: draft.channel,
        message: JSON.stringify(draft.message),
      })
      .onConflict('idempotency_key')
      .ignore()
      .returning('id');
    if (rows.length > 0) return { id: rows[0].id, inserted: true };
    const existing: { id: string } | undefined = await knex('outbox_messages')
      .select('id')
      .where({ idempotency_key: draft.idempotencyKey })
      .first();
    if (!existing) throw new Error('outbox row vanished between insert and select');
    return { id: existing.id, inserted: false };
  } catch (error) {
    // The outbox is the provider here: a database outage is the provider being unavailable.
    throw new RetryableError('DATABASE_UNAVAILABLE', `outbox write failed: ${(error as Error).message}`, {
      cause: error,
      metadata: { provider: 'outbox' },
    });
  }
}
