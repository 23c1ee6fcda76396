/**
 * Checks that Postgres and Redis answer at the addresses Herald is configured with, and creates
 * the `herald` and `herald_test` databases (the names in HERALD_PG_URL / HERALD_TEST_PG_URL).
 * Run by deploy/local/stack-up.sh; exits non-zero naming every service that does not answer.
 */
import pg from 'pg';
import { Redis } from 'ioredis';

const PG_URL = process.env.HERALD_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/herald';
const TEST_PG_URL = process.env.HERALD_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/herald_test';
const REDIS_URL = process.env.HERALD_REDIS_URL ?? 'redis://127.0.0.1:6379';
const TIMEOUT_MS = 5_000;

// Postgres error codes: the database exists already (also raised by a concurrent CREATE DATABASE).
const DUPLICATE_DATABASE = '42P04';
const UNIQUE_VIOLATION = '23505';

function describe(error: unknown): string {
  if (error instanceof AggregateError && error.errors.length > 0) return describe(error.errors[0]);
  if (error instanceof Error) return (error as NodeJS.ErrnoException).code ?? error.message;
  return String(error);
}

function hostOf(url: string): string {
  const parsed = new URL(url);
  return `${parsed.hostname}:${parsed.port || (parsed.protocol.startsWith('redis') ? '6379' : '5432')}`;
}

/** The same server, but the maintenance database: the target databases may not exist yet. */
function maintenanceUrl(url: string): string {
  const parsed = new URL(url);
  parsed.pathname = '/postgres';
  return parsed.toString();
}

async function ensureDatabases(urls: string[]): Promise<string[]> {
  const byServer = new Map<string, string[]>();
  for (const url of urls) {
    const key = maintenanceUrl(url);
    const name = decodeURIComponent(new URL(url).pathname.replace(/^\//, ''));
    if (!name) throw new Error(`${url} names no database`);
    byServer.set(key, [...(byServer.get(key) ?? []), name]);
  }
  const created: string[] = [];
  for (const [server, names] of byServer) {
    const client = new pg.Client({ connectionString: server, connectionTimeoutMillis: TIMEOUT_MS });
    await client.connect();
    try {
      for (const name of new Set(names)) {
        const found = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
        if (found.rowCount) continue;
        try {
          await client.query(`CREATE DATABASE ${client.escapeIdentifier(name)}`);
          created.push(name);
        } catch (error) {
          const code = (error as { code?: string }).code;
          if (code !== DUPLICATE_DATABASE && code !== UNIQUE_VIOLATION) throw error;
        }
      }
    } finally {
      await client.end();
    }
  }
  return created;
}

async function pingRedis(url: string): Promise<void> {
  const redis = new Redis(url, {
    lazyConnect: true,
    connectTimeout: TIMEOUT_MS,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    enableOfflineQueue: false,
  });
  // ioredis rejects connect() with a bare "Connection is closed"; the 'error' event has the cause.
  let cause: unknown;
  redis.on('error', (error) => {
    cause ??= error;
  });
  try {
    await redis.connect().catch((error) => {
      throw cause ?? error;
    });
    const reply = await redis.ping();
    if (reply !== 'PONG') throw new Error(`PING answered ${reply}`);
  } finally {
    redis.disconnect();
  }
}

async function main(): Promise<void> {
  const problems: string[] = [];
  try {
    const created = await ensureDatabases([PG_URL, TEST_PG_URL]);
    const names = [PG_URL, TEST_PG_URL].map((u) => new URL(u).pathname.slice(1)).join(', ');
    console.log(`postgres ok at ${hostOf(PG_URL)} (databases ${names}${created.length ? `; created ${created.join(', ')}` : ''})`);
  } catch (error) {
    problems.push(`Postgres is not answering at ${hostOf(PG_URL)} (HERALD_PG_URL / HERALD_TEST_PG_URL): ${describe(error)}`);
  }
  try {
    await pingRedis(REDIS_URL);
    console.log(`redis ok at ${hostOf(REDIS_URL)}`);
  } catch (error) {
    problems.push(`Redis is not answering at ${hostOf(REDIS_URL)} (HERALD_REDIS_URL): ${describe(error)}`);
  }
  if (problems.length > 0) {
    for (const problem of problems) console.error(`stack-up: ${problem}`);
    process.exit(1);
  }
}

await main();
