import { context, SpanKind, trace, type Context, type Span } from '@opentelemetry/api';
import type { LogEntryDraft } from '../../core/trigger/log';
import type { TriggerInstance, TriggerState } from '../../core/trigger/model';
import type { NodeType, WorkflowDefinition } from '../../core/workflow/model';
import { contextOfTraceparent, markSpanError, schedulerTracer } from './tracing';

/** Span names and attribute values are constants: a step builds no strings when tracing is off. */
const STEP_SPAN: Record<NodeType, string> = { EMAIL: 'herald.step email', SMS: 'herald.step sms', DELAY: 'herald.step delay' };
const NODE_TYPE: Record<NodeType, string> = { EMAIL: 'email', SMS: 'sms', DELAY: 'delay' };
const TRIGGER_SPAN = 'herald.trigger';

export type StepOutcome = 'succeeded' | 'retry_scheduled' | 'failed';

const OUTCOME_OF: Partial<Record<LogEntryDraft['event'], StepOutcome>> = {
  STEP_SUCCEEDED: 'succeeded',
  STEP_RETRY_SCHEDULED: 'retry_scheduled',
  STEP_FAILED: 'failed',
};

/** A provider call in flight: its span waits for the checkpoint that records the call's outcome. */
export interface InFlightStep {
  span: Span;
  nodeId: string;
}

type Trigger = Pick<TriggerInstance, 'id' | 'workflowId' | 'createdAt' | 'traceparent'>;

/**
 * The spans of one trigger's run. Every one is a child of the traceparent stored on the trigger
 * row when it was accepted, so a trigger is ONE trace however long it parks and whichever
 * scheduler runs each step. Spans describe what a written checkpoint recorded, so a decision
 * that lost its write (fenced, conflicting) is never reported as an outcome.
 *
 * With no TracerProvider registered every span is the API's non-recording no-op: attributes are
 * only built, and the stored traceparent only parsed, when a span is actually recording.
 */
export class TriggerSpans {
  private parent: Context | undefined;

  constructor(private readonly trigger: Trigger) {}

  private parentContext(): Context {
    return (this.parent ??= contextOfTraceparent(this.trigger.traceparent));
  }

  /** A CLIENT span around one provider call (kind CLIENT: it leaves the process). */
  startSend(nodeType: 'EMAIL' | 'SMS', nodeId: string, attempt: number, run: number): InFlightStep {
    const span = schedulerTracer.startSpan(STEP_SPAN[nodeType], { kind: SpanKind.CLIENT }, this.parentContext());
    if (span.isRecording()) this.describeStep(span, nodeType, nodeId, attempt, run);
    return { span, nodeId };
  }

  /** Runs the provider call with its span active, so instrumented clients nest under it. */
  within<T>(step: InFlightStep, call: () => Promise<T>): Promise<T> {
    return step.span.isRecording() ? context.with(trace.setSpan(this.parentContext(), step.span), call) : call();
  }

  /**
   * What a written checkpoint recorded: ends `inFlight` with its step's outcome, adds an INTERNAL
   * span for every other step that finished (a delay that fired, a step that failed before any
   * send) and one for the trigger when it completed or failed.
   */
  recordWritten(logs: readonly LogEntryDraft[], state: TriggerState, definition: WorkflowDefinition, inFlight?: InFlightStep): void {
    for (const log of logs) {
      const outcome = OUTCOME_OF[log.event];
      if (outcome && log.nodeId !== undefined) {
        if (inFlight && log.nodeId === inFlight.nodeId) {
          endStep(inFlight.span, outcome, log.reason);
          inFlight = undefined;
        } else {
          this.recordInternalStep(log, log.nodeId, outcome, state, definition);
        }
      } else if (log.event === 'TRIGGER_COMPLETED' || log.event === 'TRIGGER_FAILED') {
        this.recordFinished(log, state.run);
      }
    }
    if (inFlight) this.abandon(inFlight);
  }

  /** A call whose outcome this actor never recorded (ownership lost, a conflict, shutdown). */
  abandon(step: InFlightStep): void {
    if (step.span.isRecording()) step.span.setAttribute('herald.step_outcome', 'interrupted');
    step.span.end();
  }

  private recordInternalStep(
    log: LogEntryDraft,
    nodeId: string,
    outcome: StepOutcome,
    state: TriggerState,
    definition: WorkflowDefinition,
  ): void {
    const nodeType = definition.nodes.find((node) => node.id === nodeId)?.type ?? 'DELAY';
    // A delay's span covers its wait: it started when the step did, in whichever process that was.
    const startedAt = nodeType === 'DELAY' ? state.cursor.steps[nodeId]?.startedAt : undefined;
    const span = schedulerTracer.startSpan(
      STEP_SPAN[nodeType],
      { kind: SpanKind.INTERNAL, startTime: startedAt ? new Date(startedAt) : undefined },
      this.parentContext(),
    );
    if (span.isRecording()) this.describeStep(span, nodeType, nodeId, log.attempt ?? 0, state.run);
    endStep(span, outcome, log.reason);
  }

  private recordFinished(log: LogEntryDraft, run: number): void {
    // Spans the trigger's whole life, from acceptance to its terminal checkpoint.
    const span = schedulerTracer.startSpan(TRIGGER_SPAN, { kind: SpanKind.INTERNAL, startTime: this.trigger.createdAt }, this.parentContext());
    if (span.isRecording()) {
      const failed = log.event === 'TRIGGER_FAILED';
      span.setAttributes({
        'herald.trigger_id': this.trigger.id,
        'herald.workflow_id': this.trigger.workflowId,
        'herald.run': run,
        'herald.trigger_status': failed ? 'failed' : 'completed',
      });
      if (failed) markSpanError(span, log.reason ?? 'UNKNOWN');
    }
    span.end();
  }

  private describeStep(span: Span, nodeType: NodeType, nodeId: string, attempt: number, run: number): void {
    span.setAttributes({
      'herald.trigger_id': this.trigger.id,
      'herald.workflow_id': this.trigger.workflowId,
      'herald.node_id': nodeId,
      'herald.node_type': NODE_TYPE[nodeType],
      'herald.attempt': attempt,
      'herald.run': run,
    });
  }
}

/** A failed attempt (retried or not) is an ERROR span carrying the reason code, never the message. */
function endStep(span: Span, outcome: StepOutcome, reason: string | undefined): void {
  if (span.isRecording()) {
    span.setAttribute('herald.step_outcome', outcome);
    if (outcome !== 'succeeded') markSpanError(span, reason ?? 'UNKNOWN');
  }
  span.end();
}
