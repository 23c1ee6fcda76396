import { TerminalError } from '../../core/errors';
import type { ExecutionLogEntry } from '../../core/trigger/log';
import type { Db } from './db';
import { newLogEntryToRow, rowToLogEntry, type LogRow, type NewLogEntry } from './row-mappers/log-row';
import { clampPageSize, decodeIdCursor, encodeIdCursor } from './row-mappers/page-cursor';

export type { NewLogEntry };

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Appends entries in one multi-row INSERT; pass a transaction to make them atomic with a state change. */
export async function appendLogs(db: Db, entries: NewLogEntry[]): Promise<void> {
  if (entries.length === 0) return;
  const rows = entries.map((item) => {
    const row = newLogEntryToRow(item);
    return { ...row, data: row.data === null ? null : JSON.stringify(row.data) };
  });
  await db('execution_logs').insert(rows);
}

export interface ListLogsRequest {
  pageSize: number;
  pageToken: string;
  triggerId?: string;
  workflowId?: string;
}

/** Chronological (by id), keyset-paged. One of triggerId / workflowId narrows it; neither lists all. */
export async function listLogs(db: Db, request: ListLogsRequest): Promise<{ items: ExecutionLogEntry[]; nextPageToken: string }> {
  const after = decodeIdCursor(request.pageToken);
  const size = clampPageSize(request.pageSize, { fallback: 100, max: 1000 });
  for (const [field, value] of [['trigger_id', request.triggerId], ['workflow_id', request.workflowId]] as const) {
    if (value && !UUID.test(value)) {
      throw new TerminalError('INVALID_ARGUMENT', `${field} must be a UUID`, {
        violations: [{ path: field, reason: 'INVALID_VALUE', message: 'must be a UUID' }],
      });
    }
  }
  const query = db<LogRow>('execution_logs').orderBy('id').limit(size + 1);
  if (request.triggerId) query.where('trigger_id', request.triggerId);
  if (request.workflowId) query.where('workflow_id', request.workflowId);
  if (after !== null) query.where('id', '>', after);
  const rows = (await query) as LogRow[];
  const page = rows.slice(0, size);
  const last = page[page.length - 1];
  return {
    items: page.map(rowToLogEntry),
    nextPageToken: rows.length > size && last ? encodeIdCursor(String(last.id)) : '',
  };
}

/** Entries of one trigger with id > afterId, oldest first; what WatchTrigger streams. */
export async function listLogsAfter(db: Db, triggerId: string, afterId: string, limit = 1000): Promise<ExecutionLogEntry[]> {
  const rows = (await db<LogRow>('execution_logs')
    .where('trigger_id', triggerId)
    .andWhere('id', '>', afterId)
    .orderBy('id')
    .limit(limit)) as LogRow[];
  return rows.map(rowToLogEntry);
}

/**
 * New entries for many watched triggers in ONE query: each trigger with its own high-water mark.
 * The watch hub calls this once per tick however many streams are open.
 */
export async function listLogsAfterMany(
  db: Db,
  marks: Array<{ triggerId: string; afterId: string }>,
  limit = 5000,
): Promise<ExecutionLogEntry[]> {
  if (marks.length === 0) return [];
  const result = await db.raw(
    `SELECT l.* FROM unnest(?::uuid[], ?::bigint[]) AS w(trigger_id, after_id)
       JOIN execution_logs l ON l.trigger_id = w.trigger_id AND l.id > w.after_id
      ORDER BY l.id LIMIT ?`,
    [marks.map((m) => m.triggerId), marks.map((m) => m.afterId), limit],
  );
  return (result.rows as LogRow[]).map(rowToLogEntry);
}
