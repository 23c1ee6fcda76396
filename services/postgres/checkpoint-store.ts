import type { Knex } from 'knex';
import type { LogEntryDraft } from '../../core/trigger/log';
import type { StepError, TriggerState } from '../../core/trigger/model';
import { newLogEntryToRow } from './row-mappers/log-row';
import { contextToColumn } from './row-mappers/trigger-row';

/**
 * Fenced, group-committed scheduler checkpoints. Many actors' writes share ONE statement (so
 * one round trip and one commit): it locks their partitions' lease rows FOR SHARE (an epoch
 * bump cannot commit between our check and our write, and waits for us if it started first),
 * applies ONE multi-row UPDATE conditional on each row's version and on its partition's
 * epoch, and inserts the log entries of exactly the rows that were written. A written row counts
 * as published: the scheduler got it, whether or not the api's mark (which skips locked rows)
 * got there first.
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

const WRITE_COLUMNS = `idx int, id uuid, expected bigint, epoch bigint, status text, cursor jsonb, context jsonb,
  run int, attempts int, wake_at timestamptz, set_error boolean, last_error jsonb`;
const LOG_COLUMNS = `idx int, seq int, trigger_id uuid, workflow_id uuid, node_id text, event text, level text,
  attempt int, reason text, classification text, wake_at timestamptz, message text, data jsonb`;

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

function logRecords(writes: CheckpointWrite[]): Array<Record<string, unknown>> {
  const out: Array<Record<string, unknown>> = [];
  let seq = 0;
  writes.forEach((write, idx) => {
    for (const entry of write.logs) {
      const row = newLogEntryToRow({ triggerId: write.triggerId, workflowId: write.workflowId, entry });
      out.push({ idx, seq: seq++, ...row, wake_at: row.wake_at ? row.wake_at.toISOString() : null });
    }
  });
  return out;
}

export async function writeCheckpoints(knex: Knex, writes: CheckpointWrite[]): Promise<CheckpointOutcome[]> {
  if (writes.length === 0) return [];
  const partitions = [...new Set(writes.map((w) => w.partition))].sort((a, b) => a - b);
  const result = await knex.raw(
    `WITH leases AS (
       SELECT partition, epoch FROM partition_leases WHERE partition = ANY(?::int[]) ORDER BY partition FOR SHARE
     ), v AS (
       SELECT * FROM jsonb_to_recordset(?::jsonb) AS x(${WRITE_COLUMNS})
     ), written AS (
       UPDATE trigger_instances t SET
         status = v.status, cursor = v.cursor, context = v.context, run = v.run, attempts = v.attempts,
         wake_at = v.wake_at,
         last_error = CASE WHEN v.set_error THEN v.last_error ELSE t.last_error END,
         finished_at = CASE WHEN v.status IN ('completed', 'failed', 'cancelled') THEN coalesce(t.finished_at, now()) ELSE NULL END,
         version = t.version + 1,
         updated_at = now(),
         published_at = coalesce(t.published_at, now())
       FROM v, leases l
       WHERE t.id = v.id AND t.version = v.expected AND l.partition = t.partition AND l.epoch = v.epoch
       RETURNING v.idx, t.version
     ), logged AS (
       INSERT INTO execution_logs (trigger_id, workflow_id, node_id, event, level, attempt, reason, classification, wake_at, message, data)
       SELECT g.trigger_id, g.workflow_id, g.node_id, g.event, g.level, g.attempt, g.reason, g.classification, g.wake_at, g.message, g.data
         FROM jsonb_to_recordset(?::jsonb) AS g(${LOG_COLUMNS})
         JOIN written w ON w.idx = g.idx
        ORDER BY g.seq
     )
     SELECT 'written' AS kind, idx, version, NULL::int AS partition, NULL::bigint AS epoch FROM written
     UNION ALL
     SELECT 'lease', NULL, NULL, partition, epoch FROM leases`,
    [partitions, JSON.stringify(writes.map(toRecord)), JSON.stringify(logRecords(writes))],
  );
  const written = new Map<number, number>();
  const epochs = new Map<number, number>();
  for (const row of result.rows as Array<{ kind: string; idx: number; version: number; partition: number; epoch: number }>) {
    if (row.kind === 'written') written.set(row.idx, Number(row.version));
    else epochs.set(row.partition, Number(row.epoch));
  }
  return writes.map((write, idx): CheckpointOutcome => {
    const version = written.get(idx);
    if (version !== undefined) return { kind: 'written', version };
    const current = epochs.get(write.partition);
    if (current !== write.epoch) return { kind: 'fenced', currentEpoch: current ?? null };
    return { kind: 'conflict' };
  });
}
