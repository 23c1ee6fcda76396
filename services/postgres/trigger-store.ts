import type { Knex } from 'knex';
import { TerminalError } from '../../core/errors';
import type { LogEntryDraft } from '../../core/trigger/log';
import type { TriggerInstance, TriggerStatus } from '../../core/trigger/model';
import { retryTriggerState } from '../../core/trigger/retry-trigger';
import { assertTransition } from '../../core/trigger/state-machine';
import type { Db } from './db';
import { appendLogs } from './log-store';
import { clampPageSize, decodeTimeCursor, encodeTimeCursor, pageTsSql } from './row-mappers/page-cursor';
import { newTriggerToRecord, rowToTriggerInstance, rowToTriggerState, type NewTriggerRow, type TriggerRow } from './row-mappers/trigger-row';

export type { NewTriggerRow };
export { newTriggerRow } from './row-mappers/trigger-row';

export interface InsertedTrigger {
  instance: TriggerInstance;
  /** True when a row with the same (workflow_id, idempotency_key) already existed, or came earlier in `drafts`. */
  deduplicated: boolean;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const pairKey = (workflowId: string, idempotencyKey: string) => `${workflowId}\n${idempotencyKey}`;

/**
 * The column list of the JSON recordset. The whole batch travels as ONE jsonb parameter, so a
 * batch of any size is one statement and never meets Postgres' 65,535 bind-parameter limit.
 */
const RECORD_COLUMNS = `id uuid, workflow_id uuid, workflow_version int, idempotency_key text, partition int,
  source text, status text, recipient jsonb, payload jsonb, cursor jsonb, context jsonb, run int,
  wake_at timestamptz, created_at timestamptz, published_at timestamptz, traceparent text`;
const INSERT_COLUMNS = `id, workflow_id, workflow_version, idempotency_key, partition, source, status, recipient,
  payload, cursor, context, run, wake_at, created_at, updated_at, published_at, traceparent`;

/**
 * Inserts new triggers: ONE multi-row `INSERT … ON CONFLICT (workflow_id, idempotency_key) DO
 * NOTHING` (which also writes each inserted row's TRIGGER_ACCEPTED log entry, in the same
 * statement), plus — only when something conflicted — ONE select of the existing rows.
 * Used by the api's acceptance batcher and by the scheduler's direct-Kafka ingest.
 *
 * Results come back in `drafts` order. Drafts repeating an earlier draft's key are not sent
 * twice; they get that row with `deduplicated: true`.
 */
export async function insertTriggers(db: Db, drafts: NewTriggerRow[]): Promise<InsertedTrigger[]> {
  const results = await insertDrafts(db, drafts, false);
  return results.map((result, i) => {
    // Only possible if the conflicting row vanished in between; nothing deletes triggers.
    if (!result) throw new TerminalError('INTERNAL', `trigger ${drafts[i].id} neither inserted nor found`);
    return result;
  });
}

/**
 * insertTriggers for drafts built from a cached WorkflowVersion: a draft is inserted only while
 * its workflow is active, not deleted and still at the draft's version. The check rides in the
 * INSERT itself, so a cache costs no round trip and a deactivation bites at once. null marks a
 * draft whose workflow changed and for whose key no row exists: the caller re-reads the workflow.
 */
export async function insertTriggersIfCurrent(db: Db, drafts: NewTriggerRow[]): Promise<Array<InsertedTrigger | null>> {
  return insertDrafts(db, drafts, true);
}

const CURRENT_WORKFLOW_GUARD = `WHERE EXISTS (
         SELECT 1 FROM workflows w
          WHERE w.id = input.workflow_id AND w.active AND w.deleted_at IS NULL AND w.current_version = input.workflow_version)`;

async function insertDrafts(db: Db, drafts: NewTriggerRow[], requireCurrent: boolean): Promise<Array<InsertedTrigger | null>> {
  if (drafts.length === 0) return [];
  const firstByKey = new Map<string, NewTriggerRow>();
  for (const draft of drafts) {
    const key = pairKey(draft.workflowId, draft.idempotencyKey);
    if (!firstByKey.has(key)) firstByKey.set(key, draft);
  }
  const unique = [...firstByKey.values()];
  const result = await db.raw(
    `WITH input AS (
       SELECT * FROM jsonb_to_recordset(?::jsonb) AS x(${RECORD_COLUMNS})
     ), inserted AS (
       INSERT INTO trigger_instances (${INSERT_COLUMNS})
       SELECT id, workflow_id, workflow_version, idempotency_key, partition, source, status, recipient,
              payload, cursor, context, run, wake_at, created_at, created_at, published_at, traceparent
         FROM input
       ${requireCurrent ? CURRENT_WORKFLOW_GUARD : ''}
       ON CONFLICT (workflow_id, idempotency_key) DO NOTHING
       RETURNING *
     ), accepted_log AS (
       INSERT INTO execution_logs (trigger_id, workflow_id, event, level, message, data, created_at)
       SELECT id, workflow_id, 'TRIGGER_ACCEPTED', 'info', 'trigger accepted',
              jsonb_build_object('source', source, 'workflow_version', workflow_version, 'partition', partition),
              created_at
         FROM inserted
     )
     SELECT * FROM inserted`,
    [JSON.stringify(unique.map(newTriggerToRecord))],
  );
  const rowsByKey = new Map<string, TriggerRow>();
  for (const row of result.rows as TriggerRow[]) rowsByKey.set(pairKey(row.workflow_id, row.idempotency_key), row);
  const insertedKeys = new Set(rowsByKey.keys());

  const missing = unique.filter((draft) => !rowsByKey.has(pairKey(draft.workflowId, draft.idempotencyKey)));
  if (missing.length > 0) {
    // A separate statement on purpose: ON CONFLICT saw rows committed after this command's
    // snapshot began, which a CTE in the same statement could not see.
    const existing = await db.raw(
      `SELECT t.* FROM trigger_instances t
         JOIN unnest(?::uuid[], ?::text[]) AS k(workflow_id, idempotency_key)
           ON t.workflow_id = k.workflow_id AND t.idempotency_key = k.idempotency_key`,
      [missing.map((d) => d.workflowId), missing.map((d) => d.idempotencyKey)],
    );
    for (const row of existing.rows as TriggerRow[]) rowsByKey.set(pairKey(row.workflow_id, row.idempotency_key), row);
  }

  const claimed = new Set<string>();
  return drafts.map((draft) => {
    const key = pairKey(draft.workflowId, draft.idempotencyKey);
    const row = rowsByKey.get(key);
    if (!row) return null;
    const fresh = insertedKeys.has(key) && !claimed.has(key);
    claimed.add(key);
    return { instance: rowToTriggerInstance(row), deduplicated: !fresh };
  });
}

function notFound(id: string): TerminalError {
  return new TerminalError('NOT_FOUND', `trigger ${id} not found`, { metadata: { trigger_id: id } });
}

export async function getTrigger(db: Db, id: string): Promise<TriggerInstance> {
  const row = UUID.test(id) ? await db<TriggerRow>('trigger_instances').where({ id }).first() : undefined;
  if (!row) throw notFound(id);
  return rowToTriggerInstance(row);
}

/** Status of each existing trigger among `ids`, in one query (the watch hub's tick). */
export async function getTriggerStatuses(db: Db, ids: string[]): Promise<Map<string, TriggerStatus>> {
  const valid = ids.filter((id) => UUID.test(id));
  if (valid.length === 0) return new Map();
  const rows = await db<TriggerRow>('trigger_instances').whereIn('id', valid).select('id', 'status');
  return new Map(rows.map((row) => [row.id, row.status as TriggerStatus]));
}

export interface ListTriggersFilter {
  pageSize: number;
  pageToken: string;
  workflowId?: string;
  status?: TriggerStatus;
  createdAfter?: Date;
  createdBefore?: Date;
}

/** Newest first, keyset-paged on (created_at, id). */
export async function listTriggers(db: Db, filter: ListTriggersFilter): Promise<{ items: TriggerInstance[]; nextPageToken: string }> {
  const cursor = decodeTimeCursor(filter.pageToken);
  const size = clampPageSize(filter.pageSize);
  if (filter.workflowId && !UUID.test(filter.workflowId)) return { items: [], nextPageToken: '' };
  const query = db('trigger_instances')
    .select('*', db.raw(pageTsSql()))
    .orderBy([{ column: 'created_at', order: 'desc' }, { column: 'id', order: 'desc' }])
    .limit(size + 1);
  if (filter.workflowId) query.where('workflow_id', filter.workflowId);
  if (filter.status) query.where('status', filter.status);
  if (filter.createdAfter) query.where('created_at', '>=', filter.createdAfter);
  if (filter.createdBefore) query.where('created_at', '<', filter.createdBefore);
  if (cursor) query.whereRaw('(created_at, id) < (?::timestamptz, ?::uuid)', [cursor.ts, cursor.id]);
  const rows = (await query) as Array<TriggerRow & { page_ts: string }>;
  const page = rows.slice(0, size);
  const last = page[page.length - 1];
  return {
    items: page.map(rowToTriggerInstance),
    nextPageToken: rows.length > size && last ? encodeTimeCursor({ ts: last.page_ts, id: last.id }) : '',
  };
}

/**
 * Records the broker's ack for many triggers in one UPDATE. It never waits for a row lock: a
 * row a scheduler is checkpointing right now is skipped, and that checkpoint records the publish
 * itself (a scheduler only runs what it was handed). Waiting would deadlock, because the two
 * statements lock the same rows in no common order; Postgres breaks such a cycle only after
 * deadlock_timeout (1 s), by failing one side.
 */
export async function markPublished(db: Db, ids: string[]): Promise<void> {
  if (ids.length === 0) return;
  await db.raw(
    `UPDATE trigger_instances SET published_at = now()
      WHERE id IN (SELECT id FROM trigger_instances
                    WHERE id = ANY(?::uuid[]) AND published_at IS NULL
                    FOR UPDATE SKIP LOCKED)`,
    [ids],
  );
}

/**
 * Enqueued rows whose publish never completed and that have been quiet for `olderThanMs`:
 * what the relay re-publishes. `updated_at` (not `created_at`) so a just-retried trigger,
 * still being published by RetryTrigger itself, is left alone.
 */
export async function listUnpublished(db: Db, olderThanMs: number, limit: number): Promise<TriggerInstance[]> {
  const rows = (await db<TriggerRow>('trigger_instances')
    .whereNull('published_at')
    .andWhere('status', 'enqueued')
    .andWhereRaw(`updated_at < now() - make_interval(secs => ?)`, [olderThanMs / 1000])
    .orderBy('created_at')
    .limit(limit)) as TriggerRow[];
  return rows.map(rowToTriggerInstance);
}

/**
 * Locks the row, checks the transition with core's state machine, applies `change` with a
 * version bump (so a scheduler checkpoint holding the old version fails and re-reads), and
 * appends the log entry — all in one transaction.
 */
async function transitionTrigger(
  knex: Knex,
  id: string,
  to: TriggerStatus,
  change: (row: TriggerRow) => Record<string, unknown>,
  log: (row: TriggerRow) => LogEntryDraft,
): Promise<TriggerInstance> {
  if (!UUID.test(id)) throw notFound(id);
  return knex.transaction(async (trx) => {
    const row = await trx<TriggerRow>('trigger_instances').where({ id }).forUpdate().first();
    if (!row) throw notFound(id);
    assertTransition(row.status as TriggerStatus, to);
    const [updated] = (await trx('trigger_instances')
      .where({ id })
      .update({ ...change(row), status: to, version: row.version + 1, updated_at: trx.fn.now() })
      .returning('*')) as TriggerRow[];
    await appendLogs(trx, [{ triggerId: id, workflowId: row.workflow_id, entry: log(row) }]);
    return rowToTriggerInstance(updated);
  });
}

/** enqueued|processing -> cancelled. Cancelling a cancelled trigger returns it unchanged. */
export async function cancelTrigger(knex: Knex, id: string): Promise<TriggerInstance> {
  try {
    return await transitionTrigger(
      knex,
      id,
      'cancelled',
      () => ({ wake_at: null, finished_at: knex.fn.now() }),
      (row) => ({ event: 'TRIGGER_CANCELLED', level: 'info', message: `cancelled by an operator while ${row.status}` }),
    );
  } catch (error) {
    if (error instanceof TerminalError && error.reason === 'ILLEGAL_TRANSITION') {
      const current = await getTrigger(knex, id);
      if (current.status === 'cancelled') return current;
    }
    throw error;
  }
}

/**
 * failed -> enqueued with a fresh attempt budget (core's retryTriggerState: run + 1, failed
 * steps ready with 0 attempts), errors cleared, and published_at null so the caller (or the
 * relay) publishes it again.
 */
export async function retryTrigger(knex: Knex, id: string): Promise<TriggerInstance> {
  return transitionTrigger(
    knex,
    id,
    'enqueued',
    (row) => {
      const next = retryTriggerState(rowToTriggerState(row));
      return {
        cursor: JSON.stringify(next.cursor),
        run: next.run,
        attempts: Object.values(next.cursor.steps).reduce((sum, step) => sum + (step.attempts ?? 0), 0),
        last_error: null,
        wake_at: next.wakeAt,
        finished_at: null,
        published_at: null,
      };
    },
    (row) => ({
      event: 'TRIGGER_RETRIED',
      level: 'info',
      message: `retried by an operator; run ${row.run + 1}`,
      data: { run: row.run + 1 },
    }),
  );
}
