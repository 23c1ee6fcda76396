import type { Knex } from 'knex';
import type { Db } from './db';

/**
 * `partition_leases`: the Postgres half of partition ownership. The epoch is the fencing
 * token; every scheduler checkpoint is conditional on it (see checkpoint-store).
 */

export interface PartitionLeaseRow {
  partition: number;
  epoch: number;
  owner: string | null;
  updated_at: Date;
}

/**
 * Takes ownership of `partition`: epoch + 1, returned. The UPDATE waits for in-flight
 * checkpoints of the old owner (they hold the lease row FOR SHARE), so once this returns no
 * write carrying an older epoch can commit. `lock_timeout` keeps a stuck old owner (SIGSTOP
 * mid-transaction) from blocking us forever; the caller retries.
 */
export async function bumpPartitionEpoch(knex: Knex, partition: number, owner: string): Promise<number> {
  return knex.transaction(async (trx) => {
    await trx.raw(`SELECT set_config('lock_timeout', '5s', true)`);
    const result = await trx.raw(
      `INSERT INTO partition_leases (partition, epoch, owner, updated_at) VALUES (?, 1, ?, now())
       ON CONFLICT (partition) DO UPDATE
         SET epoch = partition_leases.epoch + 1, owner = EXCLUDED.owner, updated_at = now()
       RETURNING epoch`,
      [partition, owner],
    );
    return Number((result.rows as Array<{ epoch: number }>)[0].epoch);
  });
}

/** Marks a cleanly released partition as unowned; a no-op if someone already took it over. */
export async function clearPartitionOwner(db: Db, partition: number, epoch: number): Promise<void> {
  await db('partition_leases').where({ partition, epoch }).update({ owner: null, updated_at: db.fn.now() });
}

export async function getPartitionEpochs(db: Db, partitions: number[]): Promise<Map<number, number>> {
  if (partitions.length === 0) return new Map();
  const rows = (await db<PartitionLeaseRow>('partition_leases').whereIn('partition', partitions).select('partition', 'epoch')) as Array<
    Pick<PartitionLeaseRow, 'partition' | 'epoch'>
  >;
  return new Map(rows.map((row) => [row.partition, Number(row.epoch)]));
}

export async function listPartitionLeases(db: Db): Promise<PartitionLeaseRow[]> {
  return (await db<PartitionLeaseRow>('partition_leases').orderBy('partition')) as PartitionLeaseRow[];
}
