import type { Knex } from 'knex';
import type { LogEntryDraft } from '../../core/trigger/log';
import type { StepError, TriggerState } from '../../core/trigger/model';
import { appendLogs, type NewLogEntry } from './log-store';
import { contextToColumn } from './row-mappers/trigger-row';

/**
 * Fenced, group-committed scheduler checkpoints. Many actors' writes share ONE transaction:
 * a FOR SHARE read of their partitions' lease rows (so an epoch bump cannot commit between
 * our check and our write), ONE multi-row UPDATE conditional on each row's version and on its
 * partition's epoch, and ONE multi-row INSERT of the log entries of the rows that were written.
 */

export interface CheckpointWrite {
  triggerId: string;
  workflowId: string;
  partition: number;
  /** The writer's fencing token for `partition`. */
  epoch: number;
  /** The row version the writer last read or wrote. */
  expectedVersion: number;
  state: TriggerState;
  /** Undefined keeps the stored last_error. */
  lastError?: StepError | null;
  logs: LogEntryDraft[];
}

export type CheckpointOutcome =
  | { kind: 'written'; version: number }
  /** The partition's epoch moved: another owner took over; this process must stop the partition. */
  | { kind: 'fenced'; currentEpoch: number | null }
  /** The row changed under us (an operator cancel or retry, or our own stale view): reload. */
  | { kind: 'conflict' };

const RECORD_COLUMNS = `idx int, id uuid, expected bigint, epoch bigint, status text, cursor jsonb, context jsonb,
  run int, attempts int, wake_at timestamptz, set_error boolean, last_error jsonb`;

function totalAttempts(state: TriggerState): number {
  let sum = 0;
  for (const step of Object.values(state.cursor.steps)) sum += step.attempts ?? 0;
  return sum;
}

function toRecord(write: CheckpointWrite, idx: number): Record<string, unknown> {
  return {
    idx,
    id: write.triggerId,
    expected: write.expectedVersion,
    epoch: write.epoch,
    status: write.state.status,
    cursor: write.state.cursor,
    context: contextToColumn(write.state.context),
    run: write.state.run,
    attempts: totalAttempts(write.state),
    wake_at: write.state.wakeAt,
    set_error: write.lastError !== undefined,
    last_error: write.lastError ?? null,
  };
}

export async function writeCheckpoints(knex: Knex, writes: CheckpointWrite[]): Promise<CheckpointOutcome[]> {
  if (writes.length === 0) return [];
  const partitions = [...new Set(writes.map((w) => w.partition))].sort((a, b) => a - b);
  return knex.transaction(async (trx) => {
    // A writer frozen mid-transaction (SIGSTOP) must not block the next owner's epoch bump for long.
    await trx.raw(
      `SELECT set_config('lock_timeout', '5s', true), set_config('idle_in_transaction_session_timeout', '5s', true)`,
    );
    const leases = await trx.raw(
      `SELECT partition, epoch FROM partition_leases WHERE partition = ANY(?::int[]) ORDER BY partition FOR SHARE`,
      [partitions],
    );
    const epochs = new Map<number, number>();
    for (const row of leases.rows as Array<{ partition: number; epoch: number }>) epochs.set(row.partition, Number(row.epoch));

    const result = await trx.raw(
      `WITH v AS (SELECT * FROM jsonb_to_recordset(?::jsonb) AS x(${RECORD_COLUMNS}))
       UPDATE trigger_instances t SET
         status = v.status, cursor = v.cursor, context = v.context, run = v.run, attempts = v.attempts,
         wake_at = v.wake_at,
         last_error = CASE WHEN v.set_error THEN v.last_error ELSE t.last_error END,
         finished_at = CASE WHEN v.status IN ('completed', 'failed', 'cancelled') THEN coalesce(t.finished_at, now()) ELSE NULL END,
         version = t.version + 1,
         updated_at = now()
       FROM v, partition_leases l
       WHERE t.id = v.id AND t.version = v.expected AND l.partition = t.partition AND l.epoch = v.epoch
       RETURNING v.idx, t.version`,
      [JSON.stringify(writes.map(toRecord))],
    );
    const written = new Map<number, number>();
    for (const row of result.rows as Array<{ idx: number; version: number }>) written.set(row.idx, Number(row.version));

    const logs: NewLogEntry[] = [];
    writes.forEach((write, idx) => {
      if (!written.has(idx)) return;
      for (const entry of write.logs) logs.push({ triggerId: write.triggerId, workflowId: write.workflowId, entry });
    });
    await appendLogs(trx, logs);

    return writes.map((write, idx): CheckpointOutcome => {
      const version = written.get(idx);
      if (version !== undefined) return { kind: 'written', version };
      const current = epochs.get(write.partition);
      if (current !== write.epoch) return { kind: 'fenced', currentEpoch: current ?? null };
      return { kind: 'conflict' };
    });
  });
}
