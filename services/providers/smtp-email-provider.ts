import nodemailer from 'nodemailer';
import type { DeliveryContext, DeliveryResult, EmailProvider } from '../../core/ports/providers';
import type { RenderedEmail } from '../../core/trigger/planner-types';
import type { SmtpSettings } from '../config/provider-config';
import { messageIdFor } from './message-id';
import { providerText } from './provider-errors';
import { classifySmtpError } from './smtp-errors';

export const IDEMPOTENCY_HEADER = 'X-Herald-Idempotency-Key';

export interface SmtpEmailOptions {
  smtp: SmtpSettings;
  defaultFrom?: string;
  messageIdDomain: string;
  timeoutMs: number;
  /** Largest single SMTP reply accepted. */
  maxResponseBytes: number;
}

/**
 * Email over a pooled SMTP relay. The Message-ID is derived from the idempotency key, so a step
 * re-sent after a crash carries the id of the first send.
 */
export class SmtpEmailProvider implements EmailProvider {
  readonly name = 'smtp';
  private readonly transport: ReturnType<typeof nodemailer.createTransport>;
  private readonly secrets: string[];

  constructor(private readonly options: SmtpEmailOptions) {
    const { smtp, timeoutMs } = options;
    // The password and the base64 forms AUTH LOGIN / AUTH PLAIN put on the wire.
    this.secrets = smtp.pass
      ? [
          smtp.pass,
          Buffer.from(smtp.pass).toString('base64'),
          Buffer.from(`\0${smtp.user ?? ''}\0${smtp.pass}`).toString('base64'),
        ]
      : [];
    this.transport = nodemailer.createTransport({
      pool: true,
      maxConnections: smtp.poolSize,
      // The scheduler owns retries (with backoff and a log row each); the pool must not resend on its own.
      maxRequeues: 0,
      host: smtp.host,
      port: smtp.port,
      secure: smtp.secure,
      requireTLS: smtp.requireTLS,
      ignoreTLS: smtp.ignoreTLS,
      auth: smtp.user ? { user: smtp.user, pass: smtp.pass ?? '' } : undefined,
      tls: { rejectUnauthorized: smtp.tlsRejectUnauthorized, ca: smtp.tlsCa, minVersion: 'TLSv1.2' },
      connectionTimeout: timeoutMs,
      greetingTimeout: timeoutMs,
      socketTimeout: timeoutMs,
      dnsTimeout: timeoutMs,
      maxResponseSize: options.maxResponseBytes,
      // Templates are untrusted: message content must never make Herald read a file or fetch a URL.
      disableFileAccess: true,
      disableUrlAccess: true,
      logger: false,
    });
  }

  async sendEmail(message: RenderedEmail, context: DeliveryContext, signal?: AbortSignal): Promise<DeliveryResult> {
    const messageId = messageIdFor(context.idempotencyKey, this.options.messageIdDomain);
    const deadline = AbortSignal.timeout(this.options.timeoutMs);
    const combined = signal ? AbortSignal.any([deadline, signal]) : deadline;
    try {
      const info = await this.transport.sendMail({
        from: message.from ?? this.options.defaultFrom,
        to: message.to,
        replyTo: message.replyTo,
        subject: message.subject,
        text: message.text,
        html: message.html,
        messageId,
        headers: { [IDEMPOTENCY_HEADER]: context.idempotencyKey },
        signal: combined,
      });
      return {
        provider: this.name,
        providerMessageId: messageId,
        detail: { message_id: messageId, smtp_response: providerText(String(info.response ?? ''), this.secrets) },
      };
    } catch (error) {
      throw classifySmtpError(error, deadline.aborted, this.secrets);
    }
  }

  async close(): Promise<void> {
    this.transport.close();
  }
}
