/** f. Peer section: BullMQ runs of the 3-step workflow (and its delayed jobs) for the table. */
import type { BenchArgs } from '../args';
import type { TimerMetrics } from '../flow-metrics';
import { formatLatency } from '../histogram';
import { int, type ResultRow } from '../report';
import { runBullmqFlow, runBullmqTimers, type PeerFlowResult } from './bullmq-peer';

export interface PeerResults {
  flows: PeerFlowResult[];
  timers?: TimerMetrics;
}

const S = 'f. peer (BullMQ)';

/** `t_bench_e2e_2s_0ms_ab12cd-s1` -> `s1`, `peer-2w-20ms-bullmq-worker-1` -> `bullmq-worker-1`. */
export const shortName = (name: string) => name.replace(/^t_.*_[0-9a-f]{6}-/, '').replace(/^peer-[^-]+-[^-]+-/, '');

export function flowRows(section: string, label: string, r: Pick<PeerFlowResult, 'metrics' | 'probe' | 'peakRssMiB' | 'cpu'>, target?: ResultRow['target']): ResultRow[] {
  const m = r.metrics;
  const rss = Object.entries(r.peakRssMiB).map(([name, mib]) => `${shortName(name)} ${mib ?? '?'} MiB`).join(', ');
  const problems = [m.triggersMissing ? `${m.triggersMissing} triggers never sent` : '', m.stepsRecorded < m.stepsExpected ? `${m.stepsRecorded}/${m.stepsExpected} steps` : '', m.duplicateSends ? `${m.duplicateSends} duplicate sends` : ''].filter(Boolean).join('; ');
  const rows: ResultRow[] = [
    { section, name: `${label}: steps/s sustained`, value: int(m.stepsPerSecondSustained), measured: m.stepsPerSecondSustained, target, note: [`overall ${int(m.stepsPerSecondOverall)}`, problems].filter(Boolean).join('; ') },
    { section, name: `${label}, burst: accept -> first send p50 / p99 / p99.9`, value: formatLatency(m.acceptToFirstSend), note: 'includes the backlog' },
    { section, name: `${label}, burst: inter-step overhead p50 / p99 / p99.9`, value: formatLatency(m.interStepOverhead), note: 'includes the backlog' },
  ];
  if (r.probe) {
    const p = r.probe;
    const missing = p.triggersMissing || p.stepsRecorded < p.stepsExpected ? `${p.stepsRecorded}/${p.stepsExpected} steps` : undefined;
    rows.push(
      { section, name: `${label}, open loop ${int(p.rate)} triggers/s: accept -> first send p50 / p99 / p99.9`, value: formatLatency(p.acceptToFirstSend), note: missing },
      { section, name: `${label}, open loop ${int(p.rate)} triggers/s: inter-step overhead p50 / p99 / p99.9`, value: formatLatency(p.interStepOverhead) },
    );
  }
  const steps = Math.max(1, m.stepsRecorded);
  const perStep = Object.entries(r.cpu.seconds).map(([name, sec]) => `${shortName(name)} ${sec === null ? '?' : ((sec * 1e6) / steps).toFixed(0)}`).join(', ');
  rows.push(
    { section, name: `${label}: CPU µs per step (burst; services machine-wide)`, value: perStep, note: `machine ${(r.cpu.machineBusy * 100).toFixed(0)}% busy over ${r.cpu.wallSeconds.toFixed(1)} s` },
    { section, name: `${label}: peak RSS`, value: rss },
  );
  return rows;
}

export function timerRows(section: string, label: string, t: TimerMetrics, withTargets: boolean): ResultRow[] {
  return [
    { section, name: `${label}: early fires`, value: `${t.early} of ${int(t.fired)} fired (${int(t.scheduled)} scheduled${t.parkedLate ? `; ${int(t.parkedLate)} accepted or parked only after due: excluded from lateness` : ''})`, measured: t.early, target: withTargets ? { op: '==', value: 0, label: '0' } : undefined },
    { section, name: `${label}: lateness p50 / p99 / p99.9`, value: formatLatency(t.lateness), measured: t.lateness.p99, target: withTargets ? { op: '<=', value: 100, label: 'p99 <= 100 ms' } : undefined, note: t.parkedLate ? `${int(t.lateness.count)} timers parked before due; all ${int(t.latenessAll.count)}: ${formatLatency(t.latenessAll)}` : undefined },
  ];
}

export async function runPeer(args: BenchArgs, redisUrl: string, rows: ResultRow[], errors: Array<{ section: string; error: string }>): Promise<PeerResults> {
  const out: PeerResults = { flows: [] };
  for (const latencyMs of args.latenciesMs) {
    for (const workers of args.schedulers) {
      try {
        const r = await runBullmqFlow({ redisUrl, workers, concurrency: args.peerConcurrency, latencyMs, n: args.n, acceptBatch: args.batchSize, acceptConcurrency: args.batchConcurrency, probeRate: args.probeRate, probeMs: args.probeMs });
        out.flows.push(r);
        rows.push(...flowRows(S, `${workers} worker proc x concurrency ${r.concurrency}, provider ${latencyMs} ms, N=${int(args.n)}`, r));
      } catch (error) {
        errors.push({ section: `${S} ${workers} workers ${latencyMs} ms`, error: String((error as Error).stack ?? error) });
      }
    }
  }
  try {
    const workers = Math.max(...args.schedulers);
    out.timers = await runBullmqTimers({ redisUrl, workers, concurrency: args.peerConcurrency, latencyMs: 0, count: args.timers, spreadMs: args.timerSpreadMs });
    rows.push(...timerRows(S, `${int(args.timers)} delayed jobs over ${args.timerSpreadMs / 1000} s, ${workers} workers`, out.timers, false));
  } catch (error) {
    errors.push({ section: `${S} timers`, error: String((error as Error).stack ?? error) });
  }
  return out;
}
