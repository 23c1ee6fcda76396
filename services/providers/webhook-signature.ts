import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Herald's webhook signature, `Herald-Signature: t=<unix seconds>,v1=<hex>`, where `v1` is
 * HMAC-SHA256(secret, `${t}.${rawBody}`). The timestamp is signed too, so a receiver that checks
 * it against a tolerance rejects replays of an old request.
 */
export const SIGNATURE_HEADER = 'Herald-Signature';

function hmacHex(secret: string, timestamp: number, rawBody: string): string {
  return createHmac('sha256', secret).update(`${timestamp}.${rawBody}`).digest('hex');
}

/** The header value for `rawBody` signed at `nowMs`. */
export function signWebhookBody(secret: string, rawBody: string, nowMs = Date.now()): string {
  const timestamp = Math.floor(nowMs / 1000);
  return `t=${timestamp},v1=${hmacHex(secret, timestamp, rawBody)}`;
}

/**
 * For receivers: true when `header` carries a valid signature of `rawBody` (the exact bytes
 * received, as UTF-8 text) made within `toleranceSec` of `now`. Several `v1` entries are
 * accepted, so a sender can sign with an old and a new secret while rotating.
 */
export function verifyWebhookSignature(
  secret: string,
  header: string | null | undefined,
  rawBody: string,
  toleranceSec = 300,
  now: number | Date = Date.now(),
): boolean {
  if (!header || !secret) return false;
  let timestamp: number | undefined;
  const candidates: string[] = [];
  for (const part of header.split(',')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    const key = part.slice(0, eq).trim();
    const value = part.slice(eq + 1).trim();
    if (key === 't' && /^\d+$/.test(value)) timestamp = Number(value);
    else if (key === 'v1' && /^[0-9a-f]{64}$/i.test(value)) candidates.push(value.toLowerCase());
  }
  if (timestamp === undefined || candidates.length === 0) return false;
  const nowSec = Math.floor((typeof now === 'number' ? now : now.getTime()) / 1000);
  if (Math.abs(nowSec - timestamp) > toleranceSec) return false;
  const expected = Buffer.from(hmacHex(secret, timestamp, rawBody), 'hex');
  return candidates.some((candidate) => timingSafeEqual(expected, Buffer.from(candidate, 'hex')));
}
