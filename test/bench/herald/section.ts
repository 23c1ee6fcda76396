/** Herald's sections a-d, each on its own isolated stack, turned into table rows. */
import type { BenchArgs } from '../args';
import { formatLatency } from '../histogram';
import { flowRows, timerRows } from '../peer/section';
import { int, type ResultRow } from '../report';
import { runAccept, type AcceptResults } from './accept';
import { runE2e, type E2eResult } from './e2e';
import { runRecovery, type RecoveryResult } from './recovery';
import { runTimers, type TimersResult } from './timers';

export interface HeraldResults {
  accept?: AcceptResults;
  e2e: E2eResult[];
  timers?: TimersResult;
  recovery?: RecoveryResult;
}

type Errors = Array<{ section: string; error: string }>;
const describe = (error: unknown) => String((error as Error).stack ?? error);

export async function runHerald(args: BenchArgs, rows: ResultRow[], errors: Errors, step: (name: string) => void): Promise<HeraldResults> {
  const out: HeraldResults = { e2e: [] };
  const maxSchedulers = Math.max(...args.schedulers);
  if (args.only.has('accept')) {
    step('a. Herald accept');
    try {
      out.accept = await runAccept(args, rows);
    } catch (error) {
      errors.push({ section: 'a. accept', error: describe(error) });
    }
  }
  if (args.only.has('e2e')) {
    for (const latencyMs of args.latenciesMs) {
      for (const schedulers of args.schedulers) {
        step(`b. Herald end to end: ${schedulers} scheduler(s), provider ${latencyMs} ms, N=${args.n}`);
        try {
          const r = await runE2e({ n: args.n, schedulers, latencyMs, partitions: args.partitions, batchSize: args.batchSize, batchConcurrency: args.batchConcurrency, probeRate: args.probeRate, probeMs: args.probeMs });
          out.e2e.push(r);
          const target = schedulers === 2 ? { op: '>=' as const, value: 3000, label: '>= 3,000 (2 schedulers)' } : undefined;
          const label = `${schedulers} scheduler(s), provider ${latencyMs} ms, N=${int(args.n)}`;
          const flow = flowRows('b. end to end (Herald)', label, r, target);
          flow[0].note = [flow[0].note, `${r.checkpointsPerStep.toFixed(2)} checkpoints/step`, r.terminal.failed ? `${r.terminal.failed} failed: ${JSON.stringify(r.failureReasons)}` : ''].filter(Boolean).join('; ');
          rows.push(...flow);
        } catch (error) {
          errors.push({ section: `b. end to end ${schedulers} sched ${latencyMs} ms`, error: describe(error) });
        }
      }
    }
  }
  if (args.only.has('timers')) {
    step(`c. Herald timers: ${args.timers} over ${args.timerSpreadMs} ms`);
    try {
      const acceptRate = out.accept?.batchMax.itemsPerSecond ?? 2_000;
      const t = await runTimers({ count: args.timers, spreadMs: args.timerSpreadMs, schedulers: maxSchedulers, partitions: args.partitions, batchSize: args.batchSize, batchConcurrency: args.batchConcurrency, acceptRate });
      out.timers = t;
      const label = `${int(args.timers)} delays over ${args.timerSpreadMs / 1000} s, ${maxSchedulers} scheduler(s)`;
      rows.push(...timerRows('c. timers (Herald)', label, t, true));
      rows.push({ section: 'c. timers (Herald)', name: `${label}: due -> next SMS sent p50 / p99 / p99.9`, value: formatLatency(t.dueToNextSend) });
      const margin = t.parkedMarginMs === null ? 'none parked' : `${(t.parkedMarginMs / 1000).toFixed(1)} s`;
      rows.push({ section: 'c. timers (Herald)', name: `${label}: last delay parked before the first fell due by`, value: margin, note: `lead ${(t.leadMs / 1000).toFixed(1)} s from the first accept` });
    } catch (error) {
      errors.push({ section: 'c. timers', error: describe(error) });
    }
  }
  if (args.only.has('recovery')) {
    step(`d. Herald recovery: SIGKILL 1 of 2 schedulers under ${args.recoveryRate} triggers/s`);
    try {
      const r = await runRecovery({ rate: args.recoveryRate, killAfterMs: args.recoveryKillAfterMs, partitions: args.partitions, latencyMs: 20 });
      out.recovery = r;
      rows.push(
        { section: 'd. recovery (Herald)', name: `SIGKILL 1 of 2 schedulers at ${args.recoveryRate} triggers/s: every affected trigger advanced`, value: r.recoverySeconds === null ? `not within the timeout (${r.stuckAtTimeout} stuck)` : `${r.recoverySeconds.toFixed(1)} s`, measured: r.recoverySeconds ?? Infinity, target: { op: '<=', value: 15, label: '<= 15 s' }, note: `${r.affected} affected triggers in ${r.victimPartitions.length} partitions` },
        { section: 'd. recovery (Herald)', name: 'survivor owns the victim\'s partitions', value: r.takeoverSeconds === null ? 'not within the timeout' : `${r.takeoverSeconds.toFixed(1)} s` },
      );
    } catch (error) {
      errors.push({ section: 'd. recovery', error: describe(error) });
    }
  }
  return out;
}
