/**
 * One isolated Herald deployment for one measurement: its own Postgres schema, topic prefix and
 * Redis prefix (createTestEnv), an api process (`herald serve api`) and N scheduler processes
 * (`herald serve scheduler` through scheduler-host.ts), capture providers with a fixed latency.
 * stop() samples every process's peak RSS, stops them, and removes the topics, keys and schema.
 */
import { Redis } from 'ioredis';
import { Kafka, logLevel } from 'kafkajs';
import { ensureTopics } from '../../../services/kafka/topics';
import { createApiKey } from '../../../services/postgres/api-key-store';
import { createTestEnv, pollUntil, type TestEnv } from '../../support/test-env';
import { forkModule, freePort, startCpuWindow, waitForPort, type BenchProcess, type CpuUsage } from '../processes';
import { HeraldClient } from './client';
import type { HostMessage, SendTuple } from './herald-host';

/** `herald serve <role>` with the provider-timing shim; see herald-host.ts. */
const HERALD_HOST = new URL('./herald-host.ts', import.meta.url).pathname;

export interface StackOptions {
  name: string;
  schedulers: number;
  latencyMs: number;
  partitions: number;
  extraEnv?: Record<string, string>;
}

export interface HeraldStack {
  env: TestEnv;
  client: HeraldClient;
  api: BenchProcess;
  schedulers: BenchProcess[];
  schedulerIds: string[];
  /** Every send recorded so far by the live schedulers. */
  collectSends(): Promise<SendTuple[]>;
  /** Starts a CPU window; the returned function gives CPU seconds per process and the machine's busy share since. */
  cpuWindow(): Promise<() => Promise<CpuUsage>>;
  /** Peak RSS of every process still alive, by name. */
  peakRss(): Promise<Record<string, number | null>>;
  stop(): Promise<Record<string, number | null>>;
}

function askSends(proc: BenchProcess): Promise<HostMessage> {
  return new Promise((resolve, reject) => {
    if (!proc.child.connected) return reject(new Error(`${proc.name} is gone`));
    const timer = setTimeout(() => reject(new Error(`${proc.name} did not answer`)), 30_000);
    proc.child.once('message', (message: HostMessage) => {
      clearTimeout(timer);
      resolve(message);
    });
    proc.child.send({ type: 'sends' });
  });
}

/** Waits until every partition has an owner among `ids` and each id owns at least one. */
export async function waitForOwnership(env: TestEnv, ids: string[], partitions: number, timeoutMs = 90_000): Promise<void> {
  await pollUntil(async () => {
    const rows = (await env.knex('partition_leases').select('partition', 'owner')) as Array<{ owner: string | null }>;
    const owned = rows.filter((r) => r.owner && ids.includes(r.owner));
    return owned.length === partitions && ids.every((id) => owned.some((r) => r.owner === id));
  }, { timeoutMs, intervalMs: 100, what: `${ids.length} schedulers to own all ${partitions} partitions` });
}

export async function startHeraldStack(options: StackOptions): Promise<HeraldStack> {
  const port = await freePort();
  const env = await createTestEnv(options.name, {
    HERALD_GRPC_ADDR: `127.0.0.1:${port}`,
    HERALD_API_URL: `127.0.0.1:${port}`,
    HERALD_PARTITIONS: String(options.partitions),
    HERALD_EMAIL_PROVIDER: 'capture',
    HERALD_SMS_PROVIDER: 'capture',
    HERALD_CAPTURE_LATENCY_MS: String(options.latencyMs),
    HERALD_LOG_LEVEL: process.env.HERALD_LOG_LEVEL ?? 'warn',
    ...options.extraEnv,
  });
  const kafka = new Kafka({ clientId: 'herald-bench', brokers: env.config.kafka.brokers, logLevel: logLevel.NOTHING });
  // Keys straight from the store, so the api and the schedulers can start at the same time.
  const [admin, worker] = await Promise.all([createApiKey(env.knex, 'systemAdmin', 'bench'), createApiKey(env.knex, 'workerService', 'bench scheduler'), ensureTopics(kafka, env.config)]);
  const api = await forkModule(HERALD_HOST, `${env.id}-api`, { ...env.env, BENCH_HERALD_ROLE: 'api' });
  const schedulers: BenchProcess[] = [];
  const schedulerIds: string[] = [];
  let client: HeraldClient | undefined;

  const stop = async () => {
    const rss: Record<string, number | null> = {};
    for (const proc of [api, ...schedulers]) rss[proc.name] = await proc.peakRssMiB();
    client?.close();
    await Promise.all([api, ...schedulers].map((proc) => proc.stop(12_000)));
    const admin = kafka.admin();
    await admin.connect().then(async () => {
      await admin.deleteTopics({ topics: [env.config.kafka.triggersTopic, env.config.kafka.deadLetterTopic] }).catch(() => undefined);
      await admin.deleteGroups([env.config.kafka.schedulerGroup]).catch(() => undefined);
      await admin.disconnect();
    }).catch(() => undefined);
    const redis = new Redis(env.config.redis.url);
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${env.config.redis.prefix}*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length) await redis.del(...keys);
    } while (cursor !== '0');
    redis.disconnect();
    await env.cleanup();
    return rss;
  };

  try {
    for (let i = 0; i < options.schedulers; i++) {
      const id = `${env.id}-s${i + 1}`;
      schedulerIds.push(id);
      schedulers.push(await forkModule(HERALD_HOST, id, { ...env.env, BENCH_HERALD_ROLE: 'scheduler', HERALD_WORKER_KEY: worker.secret, HERALD_SCHEDULER_ID: id }));
    }
    await waitForPort(env.config.api.address, api);
    client = new HeraldClient(env.config.api.address, admin.secret, 4);
    if (options.schedulers > 0) await waitForOwnership(env, schedulerIds, options.partitions);
  } catch (error) {
    await stop().catch(() => undefined);
    throw error;
  }

  return {
    env,
    client,
    api,
    schedulers,
    schedulerIds,
    async collectSends() {
      const live = schedulers.filter((p) => p.child.connected);
      const answers = await Promise.all(live.map((p) => askSends(p)));
      return answers.flatMap((a) => a.sends);
    },
    cpuWindow: () => startCpuWindow([api, ...schedulers]),
    async peakRss() {
      const out: Record<string, number | null> = {};
      for (const proc of [api, ...schedulers]) out[proc.name] = await proc.peakRssMiB();
      return out;
    },
    stop,
  };
}
