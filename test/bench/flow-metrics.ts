/**
 * Metrics of one end-to-end run, computed the same way for Herald and for the BullMQ peer from
 * per-send records (which trigger, which step, when the provider was called and when it answered).
 */
import { summarizeMs, type LatencySummary } from './histogram';

export interface SendRecord {
  trigger: string;
  step: number;
  /** Epoch ms (sub-ms precision) the provider was called / answered. */
  start: number;
  end: number;
}

export interface FlowMetrics {
  triggers: number;
  stepsPerTrigger: number;
  stepsExpected: number;
  stepsRecorded: number;
  /** Sends of a (trigger, step) beyond the first: duplicates. */
  duplicateSends: number;
  /** Triggers that never got their first send. */
  triggersMissing: number;
  /** Steps/s between the 10th and 90th percentile of completions: no ramp-up or tail. */
  stepsPerSecondSustained: number;
  /** All steps over first accept -> last send. */
  stepsPerSecondOverall: number;
  acceptToFirstSend: LatencySummary;
  interStepOverhead: LatencySummary;
  wallMs: number;
}

export function computeFlowMetrics(records: SendRecord[], acceptedAt: Map<string, number>, stepsPerTrigger: number): FlowMetrics {
  const byKey = new Map<string, SendRecord>();
  let duplicateSends = 0;
  for (const r of records) {
    const key = `${r.trigger}#${r.step}`;
    const seen = byKey.get(key);
    if (seen) {
      duplicateSends += 1;
      if (r.start < seen.start) byKey.set(key, r);
    } else byKey.set(key, r);
  }
  const unique = [...byKey.values()];
  const ends = unique.map((r) => r.end).sort((a, b) => a - b);
  const n = ends.length;
  let sustained = 0;
  if (n >= 10) {
    const lo = ends[Math.floor(n * 0.1)];
    const hi = ends[Math.floor(n * 0.9) - 1];
    sustained = hi > lo ? ((Math.floor(n * 0.9) - Math.floor(n * 0.1)) * 1000) / (hi - lo) : 0;
  }
  let firstAccept = Infinity;
  for (const t of acceptedAt.values()) firstAccept = Math.min(firstAccept, t);
  const wallMs = n ? ends[n - 1] - firstAccept : 0;

  const firstSend: number[] = [];
  const overhead: number[] = [];
  let missing = 0;
  for (const [trigger, accepted] of acceptedAt) {
    const first = byKey.get(`${trigger}#0`);
    if (!first) {
      missing += 1;
      continue;
    }
    firstSend.push(first.start - accepted);
    for (let s = 1; s < stepsPerTrigger; s++) {
      const prev = byKey.get(`${trigger}#${s - 1}`);
      const cur = byKey.get(`${trigger}#${s}`);
      if (prev && cur) overhead.push(cur.start - prev.end);
    }
  }
  return {
    triggers: acceptedAt.size,
    stepsPerTrigger,
    stepsExpected: acceptedAt.size * stepsPerTrigger,
    stepsRecorded: n,
    duplicateSends,
    triggersMissing: missing,
    stepsPerSecondSustained: sustained,
    stepsPerSecondOverall: wallMs > 0 ? (n * 1000) / wallMs : 0,
    acceptToFirstSend: summarizeMs(firstSend),
    interStepOverhead: summarizeMs(overhead),
    wallMs,
  };
}

export interface TimerMetrics {
  scheduled: number;
  fired: number;
  /** Fired before their due time: must be 0. */
  early: number;
  /** Fired more than once. */
  duplicates: number;
  /** Over the timers parked before they were due: the timer wheel's own lateness. */
  lateness: LatencySummary;
  /** Over every fired timer, including those parked late. */
  latenessAll: LatencySummary;
  /** Due timers that were parked only after they fell due (the accept phase ran late): excluded. */
  parkedLate: number;
}

/** `fired`: [timer id, due epoch ms, fire epoch ms]. `parkedLate`: ids to leave out of lateness. */
export function computeTimerMetrics(scheduled: number, fired: Array<[string, number, number]>, parkedLate: Set<string> = new Set()): TimerMetrics {
  const seen = new Set<string>();
  let early = 0;
  let duplicates = 0;
  const lateness: number[] = [];
  const latenessAll: number[] = [];
  for (const [id, due, at] of fired) {
    if (seen.has(id)) {
      duplicates += 1;
      continue;
    }
    seen.add(id);
    if (at < due) early += 1;
    if (!parkedLate.has(id)) lateness.push(at - due);
    latenessAll.push(at - due);
  }
  return { scheduled, fired: seen.size, early, duplicates, lateness: summarizeMs(lateness), latenessAll: summarizeMs(latenessAll), parkedLate: parkedLate.size };
}
