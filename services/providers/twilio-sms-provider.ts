import type { DeliveryContext, DeliveryResult, SmsProvider } from '../../core/ports/providers';
import type { RenderedSms } from '../../core/trigger/planner-types';
import type { TwilioSettings } from '../config/provider-config';
import { parseJsonObject, postHttp, type HttpLimits } from './http-call';
import { classifyHttpStatus } from './provider-errors';

/**
 * SMS over Twilio's Messages REST API (or anything speaking its shape):
 * POST {base}/2010-04-01/Accounts/{sid}/Messages.json, form-encoded, basic auth sid:token.
 */
export class TwilioSmsProvider implements SmsProvider {
  readonly name = 'twilio';
  private readonly url: string;
  private readonly authorization: string;
  private readonly secrets: string[];

  constructor(
    private readonly settings: TwilioSettings,
    private readonly limits: HttpLimits,
  ) {
    this.url = `${settings.baseUrl}/2010-04-01/Accounts/${encodeURIComponent(settings.accountSid)}/Messages.json`;
    const basic = Buffer.from(`${settings.accountSid}:${settings.authToken}`).toString('base64');
    this.authorization = `Basic ${basic}`;
    this.secrets = [settings.authToken, basic];
  }

  async sendSms(message: RenderedSms, context: DeliveryContext, signal?: AbortSignal): Promise<DeliveryResult> {
    const form = new URLSearchParams({ To: message.to, Body: message.body });
    if (this.settings.messagingServiceSid) form.set('MessagingServiceSid', this.settings.messagingServiceSid);
    else if (this.settings.from) form.set('From', this.settings.from);

    const answer = await postHttp({
      provider: this.name,
      url: this.url,
      headers: {
        authorization: this.authorization,
        'content-type': 'application/x-www-form-urlencoded',
        accept: 'application/json',
        // Twilio itself ignores it; Twilio-compatible gateways and proxies can dedupe on it.
        'idempotency-key': context.idempotencyKey,
      },
      body: form.toString(),
      timeoutMs: this.limits.timeoutMs,
      maxResponseBytes: this.limits.maxResponseBytes,
      signal,
      secrets: this.secrets,
    });

    const json = parseJsonObject(answer.body);
    if (answer.status < 200 || answer.status >= 300) {
      // Twilio errors look like {"code": 21211, "message": "The 'To' number ... is not a valid phone number.", ...}.
      throw classifyHttpStatus({
        provider: this.name,
        status: answer.status,
        retryAfter: answer.headers.get('retry-after'),
        providerCode: json?.code === undefined ? undefined : String(json.code),
        providerMessage: typeof json?.message === 'string' ? json.message : answer.body,
        secrets: this.secrets,
      });
    }
    // A 2xx means Twilio took the message: never turn it into an error (a retry would send twice),
    // even when the body is not the JSON we expected.
    const sid = typeof json?.sid === 'string' ? json.sid : undefined;
    const status = typeof json?.status === 'string' ? json.status : undefined;
    return {
      provider: this.name,
      providerMessageId: sid,
      detail: { sid: sid ?? null, status: status ?? null },
    };
  }
}
