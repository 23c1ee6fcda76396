import { createHash } from 'node:crypto';

/**
 * Deterministic RFC 5322 Message-ID for one delivery attempt. The same idempotency key
 * (`trigger_id:node_id:attempt-run`) always yields the same id, so a step re-sent after a crash
 * carries the id of the first send and receivers can drop the duplicate.
 */
export function messageIdFor(idempotencyKey: string, domain: string): string {
  const digest = createHash('sha256').update(idempotencyKey).digest('hex').slice(0, 32);
  return `<${digest}@${domain}>`;
}
