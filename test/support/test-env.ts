import { randomBytes } from 'node:crypto';
import { Kafka, logLevel } from 'kafkajs';
import type { Knex } from 'knex';
import { Redis } from 'ioredis';
import { loadConfig, type HeraldConfig } from '../../services/config/config';
import { connectPostgres } from '../../services/postgres/connect';
import { migrateToLatest } from '../../services/postgres/migrate';

export const TEST_PG_URL = process.env.HERALD_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/herald_test';

export interface TestEnv {
  /** Unique per test file: `t_<name>_<random>`. Used as schema, topic prefix and Redis prefix. */
  id: string;
  config: HeraldConfig;
  /** The env vars that reproduce `config` in a child process. */
  env: Record<string, string>;
  knex: Knex;
  cleanup(): Promise<void>;
}

/**
 * Isolates one test file: its own Postgres schema (migrated), Kafka topic prefix and Redis key
 * prefix, so files run in parallel against the same services.
 */
export async function createTestEnv(name: string, overrides: Record<string, string> = {}): Promise<TestEnv> {
  const id = `t_${name.replace(/[^a-z0-9]/gi, '_').toLowerCase()}_${randomBytes(3).toString('hex')}`;
  const env: Record<string, string> = {
    HERALD_PG_URL: TEST_PG_URL,
    HERALD_DB_SCHEMA: id,
    HERALD_TOPIC_PREFIX: `${id}.`,
    HERALD_REDIS_PREFIX: `${id}:`,
    HERALD_LOG_LEVEL: process.env.HERALD_LOG_LEVEL ?? 'silent',
    ...overrides,
  };
  const config = loadConfig({ ...process.env, ...env });
  const knex = connectPostgres({ ...config.postgres, poolMax: 4 });
  await migrateToLatest(knex, config.postgres.schema);
  return {
    id,
    config,
    env,
    knex,
    async cleanup() {
      await knex.raw('DROP SCHEMA IF EXISTS ?? CASCADE', [id]).catch(() => undefined);
      await knex.destroy();
      await deletePrefixedTopics(config).catch(() => undefined);
      await deletePrefixedRedisKeys(config).catch(() => undefined);
    },
  };
}

/** Polls `check` until it returns a truthy value; never a fixed sleep. Fails after `timeoutMs`. */
export async function pollUntil<T>(
  check: () => Promise<T | undefined | null | false> | T | undefined | null | false,
  { timeoutMs = 30_000, intervalMs = 50, what = 'condition' } = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value) return value as T;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) {
      throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/** Test topics would otherwise pile up on a developer's broker run after run. */
async function deletePrefixedTopics(config: HeraldConfig): Promise<void> {
  if (!config.kafka.topicPrefix.startsWith('t_')) return; // never a shared topic
  const admin = new Kafka({ brokers: config.kafka.brokers, clientId: 'test-cleanup', logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    const topics = (await admin.listTopics()).filter((topic) => topic.startsWith(config.kafka.topicPrefix));
    if (topics.length > 0) await admin.deleteTopics({ topics, timeout: 10_000 });
  } finally {
    await admin.disconnect();
  }
}

async function deletePrefixedRedisKeys(config: HeraldConfig): Promise<void> {
  if (!config.redis.prefix.startsWith('t_')) return; // never shared keys
  const redis = new Redis(config.redis.url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  await redis.connect();
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${config.redis.prefix}*`, 'COUNT', 500);
      if (keys.length > 0) await redis.del(...keys);
      cursor = next;
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}
