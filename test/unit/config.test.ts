import test from 'ava';
import { ConfigError, ENV_SPEC, loadConfig } from '../../services/config/config';

function problemsOf(env: Record<string, string>): string[] {
  try {
    loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  throw new Error('loadConfig accepted the environment');
}

test('an empty environment yields the local-stack defaults', (t) => {
  const config = loadConfig({});
  t.deepEqual(config.postgres, { url: 'postgres://postgres@127.0.0.1:5432/herald', schema: 'public', poolMax: 10 });
  t.deepEqual(config.redis, { url: 'redis://127.0.0.1:6379', prefix: 'herald:' });
  t.deepEqual(config.kafka, {
    brokers: ['127.0.0.1:9092'],
    topicPrefix: '',
    partitions: 12,
    triggersTopic: 'herald.triggers',
    deadLetterTopic: 'herald.triggers.dlq',
    schedulerGroup: 'herald-scheduler',
    sessionTimeoutMs: 10_000,
  });
  t.is(config.api.address, '127.0.0.1:50051');
  t.is(config.logLevel, 'info');
  t.false(config.otelEnabled);
  t.is(config.providers.email.kind, 'outbox');
  t.is(config.providers.sms.kind, 'outbox');
});

test('values are parsed to their types and the topic prefix is applied to every Kafka name', (t) => {
  const config = loadConfig({
    HERALD_KAFKA_BROKERS: 'kafka-a:9092, kafka-b:9093',
    HERALD_TOPIC_PREFIX: 'ci.',
    HERALD_PARTITIONS: '24',
    HERALD_OTEL_ENABLED: '1',
    HERALD_CHECKPOINT_WINDOW_MS: '0',
  });
  t.deepEqual(config.kafka.brokers, ['kafka-a:9092', 'kafka-b:9093']);
  t.is(config.kafka.partitions, 24);
  t.is(config.kafka.triggersTopic, 'ci.herald.triggers');
  t.is(config.kafka.deadLetterTopic, 'ci.herald.triggers.dlq');
  t.is(config.kafka.schedulerGroup, 'ci.herald-scheduler');
  t.true(config.otelEnabled);
  t.is(config.scheduler.checkpointWindowMs, 0);
});

test('a bad value fails with a ConfigError naming the variable, the value and what was expected', (t) => {
  const error = t.throws(() => loadConfig({ HERALD_KAFKA_BROKERS: 'localhost' }), { instanceOf: ConfigError });
  t.is(error.problems.length, 1);
  t.regex(error.problems[0]!, /^HERALD_KAFKA_BROKERS="localhost": .*expected host:port/);
  t.regex(error.message, /HERALD_KAFKA_BROKERS/);
});

test('a non-numeric or out-of-range number is reported against its variable', (t) => {
  t.regex(problemsOf({ HERALD_PARTITIONS: 'lots' })[0]!, /^HERALD_PARTITIONS="lots": .*number/i);
  t.regex(problemsOf({ HERALD_PARTITIONS: '0' })[0]!, /^HERALD_PARTITIONS="0": .*>=\s*1/);
  t.regex(problemsOf({ HERALD_LOG_LEVEL: 'loud' })[0]!, /^HERALD_LOG_LEVEL="loud": .*"info"/);
  t.regex(problemsOf({ HERALD_KAFKA_SESSION_TIMEOUT_MS: '3000' })[0]!, /^HERALD_KAFKA_SESSION_TIMEOUT_MS="3000": .*>=\s*6000/);
});

test('several bad values are all reported at once, each under its own name', (t) => {
  const problems = problemsOf({
    HERALD_PG_URL: 'not a url',
    HERALD_REDIS_URL: '127.0.0.1:6379',
    HERALD_PARTITIONS: '-3',
    HERALD_EMAIL_PROVIDER: 'pigeon',
  });
  const names = problems.map((p) => p.split('=')[0]);
  t.deepEqual(names.sort(), ['HERALD_EMAIL_PROVIDER', 'HERALD_PARTITIONS', 'HERALD_PG_URL', 'HERALD_REDIS_URL']);
  t.true(problems.find((p) => p.startsWith('HERALD_REDIS_URL'))!.includes('expected redis://host:port'));
});

test('every variable in the spec has a default that loads on its own', (t) => {
  for (const [name, spec] of Object.entries(ENV_SPEC)) {
    t.notThrows(() => loadConfig({ [name]: spec.default }), name);
  }
});
