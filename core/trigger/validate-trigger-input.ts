import type { Violation } from '../errors';
import { isE164, isEmailAddress } from '../templates/address-format';
import { jsonByteLength } from '../util/byte-size';

export interface TriggerInputToValidate {
  workflowId: unknown;
  idempotencyKey: unknown;
  recipient: unknown;
  payload: unknown;
}

export interface TriggerInputLimits {
  /** UTF-8 bytes of the payload's JSON form. */
  maxPayloadBytes: number;
}

export const MAX_IDEMPOTENCY_KEY_LENGTH = 256;
const MAX_ID_LENGTH = 256;
const MAX_SHORT_FIELD = 64;

/**
 * Checks a trigger request, from gRPC or straight off Kafka (both call this, so both accept
 * exactly the same things). Returns every violation; empty = valid. Inputs are `unknown`
 * because a Kafka message is whatever a producer wrote.
 */
export function validateTriggerInput(input: TriggerInputToValidate, limits: TriggerInputLimits): Violation[] {
  const violations: Violation[] = [];
  checkId(violations, 'workflow_id', input.workflowId, MAX_ID_LENGTH);
  checkId(violations, 'idempotency_key', input.idempotencyKey, MAX_IDEMPOTENCY_KEY_LENGTH);

  const recipient = input.recipient;
  if (recipient === undefined || recipient === null) {
    violations.push({ path: 'recipient', reason: 'MISSING_FIELD', message: 'recipient is required' });
  } else if (!isPlainObject(recipient)) {
    violations.push({ path: 'recipient', reason: 'INVALID_VALUE', message: 'recipient must be an object' });
  } else {
    checkId(violations, 'recipient.id', recipient.id, MAX_ID_LENGTH);
    const { email, phone, locale, timezone } = recipient;
    if (!isBlank(email) && (typeof email !== 'string' || !isEmailAddress(email))) {
      violations.push({ path: 'recipient.email', reason: 'INVALID_EMAIL', message: 'recipient.email is not a valid email address' });
    }
    if (!isBlank(phone) && (typeof phone !== 'string' || !isE164(phone))) {
      violations.push({ path: 'recipient.phone', reason: 'INVALID_PHONE', message: 'recipient.phone must be E.164, e.g. +14155550100' });
    }
    for (const [field, value] of [['locale', locale], ['timezone', timezone]] as const) {
      if (!isBlank(value) && (typeof value !== 'string' || value.length > MAX_SHORT_FIELD)) {
        violations.push({ path: `recipient.${field}`, reason: 'INVALID_VALUE', message: `recipient.${field} must be a string of at most ${MAX_SHORT_FIELD} characters` });
      }
    }
  }

  const payload = input.payload;
  if (payload !== undefined && payload !== null) {
    if (!isPlainObject(payload)) {
      violations.push({ path: 'payload', reason: 'INVALID_VALUE', message: 'payload must be a JSON object' });
    } else {
      const bytes = jsonByteLength(payload);
      if (bytes === undefined) {
        violations.push({ path: 'payload', reason: 'INVALID_VALUE', message: 'payload must be JSON-serialisable' });
      } else if (bytes > limits.maxPayloadBytes) {
        violations.push({ path: 'payload', reason: 'PAYLOAD_TOO_LARGE', message: `payload is ${bytes} bytes; the limit is ${limits.maxPayloadBytes}` });
      }
    }
  }
  return violations;
}

function checkId(violations: Violation[], path: string, value: unknown, maxLength: number): void {
  if (isBlank(value)) {
    violations.push({ path, reason: 'MISSING_FIELD', message: `${path} is required` });
  } else if (typeof value !== 'string') {
    violations.push({ path, reason: 'INVALID_VALUE', message: `${path} must be a string` });
  } else if (value.length > maxLength) {
    violations.push({ path, reason: 'INVALID_VALUE', message: `${path} is at most ${maxLength} characters` });
  } else if (/[\u0000-\u001f\u007f]/.test(value)) {
    // Control characters (notably "\n", the separator in the trigger id's name) are never meant.
    violations.push({ path, reason: 'INVALID_VALUE', message: `${path} must not contain control characters` });
  }
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

function isBlank(value: unknown): boolean {
  return value === undefined || value === null || value === '';
}
