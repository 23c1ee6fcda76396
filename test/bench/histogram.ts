/**
 * Latency recording on HdrHistogram. Values are recorded in microseconds (integers, 3 significant
 * digits) and summarised in milliseconds, so sub-millisecond Redis calls and multi-second queueing
 * delays share one histogram without losing resolution.
 */
import * as hdr from 'hdr-histogram-js';

export interface LatencySummary {
  count: number;
  p50: number;
  p99: number;
  p999: number;
  max: number;
  mean: number;
}

const MAX_TRACKABLE_US = 24 * 3600 * 1_000_000;

export class LatencyRecorder {
  private readonly histogram = hdr.build({
    lowestDiscernibleValue: 1,
    highestTrackableValue: MAX_TRACKABLE_US,
    numberOfSignificantValueDigits: 3,
    autoResize: true,
  });

  /** Negative values are clamped to 0: callers that care about "early" count those themselves. */
  recordMs(ms: number): void {
    this.histogram.recordValue(Math.min(MAX_TRACKABLE_US, Math.max(0, Math.round(ms * 1000))));
  }

  get count(): number {
    return this.histogram.totalCount;
  }

  summary(): LatencySummary {
    const h = this.histogram;
    const ms = (us: number) => Math.round(us) / 1000;
    if (h.totalCount === 0) return { count: 0, p50: 0, p99: 0, p999: 0, max: 0, mean: 0 };
    return {
      count: h.totalCount,
      p50: ms(h.getValueAtPercentile(50)),
      p99: ms(h.getValueAtPercentile(99)),
      p999: ms(h.getValueAtPercentile(99.9)),
      max: ms(h.maxValue),
      mean: ms(h.mean),
    };
  }
}

/** Records each value (ms) and returns the summary; for arrays computed after a run. */
export function summarizeMs(values: Iterable<number>): LatencySummary {
  const recorder = new LatencyRecorder();
  for (const value of values) recorder.recordMs(value);
  return recorder.summary();
}

/** `p50 / p99 / p99.9 ms` for tables. */
export function formatLatency(summary: LatencySummary): string {
  if (summary.count === 0) return 'n/a';
  return `${fmt(summary.p50)} / ${fmt(summary.p99)} / ${fmt(summary.p999)} ms`;
}

function fmt(ms: number): string {
  return ms >= 100 ? ms.toFixed(0) : ms >= 10 ? ms.toFixed(1) : ms.toFixed(2);
}
