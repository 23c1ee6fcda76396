/**
 * `npm run bench`: one run measures the machine's ceilings, the BullMQ peer and Herald (accept,
 * end to end, timers, recovery), writes bench-results/<timestamp>.json and .md, and prints the
 * table. Targets are reported against, never asserted; the exit code is non-zero only when a
 * section could not run at all. Parameters: see args.ts and test/bench/README.md.
 */
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import pg from 'pg';
import { Redis } from 'ioredis';
import { loadConfig } from '../../services/config/config';
import { TEST_PG_URL } from '../support/test-env';
import { parseBenchArgs, type BenchArgs } from './args';
import { runCeilings, type Ceilings } from './ceilings/section';
import { runHerald, type HeraldResults } from './herald/section';
import { runPeer, type PeerResults } from './peer/section';
import { ownPeakRssMiB, REPO_ROOT, setLogDir, setProfileDir } from './processes';
import { describeMachine, int, renderMarkdown, writeResults, type BenchResults, type ResultRow } from './report';

async function serviceVersions(redisUrl: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const client = new pg.Client({ connectionString: TEST_PG_URL });
  try {
    await client.connect();
    out.postgres = (await client.query('SHOW server_version')).rows[0].server_version;
  } catch { /* reported by the sections that need it */ } finally {
    await client.end().catch(() => undefined);
  }
  const redis = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await redis.connect();
    out.redis = /redis_version:(\S+)/.exec(await redis.info('server'))?.[1] ?? '?';
  } catch { /* idem */ } finally {
    redis.disconnect();
  }
  const jar = (await readdir(path.join(REPO_ROOT, '.cache/kafka/libs')).catch(() => [] as string[])).find((f) => /^kafka_[\d.]+-[\d.]+\.jar$/.test(f));
  if (jar) out.kafka = jar.replace(/^kafka_[\d.]+-/, '').replace(/\.jar$/, '');
  return out;
}

/** Rows that compare sections: Herald vs BullMQ, Herald vs the Postgres ceiling. */
function comparisonRows(args: BenchArgs, ceilings: Ceilings, peer: PeerResults, herald: HeraldResults): ResultRow[] {
  const rows: ResultRow[] = [];
  const maxSchedulers = Math.max(...args.schedulers);
  for (const run of herald.e2e) {
    const m = run.metrics.stepsPerSecondSustained;
    const peerRun = peer.flows.find((p) => p.workers === run.schedulers && p.latencyMs === run.latencyMs);
    if (peerRun && peerRun.metrics.stepsPerSecondSustained > 0) {
      const ratio = m / peerRun.metrics.stepsPerSecondSustained;
      rows.push({ section: 'ratios', name: `Herald / BullMQ steps/s, ${run.schedulers} proc, provider ${run.latencyMs} ms`, value: ratio.toFixed(2), measured: ratio, target: run.schedulers === maxSchedulers ? { op: '>=', value: 1, label: '>= 1.0' } : undefined });
    }
    if (ceilings.postgres) {
      const fraction = m / ceilings.postgres.rowsPerSecond;
      rows.push({ section: 'ratios', name: `Herald steps/s as a fraction of the Postgres checkpoint ceiling, ${run.schedulers} sched, ${run.latencyMs} ms`, value: `${(fraction * 100).toFixed(1)}%`, note: `${int(m)} / ${int(ceilings.postgres.rowsPerSecond)} rows/s${run.checkpointsPerStep ? `; ${run.checkpointsPerStep.toFixed(2)} checkpoint rows per step measured` : ''}` });
    }
  }
  return rows;
}

async function main(): Promise<number> {
  const args = parseBenchArgs(process.argv.slice(2));
  const config = loadConfig(process.env);
  const startedAt = new Date().toISOString();
  const stamp = startedAt.replace(/[:.]/g, '-');
  setLogDir(path.resolve(REPO_ROOT, args.outDir, 'logs', stamp));
  if (args.profile) setProfileDir(path.resolve(REPO_ROOT, args.outDir, 'profiles', stamp));
  const results: BenchResults = {
    startedAt,
    command: `npm run bench -- ${process.argv.slice(2).join(' ')}`.trim(),
    machine: { ...describeMachine(), ...(await serviceVersions(config.redis.url)) },
    args: { ...args, only: [...args.only] },
    rows: [],
    data: {},
    errors: [],
  };
  const step = (name: string) => console.error(`[bench ${new Date().toISOString().slice(11, 19)}] ${name}`);
  let ceilings: Ceilings = {};
  let peer: PeerResults = { flows: [] };
  let herald: HeraldResults = { e2e: [] };

  if (args.only.has('ceilings')) {
    step('e. ceilings: Postgres, Kafka, Redis');
    ceilings = await runCeilings(args, { redisUrl: config.redis.url, kafkaBrokers: config.kafka.brokers }, results.rows, results.errors);
    results.data.ceilings = ceilings;
  }
  if (args.only.has('peer')) {
    step('f. peer: BullMQ');
    peer = await runPeer(args, config.redis.url, results.rows, results.errors);
    results.data.peer = peer;
  }
  if (['accept', 'e2e', 'timers', 'recovery'].some((s) => args.only.has(s as never))) {
    herald = await runHerald(args, results.rows, results.errors, step);
    results.data.herald = herald;
  }
  results.rows.push(...comparisonRows(args, ceilings, peer, herald));
  results.data.benchProcessPeakRssMiB = ownPeakRssMiB();
  results.finishedAt = new Date().toISOString();
  const files = await writeResults(results, args.outDir);
  console.log(renderMarkdown(results));
  console.log(`results: ${files.json}\n         ${files.markdown}`);
  return results.errors.length > 0 ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
