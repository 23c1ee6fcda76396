/** e. Ceilings: what Postgres, Kafka and Redis allow on this machine, independent of Herald. */
import type { BenchArgs } from '../args';
import { formatLatency } from '../histogram';
import { int, type ResultRow } from '../report';
import { measureKafkaCeiling, type KafkaCeiling } from './kafka';
import { measurePostgresCeiling, type PostgresCeiling } from './postgres';
import { measureRedisCeiling, type RedisCeiling } from './redis';

export interface Ceilings {
  postgres?: PostgresCeiling;
  kafka?: KafkaCeiling;
  redis?: RedisCeiling;
}

export interface ServiceEndpoints {
  redisUrl: string;
  kafkaBrokers: string[];
}

const S = 'e. ceilings';

export async function runCeilings(args: BenchArgs, endpoints: ServiceEndpoints, rows: ResultRow[], errors: Array<{ section: string; error: string }>): Promise<Ceilings> {
  const out: Ceilings = {};
  try {
    const pg = await measurePostgresCeiling({ rows: args.pgRows, batch: args.pgBatch, writers: args.pgWriters, durationMs: args.ceilingDurationMs, partitions: args.partitions });
    out.postgres = pg;
    rows.push(
      { section: S, name: `Postgres checkpoint UPDATE, ${pg.batch} rows/txn, ${pg.writers} writers (+1 log row each)`, value: `${int(pg.rowsPerSecond)} rows/s`, note: `txn ${formatLatency(pg.transactionLatency)}` },
      { section: S, name: 'Postgres checkpoint UPDATE, 1 row/txn', value: `${int(pg.singleRowPerSecond)} rows/s`, note: `synchronous_commit=${pg.settings.synchronous_commit}` },
    );
  } catch (error) {
    errors.push({ section: `${S} postgres`, error: String((error as Error).stack ?? error) });
  }
  try {
    const k = await measureKafkaCeiling({ brokers: endpoints.kafkaBrokers, partitions: args.partitions, messages: args.kafkaMessages, messageBytes: args.kafkaMessageBytes, batch: args.kafkaBatch });
    out.kafka = k;
    rows.push(
      { section: S, name: `kafkajs produce, idempotent acks=-1, ${k.batch} msgs/send, ${k.messageBytes} B`, value: `${int(k.producePerSecond)} msgs/s`, note: `send ${formatLatency(k.produceBatchLatency)}` },
      { section: S, name: 'kafkajs produce, 1 msg/send, 64 in flight', value: `${int(k.unbatchedProducePerSecond)} msgs/s` },
      { section: S, name: `kafkajs consume, eachBatch, ${args.partitions} partitions`, value: `${int(k.consumePerSecond)} msgs/s` },
    );
  } catch (error) {
    errors.push({ section: `${S} kafka`, error: String((error as Error).stack ?? error) });
  }
  try {
    const r = await measureRedisCeiling({ url: endpoints.redisUrl, timers: args.redisTimers, claimBatch: args.redisClaimBatch, concurrency: args.redisConcurrency, partitions: args.partitions });
    out.redis = r;
    rows.push(
      { section: S, name: `Redis TimerWheel.add, 1 timer/call, ${r.concurrency} in flight`, value: `${int(r.parkOpsPerSecond)} ops/s` },
      { section: S, name: `Redis TimerWheel.claimDue (Lua), 1 timer/call, ${r.concurrency} in flight`, value: `${int(r.claimOpsPerSecond)} ops/s`, note: `call ${formatLatency(r.claimLatency)}` },
      { section: S, name: `Redis TimerWheel.claimDue (Lua), up to ${r.claimBatch} timers/call`, value: `${int(r.batchedClaimTimersPerSecond)} timers/s` },
    );
  } catch (error) {
    errors.push({ section: `${S} redis`, error: String((error as Error).stack ?? error) });
  }
  return out;
}
