import type { DeliveryContext, DeliveryResult, EmailProvider, SmsProvider } from '../../core/ports/providers';
import type { RenderedEmail, RenderedSms } from '../../core/trigger/planner-types';
import type { Knex } from 'knex';
import { insertOutboxMessage, type OutboxChannel } from '../postgres/outbox-store';
import { messageIdFor } from './message-id';

export interface OutboxOptions {
  defaultFrom?: string;
  messageIdDomain: string;
}

/**
 * The default provider of both channels: keeps the rendered message in `outbox_messages`
 * instead of sending it, so a laptop demo needs no credentials. One row per idempotency key.
 */
export class OutboxProvider implements EmailProvider, SmsProvider {
  readonly name = 'outbox';

  constructor(
    private readonly knex: Knex,
    private readonly options: OutboxOptions,
  ) {}

  async sendEmail(message: RenderedEmail, context: DeliveryContext): Promise<DeliveryResult> {
    // Stored as the SMTP provider would send it (default from applied, the same Message-ID), with
    // snake_case keys: the api returns this object as is (OutboxMessage.message).
    const stored = {
      to: message.to,
      from: message.from ?? this.options.defaultFrom,
      reply_to: message.replyTo,
      subject: message.subject,
      text: message.text,
      html: message.html,
      message_id: messageIdFor(context.idempotencyKey, this.options.messageIdDomain),
    };
    return this.store('email', stored, context);
  }

  async sendSms(message: RenderedSms, context: DeliveryContext): Promise<DeliveryResult> {
    return this.store('sms', { to: message.to, body: message.body }, context);
  }

  private async store(channel: OutboxChannel, message: Record<string, unknown>, context: DeliveryContext): Promise<DeliveryResult> {
    // A re-sent step finds its earlier row and reports the same id, so its output is unchanged.
    const { id } = await insertOutboxMessage(this.knex, {
      idempotencyKey: context.idempotencyKey,
      triggerId: context.triggerId,
      workflowId: context.workflowId,
      nodeId: context.nodeId,
      channel,
      message: dropUndefined(message),
    });
    return { provider: this.name, providerMessageId: id, detail: { outbox_id: id } };
  }
}

function dropUndefined(value: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined));
}
