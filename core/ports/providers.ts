import type { RenderedEmail, RenderedSms } from '../trigger/planner-types';

/** Identifies one delivery attempt; stable across re-sends of the same attempt. */
export interface DeliveryContext {
  triggerId: string;
  workflowId: string;
  nodeId: string;
  attempt: number;
  run: number;
  /** `trigger_id:node_id:attempt-run`; providers pass it on (Idempotency-Key, Message-ID). */
  idempotencyKey: string;
}

export interface DeliveryResult {
  provider: string;
  /** The provider's id for the message (SMTP Message-ID, Twilio SID, ...). */
  providerMessageId?: string;
  /** Small, non-secret facts that become `steps.<node>` output. */
  detail?: Record<string, unknown>;
}

/**
 * Channel ports. Implementations classify their own failures and throw core's
 * TerminalError or RetryableError (with retryAfterMs when the peer said so).
 */
export interface EmailProvider {
  readonly name: string;
  sendEmail(message: RenderedEmail, context: DeliveryContext, signal?: AbortSignal): Promise<DeliveryResult>;
  close?(): Promise<void>;
}

export interface SmsProvider {
  readonly name: string;
  sendSms(message: RenderedSms, context: DeliveryContext, signal?: AbortSignal): Promise<DeliveryResult>;
  close?(): Promise<void>;
}
