import type { DeliveryContext, DeliveryResult, SmsProvider } from '../../core/ports/providers';
import type { RenderedSms } from '../../core/trigger/planner-types';
import type { WebhookSettings } from '../config/provider-config';
import { parseJsonObject, postHttp, type HttpLimits } from './http-call';
import { classifyHttpStatus } from './provider-errors';
import { SIGNATURE_HEADER, signWebhookBody } from './webhook-signature';

/** The JSON body the webhook receives. Field names are the public contract. */
export interface WebhookSmsBody {
  to: string;
  body: string;
  trigger_id: string;
  workflow_id: string;
  node_id: string;
  attempt: number;
  run: number;
  idempotency_key: string;
}

/**
 * SMS handed to an operator's own endpoint: JSON POST with an `Idempotency-Key` header and a
 * timestamped HMAC signature (see webhook-signature.ts) the receiver verifies.
 */
export class WebhookSmsProvider implements SmsProvider {
  readonly name = 'webhook';

  constructor(
    private readonly settings: WebhookSettings,
    private readonly limits: HttpLimits,
    private readonly now: () => number = Date.now,
  ) {}

  async sendSms(message: RenderedSms, context: DeliveryContext, signal?: AbortSignal): Promise<DeliveryResult> {
    const payload: WebhookSmsBody = {
      to: message.to,
      body: message.body,
      trigger_id: context.triggerId,
      workflow_id: context.workflowId,
      node_id: context.nodeId,
      attempt: context.attempt,
      run: context.run,
      idempotency_key: context.idempotencyKey,
    };
    const rawBody = JSON.stringify(payload);
    const secrets = [this.settings.secret];
    const answer = await postHttp({
      provider: this.name,
      url: this.settings.url,
      headers: {
        'content-type': 'application/json',
        accept: 'application/json',
        'idempotency-key': context.idempotencyKey,
        [SIGNATURE_HEADER.toLowerCase()]: signWebhookBody(this.settings.secret, rawBody, this.now()),
      },
      body: rawBody,
      timeoutMs: this.limits.timeoutMs,
      maxResponseBytes: this.limits.maxResponseBytes,
      signal,
      secrets,
    });

    const json = parseJsonObject(answer.body);
    if (answer.status < 200 || answer.status >= 300) {
      const code = json?.code ?? json?.error;
      throw classifyHttpStatus({
        provider: this.name,
        status: answer.status,
        retryAfter: answer.headers.get('retry-after'),
        providerCode: typeof code === 'string' || typeof code === 'number' ? String(code) : undefined,
        providerMessage: typeof json?.message === 'string' ? json.message : answer.body,
        secrets,
      });
    }
    // The receiver may name its own id for the message; otherwise the idempotency key is the id.
    const id = json?.id ?? json?.message_id;
    return {
      provider: this.name,
      providerMessageId: typeof id === 'string' || typeof id === 'number' ? String(id) : context.idempotencyKey,
      detail: { http_status: answer.status },
    };
  }
}
