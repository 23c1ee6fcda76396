import type { SchedulerStatus } from '../api/app/app-types';
import type { Db } from './db';
import { rowToSchedulerStatus, schedulerStatusToRow, type SchedulerRow } from './row-mappers/scheduler-row';

/** One upsert per heartbeat; `last_seen_at` is the database's clock, so schedulers' clocks may drift. */
export async function upsertSchedulerHeartbeat(db: Db, status: SchedulerStatus): Promise<void> {
  const row = schedulerStatusToRow(status);
  await db('schedulers')
    .insert({ id: row.id, status: JSON.stringify(row.status), started_at: row.started_at, last_seen_at: db.fn.now() })
    .onConflict('id')
    .merge({ status: db.raw('excluded.status'), started_at: db.raw('excluded.started_at'), last_seen_at: db.fn.now() });
}

/** Schedulers seen within `seenWithinMs` (all when omitted), by id. */
export async function listSchedulers(db: Db, seenWithinMs?: number): Promise<Array<SchedulerStatus & { lastSeenAt: Date }>> {
  const query = db<SchedulerRow>('schedulers').orderBy('id');
  if (seenWithinMs !== undefined) query.whereRaw('last_seen_at > now() - make_interval(secs => ?)', [seenWithinMs / 1000]);
  const rows = (await query) as SchedulerRow[];
  return rows.map(rowToSchedulerStatus);
}
