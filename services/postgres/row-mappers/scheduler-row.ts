import type { SchedulerStatus } from '../../api/app/app-types';

export interface SchedulerRow {
  id: string;
  status: StoredSchedulerStatus;
  started_at: Date;
  last_seen_at: Date;
}

/** `schedulers.status`: the heartbeat's live numbers. */
export interface StoredSchedulerStatus {
  partitions: Array<{ partition: number; epoch: number }>;
  actorsInMemory: number;
  parkedTimers: number;
  consumerLag: number;
}

export function schedulerStatusToRow(status: SchedulerStatus): Omit<SchedulerRow, 'last_seen_at'> {
  return {
    id: status.schedulerId,
    status: {
      partitions: status.partitions.map((p) => ({ partition: p.partition, epoch: p.epoch })),
      actorsInMemory: status.actorsInMemory,
      parkedTimers: status.parkedTimers,
      consumerLag: status.consumerLag,
    },
    started_at: status.startedAt,
  };
}

export function rowToSchedulerStatus(row: SchedulerRow): SchedulerStatus & { lastSeenAt: Date } {
  return {
    schedulerId: row.id,
    partitions: (row.status.partitions ?? []).map((p) => ({ partition: p.partition, epoch: p.epoch })),
    actorsInMemory: row.status.actorsInMemory ?? 0,
    parkedTimers: row.status.parkedTimers ?? 0,
    consumerLag: row.status.consumerLag ?? 0,
    startedAt: row.started_at,
    lastSeenAt: row.last_seen_at,
  };
}
