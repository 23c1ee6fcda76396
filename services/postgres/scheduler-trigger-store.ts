import type { TriggerInstance, TriggerState, TriggerStatus } from '../../core/trigger/model';
import type { Db } from './db';
import { rowToTriggerInstance, rowToTriggerState, type TriggerRow } from './row-mappers/trigger-row';

/** The scheduler's reads of `trigger_instances`: what an actor loads, and what a new owner resumes. */

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const LIVE: TriggerStatus[] = ['enqueued', 'processing'];

export interface LoadedTrigger {
  instance: TriggerInstance;
  state: TriggerState;
}

export async function loadTriggerForRun(db: Db, id: string): Promise<LoadedTrigger | null> {
  if (!UUID.test(id)) return null;
  const row = (await db<TriggerRow>('trigger_instances').where({ id }).first()) as TriggerRow | undefined;
  return row ? { instance: rowToTriggerInstance(row), state: rowToTriggerState(row) } : null;
}

/** Many triggers in one query (the actors' load batcher); missing ids are absent from the map. */
export async function loadTriggersForRun(db: Db, ids: string[]): Promise<Map<string, LoadedTrigger>> {
  const valid = [...new Set(ids.filter((id) => UUID.test(id)))];
  if (valid.length === 0) return new Map();
  // One array parameter: a 500-placeholder IN list cost knex and Postgres more to build and parse.
  const rows = (await db<TriggerRow>('trigger_instances').whereRaw('id = ANY(?::uuid[])', [valid])) as TriggerRow[];
  return new Map(rows.map((row) => [row.id, { instance: rowToTriggerInstance(row), state: rowToTriggerState(row) }]));
}

export interface LiveTriggerRef {
  id: string;
  status: TriggerStatus;
  wakeAt: Date | null;
  /** A step was started and never finished: it must be re-sent now, whatever the wake time. */
  hasRunningStep: boolean;
}

/** One page (keyset on id) of a partition's non-terminal triggers: what recovery resumes. */
export async function pageLiveTriggers(db: Db, partition: number, afterId: string | null, limit: number): Promise<LiveTriggerRef[]> {
  const query = db<TriggerRow>('trigger_instances')
    .where('partition', partition)
    .whereIn('status', LIVE)
    .orderBy('id')
    .limit(limit)
    .select(
      'id',
      'status',
      'wake_at',
      db.raw(`EXISTS (SELECT 1 FROM jsonb_each(cursor->'steps') s WHERE s.value->>'status' = 'running') AS has_running`),
    );
  if (afterId) query.andWhere('id', '>', afterId);
  const rows = (await query) as unknown as Array<Pick<TriggerRow, 'id' | 'status' | 'wake_at'> & { has_running: boolean }>;
  return rows.map((row) => ({ id: row.id, status: row.status as TriggerStatus, wakeAt: row.wake_at, hasRunningStep: row.has_running }));
}

export interface DueTimer {
  id: string;
  partition: number;
  wakeAt: Date;
}

/**
 * Parked triggers of `partitions` due at or before `before`. The safety sweep behind the Redis
 * timer wheel: Postgres `wake_at` is the truth, so a timer Redis lost is found here.
 */
export async function listDueTimers(db: Db, partitions: number[], before: Date, limit: number): Promise<DueTimer[]> {
  if (partitions.length === 0) return [];
  const rows = (await db<TriggerRow>('trigger_instances')
    .whereIn('partition', partitions)
    .whereIn('status', LIVE)
    .whereNotNull('wake_at')
    .andWhere('wake_at', '<=', before)
    .orderBy('wake_at')
    .limit(limit)
    .select('id', 'partition', 'wake_at')) as Array<Pick<TriggerRow, 'id' | 'partition' | 'wake_at'>>;
  return rows.map((row) => ({ id: row.id, partition: row.partition, wakeAt: row.wake_at as Date }));
}

/** Which of `ids` exist, with their owning partition (for messages that reference api-created rows). */
export async function findTriggerPartitions(db: Db, ids: string[]): Promise<Map<string, number>> {
  const valid = ids.filter((id) => UUID.test(id));
  if (valid.length === 0) return new Map();
  const rows = (await db<TriggerRow>('trigger_instances').whereRaw('id = ANY(?::uuid[])', [valid]).select('id', 'partition')) as Array<
    Pick<TriggerRow, 'id' | 'partition'>
  >;
  return new Map(rows.map((row) => [row.id, row.partition]));
}
