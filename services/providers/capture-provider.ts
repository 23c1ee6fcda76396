import { RetryableError, TerminalError, type ReasonCode } from '../../core/errors';
import type { DeliveryContext, DeliveryResult, EmailProvider, SmsProvider } from '../../core/ports/providers';
import type { RenderedEmail, RenderedSms } from '../../core/trigger/planner-types';

export type CaptureChannel = 'email' | 'sms';

export interface CapturedDelivery {
  channel: CaptureChannel;
  message: RenderedEmail | RenderedSms;
  context: DeliveryContext;
  providerMessageId: string;
  /** True when this idempotency key had already been delivered (a re-sent step). */
  duplicate: boolean;
  at: number;
}

export interface CapturedAttempt {
  channel: CaptureChannel;
  to: string;
  context: DeliveryContext;
  /** `delivered`, or the reason of the scripted failure thrown. */
  outcome: 'delivered' | ReasonCode;
  at: number;
}

/** Scripted failure: the next `times` matching sends throw, then matching sends succeed again. */
export interface FailureScript {
  channel?: CaptureChannel;
  to?: string;
  nodeId?: string;
  triggerId?: string;
  times: number;
  kind: 'retryable' | 'terminal';
  reason?: ReasonCode;
  retryAfterMs?: number;
  message?: string;
}

export interface CaptureOptions {
  /** Simulated provider latency per send; honours the caller's abort signal. */
  latencyMs?: number;
  now?: () => number;
}

/**
 * In-memory provider for tests and benchmarks. Records every attempt and delivery, can be
 * scripted to fail, and counts duplicates: the same idempotency key delivered twice, and the
 * same step (trigger, node) delivered more than once under any key.
 */
export class CaptureProvider implements EmailProvider, SmsProvider {
  readonly name = 'capture';
  readonly deliveries: CapturedDelivery[] = [];
  readonly attempts: CapturedAttempt[] = [];
  private readonly scripts: Array<FailureScript & { remaining: number }> = [];
  private readonly idsByKey = new Map<string, string>();
  private readonly latencyMs: number;
  private readonly now: () => number;
  private sequence = 0;

  constructor(options: CaptureOptions = {}) {
    this.latencyMs = options.latencyMs ?? 0;
    this.now = options.now ?? Date.now;
  }

  sendEmail(message: RenderedEmail, context: DeliveryContext, signal?: AbortSignal): Promise<DeliveryResult> {
    return this.send('email', message, context, signal);
  }

  sendSms(message: RenderedSms, context: DeliveryContext, signal?: AbortSignal): Promise<DeliveryResult> {
    return this.send('sms', message, context, signal);
  }

  /** Makes the next `script.times` matching sends fail. Scripts are checked in the order added. */
  failNext(script: FailureScript): void {
    this.scripts.push({ ...script, remaining: script.times });
  }

  /** Deliveries whose idempotency key had been delivered before. */
  get duplicateKeyCount(): number {
    return this.deliveries.filter((d) => d.duplicate).length;
  }

  /** Extra deliveries of a step beyond its first, counting different attempts too. */
  get duplicateStepCount(): number {
    const seen = new Set<string>();
    let extra = 0;
    for (const d of this.deliveries) {
      const step = `${d.context.triggerId}:${d.context.nodeId}`;
      if (seen.has(step)) extra++;
      else seen.add(step);
    }
    return extra;
  }

  deliveriesFor(filter: { triggerId?: string; nodeId?: string; to?: string; channel?: CaptureChannel }): CapturedDelivery[] {
    return this.deliveries.filter(
      (d) =>
        (filter.triggerId === undefined || d.context.triggerId === filter.triggerId) &&
        (filter.nodeId === undefined || d.context.nodeId === filter.nodeId) &&
        (filter.to === undefined || d.message.to === filter.to) &&
        (filter.channel === undefined || d.channel === filter.channel),
    );
  }

  reset(): void {
    this.deliveries.length = 0;
    this.attempts.length = 0;
    this.scripts.length = 0;
    this.idsByKey.clear();
  }

  private async send(
    channel: CaptureChannel,
    message: RenderedEmail | RenderedSms,
    context: DeliveryContext,
    signal?: AbortSignal,
  ): Promise<DeliveryResult> {
    if (this.latencyMs > 0) await sleep(this.latencyMs, signal);
    else if (signal?.aborted) throw cancelled();

    const script = this.scripts.find((s) => s.remaining > 0 && matches(s, channel, message.to, context));
    if (script) {
      script.remaining--;
      const reason = script.reason ?? (script.kind === 'retryable' ? 'PROVIDER_UNAVAILABLE' : 'PROVIDER_REJECTED');
      this.attempts.push({ channel, to: message.to, context, outcome: reason, at: this.now() });
      const text = script.message ?? `capture: scripted ${script.kind} failure`;
      const metadata = { provider: this.name };
      throw script.kind === 'retryable'
        ? new RetryableError(reason, text, { metadata, retryAfterMs: script.retryAfterMs })
        : new TerminalError(reason, text, { metadata });
    }

    const earlier = this.idsByKey.get(context.idempotencyKey);
    const providerMessageId = earlier ?? `capture-${++this.sequence}`;
    this.idsByKey.set(context.idempotencyKey, providerMessageId);
    const at = this.now();
    this.attempts.push({ channel, to: message.to, context, outcome: 'delivered', at });
    this.deliveries.push({ channel, message: { ...message }, context: { ...context }, providerMessageId, duplicate: !!earlier, at });
    return { provider: this.name, providerMessageId, detail: { capture_id: providerMessageId } };
  }
}

function matches(script: FailureScript, channel: CaptureChannel, to: string, context: DeliveryContext): boolean {
  return (
    (script.channel === undefined || script.channel === channel) &&
    (script.to === undefined || script.to === to) &&
    (script.nodeId === undefined || script.nodeId === context.nodeId) &&
    (script.triggerId === undefined || script.triggerId === context.triggerId)
  );
}

function cancelled(): RetryableError {
  return new RetryableError('PROVIDER_UNAVAILABLE', 'capture: send cancelled by the caller', { metadata: { provider: 'capture' } });
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(cancelled());
    const onAbort = () => {
      clearTimeout(timer);
      reject(cancelled());
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
