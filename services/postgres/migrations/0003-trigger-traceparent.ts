import type { Knex } from 'knex';

/**
 * A trigger's W3C traceparent: the trace of the request that created it, which every step of
 * every run (across parked delays, restarts and partition moves) continues. Nullable with no
 * default, so adding it rewrites no rows; no index, so checkpoints stay heap-only updates.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('trigger_instances', (t) => {
    t.text('traceparent').nullable();
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('trigger_instances', (t) => {
    t.dropColumn('traceparent');
  });
}
