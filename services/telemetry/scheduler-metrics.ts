import { metrics, type Attributes, type ObservableResult } from '@opentelemetry/api';
import type { LogEntryDraft } from '../../core/trigger/log';

/** The scheduler's own counters that metrics are read from; no extra bookkeeping on the hot path. */
export interface SchedulerCounters {
  partitions: number;
  actorsInMemory: number;
  parkedTimers: number;
  consumerLag: number;
  fencedWrites: number;
  checkpoints: { written: number; conflicts: number; transactions: number; errors: number };
  ingest: { refs: number; direct: number; deduplicated: number; deadLettered: number };
}

export interface SchedulerMetrics {
  /** What a written checkpoint recorded: step outcomes, finished triggers, timer lateness. */
  recordWritten(logs: readonly LogEntryDraft[], nowMs: number): void;
}

/**
 * OpenTelemetry instruments of a scheduler. They are no-ops until a MeterProvider is
 * registered (HERALD_OTEL_ENABLED=true starts the SDK, which reads OTEL_METRICS_EXPORTER), so
 * they cost nothing when metrics are off. Create them after the SDK starts: instruments made
 * before a provider is registered stay no-ops.
 */
export function createSchedulerMetrics(read: () => SchedulerCounters): SchedulerMetrics {
  const meter = metrics.getMeter('herald-scheduler');
  const steps = meter.createCounter('herald.steps', { description: 'Provider attempts by outcome (succeeded, retry_scheduled, failed)' });
  const finished = meter.createCounter('herald.triggers.finished', { description: 'Triggers that reached a terminal state, by status' });
  const lateness = meter.createHistogram('herald.timer.lateness', { unit: 'ms', description: 'Delay between a step\'s wake time and its timer firing' });

  const gauges: Array<[string, string, (c: SchedulerCounters) => number]> = [
    ['herald.scheduler.partitions', 'Partitions this scheduler owns', (c) => c.partitions],
    ['herald.scheduler.actors', 'Trigger actors in memory', (c) => c.actorsInMemory],
    ['herald.scheduler.parked_timers', 'Parked timers of owned partitions', (c) => c.parkedTimers],
    ['herald.scheduler.consumer_lag', 'Messages behind on herald.triggers', (c) => c.consumerLag],
  ];
  for (const [name, description, pick] of gauges) {
    meter.createObservableGauge(name, { description }).addCallback((result) => result.observe(pick(read())));
  }
  observeCounts(meter.createObservableCounter('herald.checkpoint.rows', { description: 'Checkpoint rows by outcome' }), read, (c) => [
    [c.checkpoints.written, { outcome: 'written' }],
    [c.checkpoints.conflicts, { outcome: 'conflict' }],
    [c.fencedWrites, { outcome: 'fenced' }],
  ]);
  observeCounts(meter.createObservableCounter('herald.checkpoint.transactions', { description: 'Group-commit transactions' }), read, (c) => [
    [c.checkpoints.transactions, { outcome: 'committed' }],
    [c.checkpoints.errors, { outcome: 'error' }],
  ]);
  observeCounts(meter.createObservableCounter('herald.ingest.messages', { description: 'herald.triggers messages by kind' }), read, (c) => [
    [c.ingest.refs, { kind: 'ref' }],
    [c.ingest.direct, { kind: 'direct' }],
    [c.ingest.deduplicated, { kind: 'deduplicated' }],
    [c.ingest.deadLettered, { kind: 'dead_lettered' }],
  ]);

  return {
    recordWritten(logs, nowMs) {
      // A delay completes in the same decision its timer fires in: that is not a provider step.
      const fired = new Set<string>();
      for (const log of logs) {
        if (log.event === 'TIMER_FIRED' && log.nodeId) fired.add(log.nodeId);
        if (log.event === 'STEP_SUCCEEDED' && !(log.nodeId && fired.has(log.nodeId))) steps.add(1, { outcome: 'succeeded' });
        else if (log.event === 'STEP_RETRY_SCHEDULED') steps.add(1, { outcome: 'retry_scheduled', reason: log.reason ?? 'UNKNOWN' });
        else if (log.event === 'STEP_FAILED') steps.add(1, { outcome: 'failed', reason: log.reason ?? 'UNKNOWN' });
        else if (log.event === 'TRIGGER_COMPLETED') finished.add(1, { status: 'completed' });
        else if (log.event === 'TRIGGER_FAILED') finished.add(1, { status: 'failed' });
        else if (log.event === 'TRIGGER_CANCELLED') finished.add(1, { status: 'cancelled' });
        else if (log.event === 'TIMER_FIRED' && log.wakeAt) lateness.record(nowMs - Date.parse(log.wakeAt));
      }
    },
  };
}

type Observable = { addCallback(callback: (result: ObservableResult) => void): void };

function observeCounts(instrument: Observable, read: () => SchedulerCounters, pick: (c: SchedulerCounters) => Array<[number, Attributes]>): void {
  instrument.addCallback((result) => {
    for (const [value, attributes] of pick(read())) result.observe(value, attributes);
  });
}
