import type { ExecutionLogEntry, LogEvent, LogLevel } from '../../../core/trigger/log';
import type { Recipient, StepError, StepStatus, TriggerInstance, TriggerStatus } from '../../../core/trigger/model';
import type { OutboxMessage } from '../../api/app/app-types';
import * as pb from '../gen/herald/v1/trigger';
import { optionalString, structToProto, timestampToProto } from './common';

const TRIGGER_STATUS: Record<TriggerStatus, pb.TriggerStatus> = {
  enqueued: pb.TriggerStatus.TRIGGER_STATUS_ENQUEUED,
  processing: pb.TriggerStatus.TRIGGER_STATUS_PROCESSING,
  completed: pb.TriggerStatus.TRIGGER_STATUS_COMPLETED,
  failed: pb.TriggerStatus.TRIGGER_STATUS_FAILED,
  cancelled: pb.TriggerStatus.TRIGGER_STATUS_CANCELLED,
};

const STEP_STATUS: Record<StepStatus, pb.StepStatus> = {
  pending: pb.StepStatus.STEP_STATUS_PENDING,
  ready: pb.StepStatus.STEP_STATUS_READY,
  running: pb.StepStatus.STEP_STATUS_RUNNING,
  waiting: pb.StepStatus.STEP_STATUS_WAITING,
  done: pb.StepStatus.STEP_STATUS_DONE,
  skipped: pb.StepStatus.STEP_STATUS_SKIPPED,
  failed: pb.StepStatus.STEP_STATUS_FAILED,
};

const LOG_LEVEL: Record<LogLevel, pb.LogLevel> = {
  info: pb.LogLevel.LOG_LEVEL_INFO,
  warn: pb.LogLevel.LOG_LEVEL_WARN,
  error: pb.LogLevel.LOG_LEVEL_ERROR,
};

/** The domain status a filter names, or undefined for UNSPECIFIED (any) and unknown values. */
export function triggerStatusFromProto(status: pb.TriggerStatus): TriggerStatus | undefined {
  return (Object.keys(TRIGGER_STATUS) as TriggerStatus[]).find((key) => TRIGGER_STATUS[key] === status);
}

export function recipientFromProto(recipient: pb.Recipient): Recipient {
  return {
    id: recipient.id,
    email: optionalString(recipient.email),
    phone: optionalString(recipient.phone),
    locale: optionalString(recipient.locale),
    timezone: optionalString(recipient.timezone),
  };
}

export function recipientToProto(recipient: Recipient): pb.Recipient {
  return {
    id: recipient.id,
    email: recipient.email ?? '',
    phone: recipient.phone ?? '',
    locale: recipient.locale ?? '',
    timezone: recipient.timezone ?? '',
  };
}

function stepErrorToProto(error: StepError | null | undefined): pb.StepError | undefined {
  return error ? { reason: error.reason, message: error.message, retryable: error.retryable } : undefined;
}

export function triggerToProto(trigger: TriggerInstance): pb.TriggerInstance {
  const cursor = trigger.cursor ?? { steps: {}, edges: {} };
  return {
    id: trigger.id,
    workflowId: trigger.workflowId,
    workflowVersion: trigger.workflowVersion,
    idempotencyKey: trigger.idempotencyKey,
    partition: trigger.partition,
    source: trigger.source === 'kafka' ? pb.TriggerSource.TRIGGER_SOURCE_KAFKA : pb.TriggerSource.TRIGGER_SOURCE_API,
    status: TRIGGER_STATUS[trigger.status] ?? pb.TriggerStatus.TRIGGER_STATUS_UNSPECIFIED,
    recipient: recipientToProto(trigger.recipient),
    payload: structToProto(trigger.payload),
    steps: Object.entries(cursor.steps ?? {}).map(([nodeId, step]) => ({
      nodeId,
      status: STEP_STATUS[step.status] ?? pb.StepStatus.STEP_STATUS_UNSPECIFIED,
      attempts: step.attempts,
      wakeTime: timestampToProto(step.wakeAt),
      startTime: timestampToProto(step.startedAt),
      finishTime: timestampToProto(step.finishedAt),
      lastError: stepErrorToProto(step.lastError),
    })),
    edges: Object.entries(cursor.edges ?? {}).map(([key, resolution]) => {
      const [from, to] = key.split('->');
      const taken = resolution === 'taken';
      return { from, to: to ?? '', resolution: taken ? pb.EdgeResolution.EDGE_RESOLUTION_TAKEN : pb.EdgeResolution.EDGE_RESOLUTION_NOT_TAKEN };
    }),
    stepOutputs: structToProto(trigger.context?.steps ?? {}),
    run: trigger.run,
    wakeTime: timestampToProto(trigger.wakeAt),
    lastError: stepErrorToProto(trigger.lastError),
    createTime: timestampToProto(trigger.createdAt),
    updateTime: timestampToProto(trigger.updatedAt),
    publishTime: timestampToProto(trigger.publishedAt),
  };
}

export function logEntryToProto(entry: ExecutionLogEntry): pb.ExecutionLogEntry {
  const event = pb.LogEvent[`LOG_EVENT_${entry.event}` as `LOG_EVENT_${LogEvent}`];
  return {
    id: entry.id,
    triggerId: entry.triggerId ?? '',
    workflowId: entry.workflowId ?? '',
    event: event ?? pb.LogEvent.LOG_EVENT_UNSPECIFIED,
    level: LOG_LEVEL[entry.level] ?? pb.LogLevel.LOG_LEVEL_UNSPECIFIED,
    message: entry.message,
    nodeId: entry.nodeId ?? '',
    attempt: entry.attempt ?? 0,
    reason: entry.reason ?? '',
    classification:
      entry.classification === 'retryable'
        ? pb.ErrorClassification.ERROR_CLASSIFICATION_RETRYABLE
        : entry.classification === 'terminal'
          ? pb.ErrorClassification.ERROR_CLASSIFICATION_TERMINAL
          : pb.ErrorClassification.ERROR_CLASSIFICATION_UNSPECIFIED,
    wakeTime: timestampToProto(entry.wakeAt),
    data: structToProto(entry.data),
    createTime: timestampToProto(entry.createdAt),
  };
}

export function outboxMessageToProto(message: OutboxMessage): pb.OutboxMessage {
  return {
    id: message.id,
    triggerId: message.triggerId,
    workflowId: message.workflowId,
    nodeId: message.nodeId,
    channel: message.channel === 'email' ? pb.Channel.CHANNEL_EMAIL : pb.Channel.CHANNEL_SMS,
    idempotencyKey: message.idempotencyKey,
    message: structToProto(message.message),
    createTime: timestampToProto(message.createdAt),
  };
}
