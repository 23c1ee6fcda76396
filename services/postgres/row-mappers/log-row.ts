import type { ExecutionLogEntry, LogEntryDraft, LogEvent, LogLevel } from '../../../core/trigger/log';

export interface LogRow {
  /** bigserial; pg returns it as a string (connect.ts parses INT8 to number, so both occur). */
  id: string | number;
  trigger_id: string | null;
  workflow_id: string | null;
  node_id: string | null;
  event: string;
  level: string;
  attempt: number | null;
  reason: string | null;
  classification: string | null;
  wake_at: Date | null;
  message: string;
  data: Record<string, unknown> | null;
  created_at: Date;
}

/** A log entry to append: the draft plus whom it belongs to. */
export interface NewLogEntry {
  triggerId: string | null;
  workflowId: string | null;
  entry: LogEntryDraft;
}

export function newLogEntryToRow(item: NewLogEntry): Omit<LogRow, 'id' | 'created_at'> {
  const { entry } = item;
  return {
    trigger_id: item.triggerId,
    workflow_id: item.workflowId,
    node_id: entry.nodeId ?? null,
    event: entry.event,
    level: entry.level,
    attempt: entry.attempt ?? null,
    reason: entry.reason ?? null,
    classification: entry.classification ?? null,
    wake_at: entry.wakeAt ? new Date(entry.wakeAt) : null,
    message: entry.message,
    data: entry.data ?? null,
  };
}

export function rowToLogEntry(row: LogRow): ExecutionLogEntry {
  const entry: ExecutionLogEntry = {
    id: String(row.id),
    triggerId: row.trigger_id,
    workflowId: row.workflow_id,
    event: row.event as LogEvent,
    level: row.level as LogLevel,
    message: row.message,
    createdAt: row.created_at,
  };
  if (row.node_id !== null) entry.nodeId = row.node_id;
  if (row.attempt !== null) entry.attempt = row.attempt;
  if (row.reason !== null) entry.reason = row.reason;
  if (row.classification === 'retryable' || row.classification === 'terminal') entry.classification = row.classification;
  if (row.wake_at !== null) entry.wakeAt = row.wake_at.toISOString();
  if (row.data !== null) entry.data = row.data;
  return entry;
}
