/**
 * The peer's capture providers: answer instantly or after a fixed latency, record when each send
 * started and ended, and optionally fail a fraction of calls (to exercise BullMQ's retries).
 * This mirrors Herald's capture providers; it is bench code, not Herald code.
 */
import { preciseNow } from '../processes';
import type { SendRecord } from '../flow-metrics';

export interface CaptureOptions {
  latencyMs: number;
  /** 0..1: the fraction of calls that throw a transient error. */
  failRate: number;
}

export class CaptureProvider {
  readonly records: SendRecord[] = [];
  failures = 0;

  constructor(private readonly options: CaptureOptions) {}

  async send(trigger: string, step: number): Promise<void> {
    const start = preciseNow();
    if (this.options.latencyMs > 0) await new Promise((resolve) => setTimeout(resolve, this.options.latencyMs));
    if (this.options.failRate > 0 && Math.random() < this.options.failRate) {
      this.failures += 1;
      throw new Error('capture: transient failure (injected)');
    }
    this.records.push({ trigger, step, start, end: preciseNow() });
  }
}
