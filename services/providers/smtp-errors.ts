import { RetryableError, TerminalError, type HeraldError } from '../../core/errors';
import { classifyNetworkError, isRetryableNetworkCode, providerText } from './provider-errors';

/** The fields nodemailer puts on the errors it hands back (see nodemailer's NodemailerError). */
interface SmtpErrorShape {
  code?: string;
  originalCode?: string;
  responseCode?: number;
  response?: string;
  command?: string;
  message?: string;
}

const AUTH_REPLY_CODES = new Set([530, 534, 535, 538]);
const CONFIG_CODES = new Set(['ETLS', 'EREQUIRETLS', 'ECONFIG']);
const MESSAGE_CODES = new Set(['EENVELOPE', 'EMESSAGE', 'EMAXRECIPIENTS', 'EFILEACCESS', 'EURLACCESS', 'ESTREAM']);

/**
 * SMTP reply classes decide: 4yz is transient, 5yz permanent (RFC 5321). 503 "bad sequence"
 * is the exception: it is about the session state, so a new connection can succeed.
 * Without a reply, configuration and message failures are terminal; connection-level failures
 * (ECONNECTION, ESOCKET, EDNS, ETIMEDOUT, ...) retry unless the socket error was a bad certificate.
 */
export function classifySmtpError(error: unknown, timedOut: boolean, secrets: readonly string[]): HeraldError {
  const e = (error ?? {}) as SmtpErrorShape;
  const provider = 'smtp';
  const metadata: Record<string, string> = { provider };
  if (e.code) metadata.provider_code = e.code;
  if (e.command) metadata.smtp_command = providerText(e.command, secrets);
  const text = providerText(e.response ?? e.message ?? String(error), secrets);
  metadata.provider_message = text;

  if (e.code === 'EABORT' || timedOut) {
    if (timedOut) return new RetryableError('PROVIDER_TIMEOUT', 'smtp: no answer within the deadline', { metadata });
    return new RetryableError('PROVIDER_UNAVAILABLE', 'smtp: send cancelled by the caller', { metadata });
  }
  const reply = e.responseCode;
  if (typeof reply === 'number') metadata.smtp_code = String(reply);
  // A relay that cannot do the TLS we asked for is misconfigured, whatever it replied to STARTTLS;
  // a connection dropped mid-handshake is just a network failure.
  if (e.code !== undefined && CONFIG_CODES.has(e.code) && !isRetryableNetworkCode(e.originalCode)) {
    return new TerminalError('PROVIDER_ERROR', `smtp: TLS negotiation failed: ${text}`, { metadata });
  }
  if (typeof reply === 'number' && reply >= 400 && reply < 600) {
    const message = `smtp answered ${reply}: ${text}`;
    if (reply >= 500 && reply !== 503) {
      const auth = e.code === 'EAUTH' || AUTH_REPLY_CODES.has(reply);
      return new TerminalError(auth ? 'PROVIDER_AUTH_FAILED' : 'PROVIDER_REJECTED', message, { metadata });
    }
    return new RetryableError('PROVIDER_UNAVAILABLE', message, { metadata });
  }
  if (e.code === 'EAUTH' || e.code === 'ENOAUTH') {
    return new TerminalError('PROVIDER_AUTH_FAILED', `smtp: authentication failed: ${text}`, { metadata });
  }
  if (e.code !== undefined && MESSAGE_CODES.has(e.code)) {
    return new TerminalError('PROVIDER_REJECTED', `smtp: message refused before sending: ${text}`, { metadata });
  }
  // Socket-level failures: nodemailer keeps the errno (ECONNREFUSED, a cert error, ...) in originalCode.
  const network = classifyNetworkError({
    provider,
    error: e.originalCode ? { code: e.originalCode, message: text } : error,
    timedOut: e.code === 'ETIMEDOUT',
    secrets,
  });
  Object.assign(network.metadata, metadata);
  return network;
}
