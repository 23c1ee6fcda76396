/**
 * Postgres ceiling: batched checkpoint rows/s on the real schema through Herald's own
 * `writeCheckpoints` (services/postgres/checkpoint-store.ts): per group commit one transaction
 * with a FOR SHARE lease read, one multi-row UPDATE fenced by each row's version and its
 * partition's epoch, and one multi-row INSERT of the log rows. Nothing else touches the schema.
 */
import type { Knex } from 'knex';
import type { Cursor, ExecutionContext } from '../../../core/trigger/model';
import { writeCheckpoints, type CheckpointWrite } from '../../../services/postgres/checkpoint-store';
import { connectPostgres } from '../../../services/postgres/connect';
import { createTestEnv } from '../../support/test-env';
import { LatencyRecorder, type LatencySummary } from '../histogram';
import { perSecond } from '../report';

export interface PostgresCeilingOptions {
  rows: number;
  batch: number;
  writers: number;
  durationMs: number;
  partitions: number;
}

export interface PostgresCeiling {
  batch: number;
  writers: number;
  rowsPerSecond: number;
  logRowsPerSecond: number;
  transactionsPerSecond: number;
  transactionLatency: LatencySummary;
  fencedRows: number;
  /** Same shape with batch = 1: what one checkpoint per transaction would allow. */
  singleRowPerSecond: number;
  cursorBytes: number;
  contextBytes: number;
  settings: Record<string, string>;
}

interface Row { id: string; partition: number; version: number }

const WORKFLOW_ID = '00000000-0000-4000-8000-000000000001';

/** A cursor of the 3-step workflow half-way through: the size the checkpoints really write. */
function cursorOf(): Cursor {
  const t = new Date().toISOString();
  return {
    steps: {
      'welcome-email': { status: 'done', attempts: 1, startedAt: t, finishedAt: t },
      'reminder-sms': { status: 'running', attempts: 1, startedAt: t },
      'followup-email': { status: 'pending', attempts: 0 },
    },
    edges: { 'welcome-email->reminder-sms': 'taken', 'reminder-sms->followup-email': 'taken' },
  };
}

function stepsOf(id: string): ExecutionContext['steps'] {
  return {
    'welcome-email': { provider: 'capture', providerMessageId: `<${id}.welcome-email.1@herald.local>`, accepted: ['user@example.com'] },
    'reminder-sms': { provider: 'capture', providerMessageId: `SM${id.replace(/-/g, '')}`, segments: 1 },
  };
}

function writeOf(row: Row, cursor: Cursor): CheckpointWrite {
  const context: ExecutionContext = {
    payload: {},
    recipient: { id: 'user' },
    trigger: { id: row.id, idempotency_key: 'k', created_at: '' },
    workflow: { id: WORKFLOW_ID, version: 1 },
    steps: stepsOf(row.id),
  };
  return {
    triggerId: row.id,
    workflowId: WORKFLOW_ID,
    partition: row.partition,
    epoch: 1,
    expectedVersion: row.version,
    state: { status: 'processing', cursor, context, run: 1, wakeAt: null },
    logs: [{ event: 'STEP_SUCCEEDED', level: 'info', message: 'step reminder-sms succeeded', nodeId: 'reminder-sms', attempt: 1, data: { output: { provider: 'capture', providerMessageId: `SM${row.id}` } } }],
  };
}

async function seed(knex: Knex, options: PostgresCeilingOptions): Promise<Row[]> {
  await knex.raw(
    'INSERT INTO partition_leases (partition, epoch, owner) SELECT p, 1, ? FROM generate_series(0, ? - 1) p',
    ['bench', options.partitions],
  );
  await knex.raw(
    `INSERT INTO trigger_instances (id, workflow_id, workflow_version, idempotency_key, partition, source, status,
       recipient, payload, cursor, context)
     SELECT gen_random_uuid(), ?, 1, 'k-' || i, i % ?, 'api', 'processing',
       jsonb_build_object('id', 'user-' || i, 'email', 'user' || i || '@example.com', 'phone', '+15550000000'),
       jsonb_build_object('name', 'User ' || i, 'plan', 'pro', 'order', jsonb_build_object('id', i, 'items', 3, 'note', repeat('x', 160))),
       '{"steps":{},"edges":{}}'::jsonb, '{}'::jsonb
     FROM generate_series(1, ?) i`,
    [WORKFLOW_ID, options.partitions, options.rows],
  );
  const result = await knex.raw('SELECT id, partition, version FROM trigger_instances');
  return result.rows as Row[];
}

/** One group commit through Herald's own checkpoint store. Returns rows written. */
async function checkpointBatch(knex: Knex, batch: Row[], cursor: Cursor): Promise<number> {
  const outcomes = await writeCheckpoints(knex, batch.map((row) => writeOf(row, cursor)));
  let written = 0;
  outcomes.forEach((outcome, i) => {
    if (outcome.kind === 'written') {
      written += 1;
      batch[i].version = outcome.version;
    }
  });
  return written;
}

async function runWriters(knex: Knex, rows: Row[], batchSize: number, writers: number, durationMs: number) {
  const latency = new LatencyRecorder();
  let updated = 0;
  let attempted = 0;
  let transactions = 0;
  const cursor = cursorOf();
  const deadline = Date.now() + durationMs;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: writers }, async (_, w) => {
      const mine = rows.filter((_, i) => i % writers === w);
      const size = Math.min(batchSize, mine.length);
      let next = 0;
      while (Date.now() < deadline) {
        const batch: Row[] = [];
        for (let i = 0; i < size; i++) batch.push(mine[(next + i) % mine.length]);
        next = (next + size) % mine.length;
        const t0 = performance.now();
        const n = await checkpointBatch(knex, batch, cursor);
        latency.recordMs(performance.now() - t0);
        updated += n;
        attempted += batch.length;
        transactions += 1;
      }
    }),
  );
  const elapsed = performance.now() - started;
  return { updated, attempted, transactions, elapsed, latency: latency.summary() };
}

export async function measurePostgresCeiling(options: PostgresCeilingOptions): Promise<PostgresCeiling> {
  const env = await createTestEnv('bench_pg_ceiling', { HERALD_PG_POOL_MAX: String(options.writers) });
  const knex = connectPostgres({ ...env.config.postgres, poolMax: options.writers + 1 });
  try {
    const rows = await seed(knex, options);
    await knex.raw('ANALYZE trigger_instances');
    // Warm-up so the first timed batches do not pay for connection setup and cold pages.
    await runWriters(knex, rows, options.batch, options.writers, Math.min(500, options.durationMs / 4));
    const batched = await runWriters(knex, rows, options.batch, options.writers, options.durationMs);
    const single = await runWriters(knex, rows, 1, options.writers, Math.max(300, options.durationMs / 2));
    const settings: Record<string, string> = {};
    for (const name of ['synchronous_commit', 'fsync', 'shared_buffers', 'wal_level', 'commit_delay']) {
      settings[name] = (await knex.raw(`SHOW ${name}`)).rows[0][name];
    }
    return {
      batch: options.batch,
      writers: options.writers,
      rowsPerSecond: perSecond(batched.updated, batched.elapsed),
      logRowsPerSecond: perSecond(batched.attempted, batched.elapsed),
      transactionsPerSecond: perSecond(batched.transactions, batched.elapsed),
      transactionLatency: batched.latency,
      fencedRows: batched.attempted - batched.updated,
      singleRowPerSecond: perSecond(single.updated, single.elapsed),
      cursorBytes: Buffer.byteLength(JSON.stringify(cursorOf())),
      contextBytes: Buffer.byteLength(JSON.stringify(stepsOf(rows[0].id))),
      settings,
    };
  } finally {
    await knex.destroy();
    await env.cleanup();
  }
}
