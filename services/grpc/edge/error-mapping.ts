import * as grpc from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { HeraldError, type ReasonCode } from '../../../core/errors';
import { Any } from '../gen/google/protobuf/any';
import { BadRequest, ErrorInfo } from '../gen/google/rpc/error_details';
import { Status as RpcStatus } from '../gen/google/rpc/status';

/** ErrorInfo.domain of every Herald error. */
export const ERROR_DOMAIN = 'herald.dev';

const STATUS_DETAILS_KEY = 'grpc-status-details-bin';

const CODE_OF_REASON: Partial<Record<ReasonCode, grpc.status>> = {
  NOT_FOUND: grpc.status.NOT_FOUND,
  ALREADY_EXISTS: grpc.status.ALREADY_EXISTS,
  ETAG_MISMATCH: grpc.status.ABORTED,
  OWNERSHIP_LOST: grpc.status.ABORTED,
  WORKFLOW_INACTIVE: grpc.status.FAILED_PRECONDITION,
  WORKFLOW_ACTIVE: grpc.status.FAILED_PRECONDITION,
  WORKFLOW_INVALID: grpc.status.FAILED_PRECONDITION,
  ILLEGAL_TRANSITION: grpc.status.FAILED_PRECONDITION,
  ATTEMPTS_EXHAUSTED: grpc.status.FAILED_PRECONDITION,
  PAYLOAD_TOO_LARGE: grpc.status.RESOURCE_EXHAUSTED,
  CONTEXT_TOO_LARGE: grpc.status.RESOURCE_EXHAUSTED,
  RESOURCE_EXHAUSTED: grpc.status.RESOURCE_EXHAUSTED,
  UNAUTHENTICATED: grpc.status.UNAUTHENTICATED,
  PERMISSION_DENIED: grpc.status.PERMISSION_DENIED,
  DEADLINE_EXCEEDED: grpc.status.DEADLINE_EXCEEDED,
  DATABASE_UNAVAILABLE: grpc.status.UNAVAILABLE,
  BROKER_UNAVAILABLE: grpc.status.UNAVAILABLE,
  CACHE_UNAVAILABLE: grpc.status.UNAVAILABLE,
  SHUTTING_DOWN: grpc.status.UNAVAILABLE,
  INTERNAL: grpc.status.INTERNAL,
};

/** Reasons that describe a bad input; everything else not listed above is a server fault. */
const INVALID_INPUT_REASONS = new Set<ReasonCode>([
  'INVALID_ARGUMENT', 'MISSING_FIELD', 'INVALID_VALUE', 'INVALID_NODE_ID', 'DUPLICATE_NODE_ID',
  'ENTRY_NODE_MISSING', 'UNKNOWN_NODE', 'SELF_LOOP', 'DUPLICATE_EDGE', 'CYCLE_DETECTED',
  'UNREACHABLE_NODE', 'CONFLICTING_FIELDS', 'INVALID_DURATION', 'DELAY_OUT_OF_RANGE',
  'TOO_MANY_NODES', 'TEMPLATE_SYNTAX', 'TEMPLATE_TOO_LARGE', 'INVALID_RETRY_POLICY',
  'TEMPLATE_RENDER_FAILED', 'TEMPLATE_LIMIT_EXCEEDED', 'UNDEFINED_VARIABLE', 'HEADER_INJECTION',
  'INVALID_EMAIL', 'INVALID_PHONE', 'INVALID_TIMESTAMP', 'INVALID_PAGE_TOKEN',
  'MESSAGE_UNDECODABLE', 'MESSAGE_INVALID',
]);

/** The gRPC code a reason maps to; unknown reasons are INTERNAL. */
export function grpcCodeOf(reason: ReasonCode): grpc.status {
  if (INVALID_INPUT_REASONS.has(reason)) return grpc.status.INVALID_ARGUMENT;
  return CODE_OF_REASON[reason] ?? grpc.status.INTERNAL;
}

/** Codes whose message and metadata could carry internals (SQL, hosts, stacks): replaced by a fixed text. */
const OPAQUE_MESSAGES: Partial<Record<grpc.status, string>> = {
  [grpc.status.INTERNAL]: 'internal error',
  [grpc.status.UNAVAILABLE]: 'service unavailable; retry with backoff',
};

/**
 * The google.rpc.Status a client sees for `error`: the code, a safe message, ErrorInfo{reason,
 * domain} and, when the error names fields, a BadRequest with every field violation.
 */
export function toRpcStatus(error: unknown): RpcStatus {
  const herald = error instanceof HeraldError ? error : undefined;
  const reason: ReasonCode = herald?.reason ?? 'INTERNAL';
  const code = grpcCodeOf(reason);
  const opaque = OPAQUE_MESSAGES[code];
  const details: Any[] = [
    pack('google.rpc.ErrorInfo', ErrorInfo.encode({ reason, domain: ERROR_DOMAIN, metadata: opaque ? {} : { ...herald?.metadata } }).finish()),
  ];
  if (herald && herald.violations.length > 0 && !opaque) {
    const fieldViolations = herald.violations.map((v) => ({ field: v.path, description: v.message, reason: v.reason }));
    details.push(pack('google.rpc.BadRequest', BadRequest.encode({ fieldViolations }).finish()));
  }
  return { code, message: opaque ?? herald?.message ?? 'internal error', details };
}

/** `error` as the status grpc-js sends, with the rich status in grpc-status-details-bin. */
export function toServiceError(error: unknown, logger: Logger, method: string): Partial<grpc.StatusObject> {
  const status = toRpcStatus(error);
  if (status.code === grpc.status.INTERNAL) {
    // The full error (stack, SQL, cause) stays in the server log only.
    logger.error({ err: error, method }, 'rpc failed');
  } else if (status.code === grpc.status.UNAVAILABLE) {
    logger.warn({ err: error, method }, 'rpc unavailable');
  } else {
    logger.debug({ method, code: grpc.status[status.code], reason: (error as HeraldError).reason }, 'rpc refused');
  }
  const metadata = new grpc.Metadata();
  metadata.set(STATUS_DETAILS_KEY, Buffer.from(RpcStatus.encode(status).finish()));
  return { code: status.code, details: status.message, metadata };
}

function pack(typeName: string, value: Uint8Array): Any {
  return { typeUrl: `type.googleapis.com/${typeName}`, value: Buffer.from(value) };
}

/** Decodes grpc-status-details-bin from a client-side error: what tests and Herald's own clients read. */
export function readStatusDetails(error: { metadata?: grpc.Metadata }): {
  status?: RpcStatus;
  errorInfo?: ErrorInfo;
  badRequest?: BadRequest;
} {
  const raw = error.metadata?.get(STATUS_DETAILS_KEY)[0];
  if (!raw || typeof raw === 'string') return {};
  const status = RpcStatus.decode(raw);
  const find = (name: string) => status.details.find((d) => d.typeUrl === `type.googleapis.com/${name}`)?.value;
  const info = find('google.rpc.ErrorInfo');
  const bad = find('google.rpc.BadRequest');
  return {
    status,
    errorInfo: info ? ErrorInfo.decode(info) : undefined,
    badRequest: bad ? BadRequest.decode(bad) : undefined,
  };
}
