import type { OutboxMessage } from '../../api/app/app-types';

/** An `outbox_messages` row, written by the dev outbox provider. */
export interface OutboxRow {
  id: string;
  idempotency_key: string;
  trigger_id: string;
  workflow_id: string;
  node_id: string;
  channel: string;
  message: Record<string, unknown>;
  created_at: Date;
}

export function rowToOutboxMessage(row: OutboxRow): OutboxMessage {
  return {
    id: row.id,
    triggerId: row.trigger_id,
    workflowId: row.workflow_id,
    nodeId: row.node_id,
    channel: row.channel === 'sms' ? 'sms' : 'email',
    idempotencyKey: row.idempotency_key,
    message: row.message,
    createdAt: row.created_at,
  };
}
