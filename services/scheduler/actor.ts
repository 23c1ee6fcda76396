import type { Logger } from 'pino';
import type { DeliveryContext, DeliveryResult, EmailProvider, SmsProvider } from '../../core/ports/providers';
import { classifyError } from '../../core/retry/retry-policy';
import { decide, type DecideDeps } from '../../core/trigger/decide';
import type { LogEntryDraft } from '../../core/trigger/log';
import type { TriggerInstance, TriggerState } from '../../core/trigger/model';
import type { Effect, TriggerEvent } from '../../core/trigger/planner-types';
import { isTerminalStatus } from '../../core/trigger/state-machine';
import type { WorkflowVersion } from '../../core/workflow/model';
import type { CheckpointOutcome, CheckpointWrite } from '../postgres/checkpoint-store';
import type { LoadedTrigger } from '../postgres/scheduler-trigger-store';
import { TriggerSpans, type InFlightStep } from '../telemetry/scheduler-spans';

/** What an actor needs from the partition incarnation that runs it. */
export interface ActorHost {
  readonly partition: number;
  readonly epoch: number;
  readonly logger: Logger;
  readonly providers: { email: EmailProvider; sms: SmsProvider };
  readonly decideDeps: DecideDeps;
  readonly providerTimeoutMs: number;
  /** False once the partition is stopping or lost: no new decision on a fresh event, no provider call. */
  canStartWork(): boolean;
  /** `urgent`: a due timer's pass, read and written ahead of fresh work. */
  load(triggerId: string, urgent?: boolean): Promise<LoadedTrigger | null>;
  workflowVersion(workflowId: string, version: number): Promise<WorkflowVersion>;
  /** Group-committed, fenced. A fenced outcome has already stopped the partition when this resolves. */
  checkpoint(write: CheckpointWrite, urgent?: boolean): Promise<CheckpointOutcome>;
  /** Parks the trigger until `wakeAt` (Redis timer wheel, or in memory when due soon). */
  armTimer(triggerId: string, wakeAt: Date): Promise<void>;
}

type SendEffect = Extract<Effect, { type: 'SendEmail' | 'SendSms' }>;

/**
 * One trigger, driven by core's `decide`. An actor is a single async loop, so two steps of one
 * trigger never run at once in this process; the registry keeps at most one actor per trigger,
 * and the fenced checkpoints keep it so across processes. It lives while the trigger has work
 * in hand and leaves memory when the trigger parks or finishes.
 */
export class TriggerActor {
  /** Set when someone woke the trigger while this actor was busy: run another pass after this one. */
  rewake = false;
  private stopped = false;
  private readonly abort = new AbortController();
  /** Made on the first pass; it parses the trigger's stored traceparent at most once. */
  private spans: TriggerSpans | undefined;

  constructor(
    readonly triggerId: string,
    readonly host: ActorHost,
    /** Woken by a due timer: its reads and writes go ahead of freshly ingested triggers. */
    readonly urgent = false,
  ) {}

  /** No new work; an in-flight provider call may finish and its result is still checkpointed (fenced). */
  stop(): void {
    this.stopped = true;
  }

  /** Cancels an in-flight provider call (shutdown deadline); its outcome is then not recorded. */
  abortInFlight(): void {
    this.stopped = true;
    this.abort.abort();
  }

  async run(): Promise<void> {
    do {
      this.rewake = false;
      await this.pass();
    } while (this.rewake && !this.stopped && this.host.canStartWork());
  }

  private canContinue(): boolean {
    return !this.stopped && this.host.canStartWork();
  }

  /** Loads the row and drives it until it parks, finishes, or ownership ends. */
  private async pass(): Promise<void> {
    const loaded = await this.host.load(this.triggerId, this.urgent);
    if (!loaded) {
      this.host.logger.warn({ triggerId: this.triggerId }, 'woken trigger does not exist');
      return;
    }
    const { instance } = loaded;
    if (instance.partition !== this.host.partition || isTerminalStatus(instance.status)) return;
    const version = await this.host.workflowVersion(instance.workflowId, instance.workflowVersion);
    let state = loaded.state;
    let rowVersion = instance.version;
    let event = firstEvent(state, new Date());
    if (!event) {
      await this.host.armTimer(this.triggerId, new Date(state.wakeAt as string));
      return;
    }
    if (!this.canContinue()) return;
    const spans = (this.spans ??= new TriggerSpans(instance));
    // The provider call whose outcome the next checkpoint records; its span ends with that outcome.
    let inFlight: InFlightStep | undefined;

    try {
      for (;;) {
        const decision = decide(version, state, event, new Date(), this.host.decideDeps);
        const logs = decision.effects.flatMap((e) => (e.type === 'AppendLog' ? [e.entry] : []));
        if (decision.state === state && logs.length === 0) {
          // Nothing changed (an early timer, a duplicate result): at most re-arm the timer.
          const timer = decision.effects.find((e) => e.type === 'StartTimer');
          if (timer) await this.host.armTimer(this.triggerId, new Date(timer.wakeAt));
          return;
        }
        const write = this.writeFor(instance, rowVersion, decision.state, decision.effects, logs);
        const outcome = await this.host.checkpoint(write, this.urgent);
        if (outcome.kind === 'fenced') return;
        if (outcome.kind === 'conflict') {
          // The row moved under us (e.g. an operator cancelled it): re-read and decide again.
          this.rewake = true;
          return;
        }
        spans.recordWritten(logs, decision.state, version.definition, inFlight);
        inFlight = undefined;
        rowVersion = outcome.version;
        state = decision.state;
        if (state.wakeAt && !isTerminalStatus(state.status)) await this.host.armTimer(this.triggerId, new Date(state.wakeAt));
        const send = decision.effects.find((e): e is SendEffect => e.type === 'SendEmail' || e.type === 'SendSms');
        // Without a send the trigger is parked or finished. With one, "started" is checkpointed;
        // if we may not call the provider any more, the next owner re-sends the same attempt.
        if (!send || !this.canContinue()) return;
        inFlight = spans.startSend(send.type === 'SendEmail' ? 'EMAIL' : 'SMS', send.nodeId, send.attempt, state.run);
        event = await this.deliver(send, instance, state, spans, inFlight);
        if (this.abort.signal.aborted) return;
      }
    } finally {
      // Ownership lost, a conflict or shutdown: this actor will never record that call's outcome.
      if (inFlight) spans.abandon(inFlight);
    }
  }

  private writeFor(
    instance: TriggerInstance,
    expectedVersion: number,
    state: TriggerState,
    effects: Effect[],
    logs: LogEntryDraft[],
  ): CheckpointWrite {
    const fail = effects.find((e) => e.type === 'Fail');
    return {
      triggerId: instance.id,
      workflowId: instance.workflowId,
      partition: this.host.partition,
      epoch: this.host.epoch,
      expectedVersion,
      state,
      lastError: fail ? { reason: fail.reason, message: fail.message, retryable: false } : undefined,
      logs,
    };
  }

  private async deliver(
    send: SendEffect,
    instance: TriggerInstance,
    state: TriggerState,
    spans: TriggerSpans,
    step: InFlightStep,
  ): Promise<TriggerEvent> {
    const context: DeliveryContext = {
      triggerId: instance.id,
      workflowId: instance.workflowId,
      nodeId: send.nodeId,
      attempt: send.attempt,
      run: state.run,
      idempotencyKey: send.idempotencyKey,
    };
    // A provider that ignores its own timeout must still not pin this actor forever. One
    // controller whose timer is cleared on return: AbortSignal.timeout + AbortSignal.any left a
    // live timer and a dependent signal behind for every step until the timeout passed.
    const call = new AbortController();
    const onActorAbort = () => call.abort(this.abort.signal.reason);
    const deadline = setTimeout(
      () => call.abort(new DOMException('provider call timed out', 'TimeoutError')),
      this.host.providerTimeoutMs,
    );
    this.abort.signal.addEventListener('abort', onActorAbort, { once: true });
    const signal = call.signal;
    try {
      const result = await spans.within(step, () =>
        send.type === 'SendEmail'
          ? this.host.providers.email.sendEmail(send.message, context, signal)
          : this.host.providers.sms.sendSms(send.message, context, signal),
      );
      return { type: 'StepSucceeded', nodeId: send.nodeId, output: outputOf(result) };
    } catch (error) {
      const classified = classifyError(error);
      this.host.logger.debug({ triggerId: instance.id, nodeId: send.nodeId, reason: classified.reason }, 'provider call failed');
      return { type: 'StepFailed', nodeId: send.nodeId, error: classified };
    } finally {
      clearTimeout(deadline);
      this.abort.signal.removeEventListener('abort', onActorAbort);
    }
  }
}

/** What a loaded trigger needs next; undefined when it is parked and not yet due. */
export function firstEvent(state: TriggerState, now: Date): TriggerEvent | undefined {
  if (state.status === 'enqueued') return { type: 'Started' };
  const running = Object.values(state.cursor.steps).some((step) => step.status === 'running');
  if (running || !state.wakeAt) return { type: 'Started' };
  return Date.parse(state.wakeAt) <= now.getTime() ? { type: 'TimerFired' } : undefined;
}

/** `steps.<node>` for a delivery: small, non-secret, snake_case like the rest of the context. */
function outputOf(result: DeliveryResult): Record<string, unknown> {
  return {
    provider: result.provider,
    ...(result.providerMessageId ? { provider_message_id: result.providerMessageId } : {}),
    ...(result.detail ?? {}),
  };
}
