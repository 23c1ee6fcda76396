export type LogEvent =
  | 'TRIGGER_ACCEPTED'
  | 'TRIGGER_STARTED'
  | 'STEP_STARTED'
  | 'STEP_SUCCEEDED'
  | 'STEP_FAILED'
  | 'STEP_RETRY_SCHEDULED'
  | 'STEP_SKIPPED'
  | 'DELAY_SCHEDULED'
  | 'TIMER_FIRED'
  | 'TRIGGER_COMPLETED'
  | 'TRIGGER_FAILED'
  | 'TRIGGER_CANCELLED'
  | 'TRIGGER_RETRIED'
  | 'MESSAGE_DEAD_LETTERED';

export type LogLevel = 'info' | 'warn' | 'error';

/** An execution-log row before it is stored; the store adds id, trigger id and time. */
export interface LogEntryDraft {
  event: LogEvent;
  level: LogLevel;
  message: string;
  nodeId?: string;
  attempt?: number;
  reason?: string;
  classification?: 'retryable' | 'terminal';
  /** ISO time of the next wake, for retries and delays. */
  wakeAt?: string;
  /** Non-secret details: provider codes, message ids, skipped-by edges. */
  data?: Record<string, unknown>;
}

export interface ExecutionLogEntry extends LogEntryDraft {
  id: string;
  triggerId: string | null;
  workflowId: string | null;
  createdAt: Date;
}
