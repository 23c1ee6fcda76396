import type { Knex } from 'knex';

/**
 * The whole schema. `trigger_instances.context` holds only the mutable part of the execution
 * context (`steps` outputs); the rest is rebuilt from the row's own columns, so a 256 KiB
 * payload is not rewritten by every checkpoint.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('workflows', (t) => {
    t.uuid('id').primary();
    t.text('name').notNullable();
    t.text('description').notNullable().defaultTo('');
    t.integer('current_version').notNullable();
    t.boolean('active').notNullable().defaultTo(false);
    t.text('etag').notNullable();
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('deleted_at', { useTz: true }).nullable();
  });
  await knex.schema.raw('CREATE INDEX workflows_live_idx ON workflows (created_at, id) WHERE deleted_at IS NULL');

  await knex.schema.createTable('workflow_versions', (t) => {
    t.uuid('workflow_id').notNullable().references('id').inTable('workflows');
    t.integer('version').notNullable();
    t.jsonb('definition').notNullable();
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.primary(['workflow_id', 'version']);
  });

  await knex.schema.createTable('trigger_instances', (t) => {
    t.uuid('id').primary();
    t.uuid('workflow_id').notNullable();
    t.integer('workflow_version').notNullable();
    t.text('idempotency_key').notNullable();
    t.integer('partition').notNullable();
    t.text('source').notNullable();
    t.text('status').notNullable();
    t.jsonb('recipient').notNullable();
    t.jsonb('payload').notNullable();
    t.jsonb('cursor').notNullable();
    t.jsonb('context').notNullable();
    t.integer('run').notNullable().defaultTo(1);
    t.integer('attempts').notNullable().defaultTo(0);
    t.timestamp('wake_at', { useTz: true }).nullable();
    t.bigInteger('version').notNullable().defaultTo(1);
    t.jsonb('last_error').nullable();
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('published_at', { useTz: true }).nullable();
    t.timestamp('finished_at', { useTz: true }).nullable();
    t.unique(['workflow_id', 'idempotency_key']);
  });
  await knex.schema.raw(
    "CREATE INDEX trigger_instances_live_idx ON trigger_instances (partition, wake_at) WHERE status IN ('enqueued', 'processing')",
  );
  await knex.schema.raw(
    'CREATE INDEX trigger_instances_unpublished_idx ON trigger_instances (created_at) WHERE published_at IS NULL',
  );
  await knex.schema.raw('CREATE INDEX trigger_instances_workflow_idx ON trigger_instances (workflow_id, created_at, id)');
  await knex.schema.raw('CREATE INDEX trigger_instances_status_idx ON trigger_instances (status, created_at, id)');
  await knex.schema.raw('CREATE INDEX trigger_instances_created_idx ON trigger_instances (created_at, id)');

  await knex.schema.createTable('execution_logs', (t) => {
    t.bigIncrements('id').primary();
    t.uuid('trigger_id').nullable();
    t.uuid('workflow_id').nullable();
    t.text('node_id').nullable();
    t.text('event').notNullable();
    t.text('level').notNullable();
    t.integer('attempt').nullable();
    t.text('reason').nullable();
    t.text('classification').nullable();
    t.timestamp('wake_at', { useTz: true }).nullable();
    t.text('message').notNullable();
    t.jsonb('data').nullable();
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });
  await knex.schema.raw('CREATE INDEX execution_logs_trigger_idx ON execution_logs (trigger_id, id)');
  await knex.schema.raw('CREATE INDEX execution_logs_workflow_idx ON execution_logs (workflow_id, id)');

  await knex.schema.createTable('api_keys', (t) => {
    t.uuid('id').primary();
    t.text('role').notNullable();
    t.text('description').notNullable().defaultTo('');
    /** SHA-256 of the secret part; the secret itself is never stored. */
    t.binary('secret_hash').notNullable();
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('revoked_at', { useTz: true }).nullable();
    t.timestamp('last_used_at', { useTz: true }).nullable();
  });

  await knex.schema.createTable('partition_leases', (t) => {
    t.integer('partition').primary();
    t.bigInteger('epoch').notNullable().defaultTo(0);
    t.text('owner').nullable();
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });

  await knex.schema.createTable('outbox_messages', (t) => {
    t.uuid('id').primary();
    t.text('idempotency_key').notNullable().unique();
    t.uuid('trigger_id').notNullable();
    t.uuid('workflow_id').notNullable();
    t.text('node_id').notNullable();
    t.text('channel').notNullable();
    t.jsonb('message').notNullable();
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });
  await knex.schema.raw('CREATE INDEX outbox_messages_trigger_idx ON outbox_messages (trigger_id, created_at)');

  await knex.schema.createTable('schedulers', (t) => {
    t.text('id').primary();
    t.jsonb('status').notNullable();
    t.timestamp('started_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('last_seen_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });
}

export async function down(knex: Knex): Promise<void> {
  for (const table of [
    'schedulers',
    'outbox_messages',
    'partition_leases',
    'api_keys',
    'execution_logs',
    'trigger_instances',
    'workflow_versions',
    'workflows',
  ]) {
    await knex.schema.dropTableIfExists(table);
  }
}
