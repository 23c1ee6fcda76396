import type { Knex } from 'knex';
import * as initialSchema from './migrations/0001-initial-schema';
import * as hotCheckpoints from './migrations/0002-hot-checkpoints';
import * as triggerTraceparent from './migrations/0003-trigger-traceparent';

/** Migrations are imported, not globbed from disk, so they run the same under tsx and in tests. */
const MIGRATIONS: Record<string, Knex.Migration> = {
  '0001-initial-schema': initialSchema,
  '0002-hot-checkpoints': hotCheckpoints,
  '0003-trigger-traceparent': triggerTraceparent,
};

const migrationSource: Knex.MigrationSource<string> = {
  getMigrations: async () => Object.keys(MIGRATIONS).sort(),
  getMigrationName: (name) => name,
  getMigration: async (name) => MIGRATIONS[name],
};

/** Brings `schema` up to date; creates it first, so each test file can own one. */
export async function migrateToLatest(knex: Knex, schema: string): Promise<void> {
  await knex.raw('CREATE SCHEMA IF NOT EXISTS ??', [schema]);
  await knex.migrate.latest({ migrationSource, schemaName: schema, tableName: 'knex_migrations' });
}
