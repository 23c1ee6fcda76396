import type { IHeaders } from 'kafkajs';
import { TriggerRequest } from '../grpc/gen/herald/v1/trigger_request';
import { normalizeTraceparent } from '../telemetry/tracing';
import { TRIGGER_REF_CONTENT_TYPE } from './trigger-publisher';

/**
 * Turns a message on `herald.triggers` into what it asks for, without judging it: a reference
 * to a row the api already inserted, a direct trigger request (JSON or protobuf
 * `herald.v1.TriggerRequest`), or bytes nobody can read. Validation happens in ingest, with the
 * same rules as CreateTrigger.
 */

export { TRIGGER_REF_CONTENT_TYPE };

/** The fields of a direct request, untyped: a Kafka producer can write anything. */
export interface DirectTriggerRequest {
  workflowId: unknown;
  idempotencyKey: unknown;
  recipient: unknown;
  payload: unknown;
}

export type DecodedTriggerMessage =
  | { kind: 'ref'; triggerId: string }
  | {
      kind: 'direct';
      format: 'json' | 'protobuf';
      request: DirectTriggerRequest;
      /** The producer's W3C `traceparent` header, when well-formed: the trigger's steps continue that trace. */
      traceparent?: string;
    }
  | { kind: 'undecodable'; message: string };

type Format = 'ref' | 'json' | 'protobuf' | 'sniff';

export function headerText(headers: IHeaders | undefined, name: string): string | undefined {
  if (!headers) return undefined;
  const wanted = name.toLowerCase();
  for (const [key, raw] of Object.entries(headers)) {
    if (key.toLowerCase() !== wanted || raw === undefined) continue;
    const value = Array.isArray(raw) ? raw[0] : raw;
    return value === undefined ? undefined : value.toString();
  }
  return undefined;
}

function formatOf(contentType: string | undefined): Format {
  if (!contentType) return 'sniff';
  const type = contentType.split(';')[0].trim().toLowerCase();
  if (type === TRIGGER_REF_CONTENT_TYPE) return 'ref';
  if (type === 'application/json' || (type.startsWith('application/vnd.herald.') && type.endsWith('+json'))) return 'json';
  if (type === 'application/x-protobuf' || type === 'application/protobuf' || type.endsWith('+protobuf') || type.endsWith('+proto')) {
    return 'protobuf';
  }
  return 'sniff';
}

export function decodeTriggerMessage(value: Buffer | null, headers: IHeaders | undefined): DecodedTriggerMessage {
  if (!value || value.length === 0) return { kind: 'undecodable', message: 'message has no value' };
  const format = formatOf(headerText(headers, 'content-type'));
  if (format === 'ref') return decodeRef(value);
  const decoded = decodeRequest(value, format);
  if (decoded.kind !== 'direct') return decoded;
  // A malformed traceparent is ignored, never a reason to dead-letter a valid trigger.
  const traceparent = normalizeTraceparent(headerText(headers, 'traceparent'));
  return traceparent ? { ...decoded, traceparent } : decoded;
}

function decodeRequest(value: Buffer, format: Exclude<Format, 'ref'>): DecodedTriggerMessage {
  if (format === 'json') return decodeJson(value, false);
  if (format === 'protobuf') return decodeProtobuf(value);
  return looksLikeJson(value) ? decodeJson(value, true) : decodeProtobuf(value);
}

function looksLikeJson(value: Buffer): boolean {
  for (const byte of value) {
    if (byte === 0x20 || byte === 0x09 || byte === 0x0a || byte === 0x0d) continue;
    return byte === 0x7b; // '{'
  }
  return false;
}

function parseObject(value: Buffer): Record<string, unknown> | string {
  let parsed: unknown;
  try {
    parsed = JSON.parse(value.toString('utf8'));
  } catch (error) {
    return `not valid JSON: ${(error as Error).message}`;
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return 'JSON value is not an object';
  return parsed as Record<string, unknown>;
}

function refId(object: Record<string, unknown>): string | undefined {
  const id = object.triggerId ?? object.trigger_id ?? object.id;
  return typeof id === 'string' && id !== '' ? id : undefined;
}

function decodeRef(value: Buffer): DecodedTriggerMessage {
  const object = parseObject(value);
  if (typeof object === 'string') return { kind: 'undecodable', message: `trigger reference is ${object}` };
  const id = refId(object);
  return id ? { kind: 'ref', triggerId: id } : { kind: 'undecodable', message: 'trigger reference has no triggerId' };
}

function decodeJson(value: Buffer, sniffed: boolean): DecodedTriggerMessage {
  const object = parseObject(value);
  if (typeof object === 'string') return { kind: 'undecodable', message: `message is ${object}` };
  const workflowId = object.workflowId ?? object.workflow_id;
  // Without a content type, a bare {"triggerId"} is how an older api (or a replay tool) refers to a row.
  if (sniffed && workflowId === undefined && refId(object)) return { kind: 'ref', triggerId: refId(object) as string };
  return {
    kind: 'direct',
    format: 'json',
    request: {
      workflowId,
      idempotencyKey: object.idempotencyKey ?? object.idempotency_key,
      recipient: object.recipient,
      payload: object.payload ?? {},
    },
  };
}

function decodeProtobuf(value: Buffer): DecodedTriggerMessage {
  let request: TriggerRequest;
  try {
    request = TriggerRequest.decode(new Uint8Array(value.buffer, value.byteOffset, value.length));
  } catch (error) {
    return { kind: 'undecodable', message: `not a herald.v1.TriggerRequest: ${(error as Error).message}` };
  }
  // Random bytes often "decode" to an empty message: nothing we could act on or even report against.
  if (!request.workflowId && !request.idempotencyKey && !request.recipient) {
    return { kind: 'undecodable', message: 'not a herald.v1.TriggerRequest: no known fields' };
  }
  return {
    kind: 'direct',
    format: 'protobuf',
    request: {
      workflowId: request.workflowId,
      idempotencyKey: request.idempotencyKey,
      recipient: request.recipient ? dropBlank(request.recipient as unknown as Record<string, unknown>) : undefined,
      payload: request.payload ?? {},
    },
  };
}

/** proto3 strings default to ""; the domain says "absent". */
function dropBlank(object: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(object).filter(([, v]) => v !== '' && v !== undefined));
}
