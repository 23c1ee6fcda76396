import type { Knex } from 'knex';

/**
 * Checkpoints rewrite a trigger row several times in its life. With full pages every rewrite
 * lands on another page and touches all seven of the table's indexes; with room left on the page,
 * the rewrites that change no indexed column (most mid-run steps) are heap-only (HOT) updates.
 * Measured with the checkpoint ceiling (`npm run bench -- --only=ceilings`): 22-24k rows/s at the
 * default fillfactor 100, 31-39k at 50, 32k at 70, which keeps more rows per page.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.raw('ALTER TABLE trigger_instances SET (fillfactor = 70)');
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.raw('ALTER TABLE trigger_instances RESET (fillfactor)');
}
