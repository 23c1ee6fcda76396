import os from 'node:os';
import { z } from 'zod';
import { ConfigError } from './config-error';
import { loadProviderConfig, type ProviderConfig } from './provider-config';

export { ConfigError };

const DAY_MS = 24 * 60 * 60 * 1000;

const int = (min: number, max = Number.MAX_SAFE_INTEGER) => z.coerce.number().int().min(min).max(max);
const hostPort = z.string().regex(/^[^\s:]+:\d{1,5}$/, 'expected host:port');
const bool = z.enum(['true', 'false', '1', '0']).transform((v) => v === 'true' || v === '1');

/** Every env var Herald reads, with its default. The README table is generated from the same list. */
export const ENV_SPEC = {
  HERALD_PG_URL: { schema: z.string().url(), default: 'postgres://postgres@127.0.0.1:5432/herald', doc: 'Postgres connection URL' },
  HERALD_DB_SCHEMA: { schema: z.string().regex(/^[a-z_][a-z0-9_]*$/, 'expected a lower-case SQL identifier'), default: 'public', doc: 'Postgres schema holding Herald tables' },
  HERALD_PG_POOL_MAX: { schema: int(1, 500), default: '10', doc: 'Postgres pool size per process' },
  HERALD_REDIS_URL: { schema: z.string().regex(/^rediss?:\/\//, 'expected redis://host:port'), default: 'redis://127.0.0.1:6379', doc: 'Redis URL' },
  HERALD_REDIS_PREFIX: { schema: z.string(), default: 'herald:', doc: 'Prefix of every Redis key' },
  HERALD_KAFKA_BROKERS: { schema: z.string().transform((s) => s.split(',').map((b) => b.trim())).pipe(z.array(hostPort).min(1)), default: '127.0.0.1:9092', doc: 'Comma-separated Kafka bootstrap brokers' },
  HERALD_TOPIC_PREFIX: { schema: z.string().regex(/^[a-zA-Z0-9._-]*$/, 'expected Kafka topic characters'), default: '', doc: 'Prefix of every Kafka topic and consumer group' },
  HERALD_PARTITIONS: { schema: int(1, 1024), default: '12', doc: 'Partitions of herald.triggers when Herald creates it' },
  // The broker refuses sessions outside group.min/max.session.timeout.ms (6 s and 30 min by default).
  HERALD_KAFKA_SESSION_TIMEOUT_MS: { schema: int(6_000, 1_800_000), default: '10000', doc: 'How long a silent scheduler keeps its partitions before they move' },
  HERALD_GRPC_ADDR: { schema: hostPort, default: '127.0.0.1:50051', doc: 'Address the api listens on' },
  HERALD_API_URL: { schema: hostPort, default: '127.0.0.1:50051', doc: 'Address schedulers send heartbeats to' },
  HERALD_WORKER_KEY: { schema: z.string(), default: '', doc: 'workerService API key the scheduler heartbeats with (secret)' },
  HERALD_BOOTSTRAP_ADMIN_KEY: { schema: z.string(), default: '', doc: 'If set, ensures this systemAdmin key exists at start (secret)' },
  HERALD_LOG_LEVEL: { schema: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']), default: 'info', doc: 'pino log level' },
  HERALD_MAX_MESSAGE_BYTES: { schema: int(1024), default: String(4 * 1024 * 1024), doc: 'Largest gRPC message accepted' },
  HERALD_MAX_PAYLOAD_BYTES: { schema: int(1), default: String(256 * 1024), doc: 'Largest trigger payload (JSON bytes)' },
  HERALD_MAX_CONTEXT_BYTES: { schema: int(1), default: String(256 * 1024), doc: 'Largest merged execution context' },
  HERALD_MAX_DELAY_MS: { schema: int(1), default: String(365 * DAY_MS), doc: 'Longest allowed delay' },
  HERALD_DEFAULT_DEADLINE_MS: { schema: int(1), default: '30000', doc: 'Server-side deadline for calls that carry none' },
  HERALD_MAX_CONCURRENT_STREAMS: { schema: int(1), default: '1000', doc: 'HTTP/2 streams per connection' },
  HERALD_MAX_WATCHERS: { schema: int(1), default: '1000', doc: 'Concurrent WatchTrigger streams per api process' },
  HERALD_SCHEDULER_ID: { schema: z.string().min(1), default: `${os.hostname()}-${process.pid}`, doc: 'This scheduler\'s id in the cluster view' },
  HERALD_MAX_ACTORS: { schema: int(1), default: '10000', doc: 'Trigger actors held in memory per scheduler' },
  HERALD_CHECKPOINT_WINDOW_MS: { schema: int(0, 1000), default: '2', doc: 'Group-commit window for checkpoints' },
  HERALD_LEASE_TTL_MS: { schema: int(1000), default: '10000', doc: 'Partition lease TTL (auto-extended)' },
  HERALD_HEARTBEAT_MS: { schema: int(100), default: '3000', doc: 'Scheduler heartbeat period' },
  HERALD_TIMER_LOOKAHEAD_MS: { schema: int(10), default: '1000', doc: 'How far ahead due timers are pulled into memory' },
  HERALD_RELAY_INTERVAL_MS: { schema: int(100), default: '2000', doc: 'How often the relay re-publishes unpublished triggers' },
  HERALD_OTEL_ENABLED: { schema: bool, default: 'false', doc: 'Start the OpenTelemetry SDK (OTEL_* vars configure it)' },
} as const;

type Spec = typeof ENV_SPEC;
type EnvValues = { [K in keyof Spec]: z.output<Spec[K]['schema']> };

export interface HeraldConfig {
  postgres: { url: string; schema: string; poolMax: number };
  redis: { url: string; prefix: string };
  kafka: { brokers: string[]; topicPrefix: string; partitions: number; triggersTopic: string; deadLetterTopic: string; schedulerGroup: string; sessionTimeoutMs: number };
  api: {
    address: string;
    maxMessageBytes: number;
    maxPayloadBytes: number;
    defaultDeadlineMs: number;
    maxConcurrentStreams: number;
    maxWatchers: number;
    bootstrapAdminKey: string;
    relayIntervalMs: number;
  };
  scheduler: {
    id: string;
    apiAddress: string;
    workerKey: string;
    maxActors: number;
    checkpointWindowMs: number;
    leaseTtlMs: number;
    heartbeatMs: number;
    timerLookaheadMs: number;
  };
  limits: { maxDelayMs: number; maxContextBytes: number; maxPayloadBytes: number };
  providers: ProviderConfig;
  logLevel: string;
  otelEnabled: boolean;
}

/** Parses the environment into a typed config, or throws ConfigError listing every bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): HeraldConfig {
  const problems: string[] = [];
  const values = {} as Record<string, unknown>;
  for (const [name, spec] of Object.entries(ENV_SPEC)) {
    const raw = env[name] ?? spec.default;
    const parsed = spec.schema.safeParse(raw);
    if (parsed.success) values[name] = parsed.data;
    else problems.push(`${name}=${JSON.stringify(raw)}: ${parsed.error.issues.map((i) => i.message).join('; ')}`);
  }
  let providers: ProviderConfig | undefined;
  try {
    providers = loadProviderConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) problems.push(...error.problems);
    else throw error;
  }
  if (problems.length > 0 || !providers) throw new ConfigError(problems);
  const v = values as EnvValues;
  const prefix = v.HERALD_TOPIC_PREFIX;
  return {
    postgres: { url: v.HERALD_PG_URL, schema: v.HERALD_DB_SCHEMA, poolMax: v.HERALD_PG_POOL_MAX },
    redis: { url: v.HERALD_REDIS_URL, prefix: v.HERALD_REDIS_PREFIX },
    kafka: {
      brokers: v.HERALD_KAFKA_BROKERS,
      topicPrefix: prefix,
      partitions: v.HERALD_PARTITIONS,
      triggersTopic: `${prefix}herald.triggers`,
      deadLetterTopic: `${prefix}herald.triggers.dlq`,
      schedulerGroup: `${prefix}herald-scheduler`,
      sessionTimeoutMs: v.HERALD_KAFKA_SESSION_TIMEOUT_MS,
    },
    api: {
      address: v.HERALD_GRPC_ADDR,
      maxMessageBytes: v.HERALD_MAX_MESSAGE_BYTES,
      maxPayloadBytes: v.HERALD_MAX_PAYLOAD_BYTES,
      defaultDeadlineMs: v.HERALD_DEFAULT_DEADLINE_MS,
      maxConcurrentStreams: v.HERALD_MAX_CONCURRENT_STREAMS,
      maxWatchers: v.HERALD_MAX_WATCHERS,
      bootstrapAdminKey: v.HERALD_BOOTSTRAP_ADMIN_KEY,
      relayIntervalMs: v.HERALD_RELAY_INTERVAL_MS,
    },
    scheduler: {
      id: v.HERALD_SCHEDULER_ID,
      apiAddress: v.HERALD_API_URL,
      workerKey: v.HERALD_WORKER_KEY,
      maxActors: v.HERALD_MAX_ACTORS,
      checkpointWindowMs: v.HERALD_CHECKPOINT_WINDOW_MS,
      leaseTtlMs: v.HERALD_LEASE_TTL_MS,
      heartbeatMs: v.HERALD_HEARTBEAT_MS,
      timerLookaheadMs: v.HERALD_TIMER_LOOKAHEAD_MS,
    },
    limits: { maxDelayMs: v.HERALD_MAX_DELAY_MS, maxContextBytes: v.HERALD_MAX_CONTEXT_BYTES, maxPayloadBytes: v.HERALD_MAX_PAYLOAD_BYTES },
    providers,
    logLevel: v.HERALD_LOG_LEVEL,
    otelEnabled: v.HERALD_OTEL_ENABLED,
  };
}
