/**
 * Command-line parameters of `npm run bench`. Every size, concurrency and process count is a flag;
 * `--quick` swaps in defaults small enough for the whole run to finish in under a minute (CI keeps
 * the suite working with it and asserts nothing about the numbers).
 */
import { parseArgs } from 'node:util';

export const SECTIONS = ['ceilings', 'peer', 'accept', 'e2e', 'timers', 'recovery'] as const;
export type Section = (typeof SECTIONS)[number];

export interface BenchArgs {
  quick: boolean;
  /** Run every Herald and peer child with `node --cpu-prof` (profiles next to the results). */
  profile: boolean;
  only: Set<Section>;
  outDir: string;
  partitions: number;
  /** e2e and peer: triggers per run, provider latencies (ms), scheduler / worker process counts. */
  n: number;
  latenciesMs: number[];
  schedulers: number[];
  peerConcurrency: number;
  /** After each burst: an open-loop latency probe at this many triggers/s for probeMs (0 = off). */
  probeRate: number;
  probeMs: number;
  /** a. accept */
  acceptConcurrency: number;
  acceptDurationMs: number;
  batchSize: number;
  batchConcurrency: number;
  /** c. timers */
  timers: number;
  timerSpreadMs: number;
  /** d. recovery */
  recoveryRate: number;
  recoveryKillAfterMs: number;
  /** e. ceilings */
  pgRows: number;
  pgBatch: number;
  pgWriters: number;
  ceilingDurationMs: number;
  kafkaMessages: number;
  kafkaMessageBytes: number;
  kafkaBatch: number;
  redisTimers: number;
  redisClaimBatch: number;
  redisConcurrency: number;
}

const FULL = {
  latencies: '0,20', schedulers: '1,2', n: 20_000, probeRate: 300, probeMs: 5_000, acceptDurationMs: 10_000, timers: 100_000, timerSpreadMs: 30_000, recoveryRate: 300,
  recoveryKillAfterMs: 8_000, pgRows: 20_000, ceilingDurationMs: 8_000, kafkaMessages: 200_000, redisTimers: 100_000,
};
// Quick: one point of the matrix (2 processes, 20 ms providers) exercises every code path.
const QUICK: typeof FULL = {
  latencies: '20', schedulers: '2', n: 300, probeRate: 100, probeMs: 1_000, acceptDurationMs: 700, timers: 1_000, timerSpreadMs: 1_000, recoveryRate: 100,
  recoveryKillAfterMs: 1_000, pgRows: 2_000, ceilingDurationMs: 700, kafkaMessages: 10_000, redisTimers: 10_000,
};

const numberList = (text: string) => text.split(',').filter(Boolean).map((v) => {
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0) throw new Error(`not a non-negative number: ${v}`);
  return n;
});

export function parseBenchArgs(argv: string[]): BenchArgs {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      quick: { type: 'boolean', default: false },
      profile: { type: 'boolean', default: false },
      only: { type: 'string', default: SECTIONS.join(',') },
      out: { type: 'string', default: 'bench-results' },
      partitions: { type: 'string', default: '12' },
      n: { type: 'string' },
      latencies: { type: 'string' },
      schedulers: { type: 'string' },
      'peer-concurrency': { type: 'string', default: '1000' },
      'probe-rate': { type: 'string' },
      'probe-ms': { type: 'string' },
      'accept-concurrency': { type: 'string', default: '64' },
      'accept-duration-ms': { type: 'string' },
      'batch-size': { type: 'string', default: '100' },
      'batch-concurrency': { type: 'string', default: '4' },
      timers: { type: 'string' },
      'timer-spread-ms': { type: 'string' },
      'recovery-rate': { type: 'string' },
      'recovery-kill-after-ms': { type: 'string' },
      'pg-rows': { type: 'string' },
      'pg-batch': { type: 'string', default: '100' },
      'pg-writers': { type: 'string', default: '4' },
      'ceiling-duration-ms': { type: 'string' },
      'kafka-messages': { type: 'string' },
      'kafka-message-bytes': { type: 'string', default: '300' },
      'kafka-batch': { type: 'string', default: '500' },
      'redis-timers': { type: 'string' },
      'redis-claim-batch': { type: 'string', default: '100' },
      'redis-concurrency': { type: 'string', default: '16' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    console.log(`usage: node --import tsx test/bench/run.ts [--quick] [--only=${SECTIONS.join(',')}] [--n=N] [--latencies=0,20] [--schedulers=1,2] ...\nsee test/bench/README.md`);
    process.exit(0);
  }
  const base = values.quick ? QUICK : FULL;
  const num = (raw: string | undefined, fallback: number) => {
    if (raw === undefined) return fallback;
    const n = Number(raw);
    if (!Number.isFinite(n) || n < 0) throw new Error(`expected a non-negative number, got ${raw}`);
    return n;
  };
  const only = new Set<Section>();
  for (const name of values.only!.split(',').map((s) => s.trim()).filter(Boolean)) {
    if (!(SECTIONS as readonly string[]).includes(name)) throw new Error(`unknown section ${name}; known: ${SECTIONS.join(', ')}`);
    only.add(name as Section);
  }
  return {
    quick: values.quick!,
    profile: values.profile!,
    only,
    outDir: values.out!,
    partitions: num(values.partitions, 12),
    n: num(values.n, base.n),
    latenciesMs: numberList(values.latencies ?? base.latencies),
    schedulers: numberList(values.schedulers ?? base.schedulers).map((v) => Math.max(1, Math.round(v))),
    peerConcurrency: num(values['peer-concurrency'], 1000),
    probeRate: num(values['probe-rate'], base.probeRate),
    probeMs: num(values['probe-ms'], base.probeMs),
    acceptConcurrency: num(values['accept-concurrency'], 64),
    acceptDurationMs: num(values['accept-duration-ms'], base.acceptDurationMs),
    batchSize: num(values['batch-size'], 100),
    batchConcurrency: num(values['batch-concurrency'], 4),
    timers: num(values.timers, base.timers),
    timerSpreadMs: num(values['timer-spread-ms'], base.timerSpreadMs),
    recoveryRate: num(values['recovery-rate'], base.recoveryRate),
    recoveryKillAfterMs: num(values['recovery-kill-after-ms'], base.recoveryKillAfterMs),
    pgRows: num(values['pg-rows'], base.pgRows),
    pgBatch: num(values['pg-batch'], 100),
    pgWriters: num(values['pg-writers'], 4),
    ceilingDurationMs: num(values['ceiling-duration-ms'], base.ceilingDurationMs),
    kafkaMessages: num(values['kafka-messages'], base.kafkaMessages),
    kafkaMessageBytes: num(values['kafka-message-bytes'], 300),
    kafkaBatch: num(values['kafka-batch'], 500),
    redisTimers: num(values['redis-timers'], base.redisTimers),
    redisClaimBatch: num(values['redis-claim-batch'], 100),
    redisConcurrency: num(values['redis-concurrency'], 16),
  };
}
