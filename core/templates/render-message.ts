import { TerminalError } from '../errors';
import type { ExecutionContext } from '../trigger/model';
import type { RenderedEmail, RenderedSms } from '../trigger/planner-types';
import type { EmailNode, SmsNode } from '../workflow/model';
import { hasLineBreak, isE164, isMailbox } from './address-format';
import { renderTemplate } from './template-engine';

export interface EmailDefaults {
  /** Templates, like the node's own fields; used when the node sets none. */
  from?: string;
  replyTo?: string;
}

export interface RenderMessageOptions {
  /** What `"now" | date` means; the planner passes its now. */
  now?: Date;
}

function renderField(nodeId: string, field: string, source: string, ctx: ExecutionContext, now?: Date, escapeHtml = false): string {
  try {
    return renderTemplate(source, ctx, { escapeHtml, now });
  } catch (error) {
    if (error instanceof TerminalError) {
      throw new TerminalError(error.reason, `${field}: ${error.message}`, {
        metadata: { ...error.metadata, node_id: nodeId, field },
        cause: error,
      });
    }
    throw error;
  }
}

function headerField(nodeId: string, field: string, value: string): string {
  if (hasLineBreak(value)) {
    throw new TerminalError('HEADER_INJECTION', `${field} must not contain line breaks after rendering`, {
      metadata: { node_id: nodeId, field },
    });
  }
  return value;
}

function mailboxField(nodeId: string, field: string, value: string): string {
  headerField(nodeId, field, value);
  if (!isMailbox(value)) {
    // The value may be personal data: name the field, not the address.
    throw new TerminalError('INVALID_EMAIL', `${field} is not a valid email address after rendering`, {
      metadata: { node_id: nodeId, field },
    });
  }
  return value;
}

/**
 * Renders an Email node. `html` is HTML-escaped (payload text cannot inject markup; `| raw` is
 * the author's explicit opt-out). Header fields are trimmed, then rejected if they carry CR/LF.
 */
export function renderEmail(node: EmailNode, ctx: ExecutionContext, defaults: EmailDefaults = {}, options: RenderMessageOptions = {}): RenderedEmail {
  const { email } = node;
  const now = options.now;
  const to = mailboxField(node.id, 'to', renderField(node.id, 'to', email.to, ctx, now).trim());
  const subject = headerField(node.id, 'subject', renderField(node.id, 'subject', email.subject, ctx, now).trim());
  const message: RenderedEmail = { to, subject };
  const fromSource = nonEmpty(email.from) ?? nonEmpty(defaults.from);
  if (fromSource !== undefined) {
    message.from = mailboxField(node.id, 'from', renderField(node.id, 'from', fromSource, ctx, now).trim());
  }
  const replyToSource = nonEmpty(email.replyTo) ?? nonEmpty(defaults.replyTo);
  if (replyToSource !== undefined) {
    message.replyTo = mailboxField(node.id, 'reply_to', renderField(node.id, 'reply_to', replyToSource, ctx, now).trim());
  }
  if (nonEmpty(email.text) !== undefined) message.text = renderField(node.id, 'text', email.text as string, ctx, now);
  if (nonEmpty(email.html) !== undefined) message.html = renderField(node.id, 'html', email.html as string, ctx, now, true);
  return message;
}

/** Renders an SMS node; `to` must be E.164 once rendered and trimmed. */
export function renderSms(node: SmsNode, ctx: ExecutionContext, options: RenderMessageOptions = {}): RenderedSms {
  const to = renderField(node.id, 'to', node.sms.to, ctx, options.now).trim();
  if (!isE164(to)) {
    throw new TerminalError('INVALID_PHONE', 'to is not an E.164 phone number after rendering', {
      metadata: { node_id: node.id, field: 'to' },
    });
  }
  const body = renderField(node.id, 'body', node.sms.body, ctx, options.now);
  return { to, body };
}

function nonEmpty(value: string | undefined | null): string | undefined {
  return value === undefined || value === null || value === '' ? undefined : value;
}
