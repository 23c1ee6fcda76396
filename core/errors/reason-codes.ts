/**
 * The one closed set of reasons Herald reports. Every error, violation, log entry and gRPC
 * status detail names one of these; the api maps them to gRPC codes only at its edge.
 */
export const REASON_CODES = [
  // Workflow validation
  'INVALID_ARGUMENT',
  'MISSING_FIELD',
  'INVALID_VALUE',
  'INVALID_NODE_ID',
  'DUPLICATE_NODE_ID',
  'ENTRY_NODE_MISSING',
  'UNKNOWN_NODE',
  'SELF_LOOP',
  'DUPLICATE_EDGE',
  'CYCLE_DETECTED',
  'UNREACHABLE_NODE',
  'CONFLICTING_FIELDS',
  'INVALID_DURATION',
  'DELAY_OUT_OF_RANGE',
  'TOO_MANY_NODES',
  'TEMPLATE_SYNTAX',
  'TEMPLATE_TOO_LARGE',
  'INVALID_RETRY_POLICY',
  // Rendering and execution
  'TEMPLATE_RENDER_FAILED',
  'TEMPLATE_LIMIT_EXCEEDED',
  'UNDEFINED_VARIABLE',
  'HEADER_INJECTION',
  'INVALID_EMAIL',
  'INVALID_PHONE',
  'INVALID_TIMESTAMP',
  'CONTEXT_TOO_LARGE',
  'ILLEGAL_TRANSITION',
  'ATTEMPTS_EXHAUSTED',
  // Control plane
  'UNAUTHENTICATED',
  'PERMISSION_DENIED',
  'NOT_FOUND',
  'ALREADY_EXISTS',
  'ETAG_MISMATCH',
  'WORKFLOW_INACTIVE',
  'WORKFLOW_ACTIVE',
  'WORKFLOW_INVALID',
  'PAYLOAD_TOO_LARGE',
  'RESOURCE_EXHAUSTED',
  'INVALID_PAGE_TOKEN',
  'DEADLINE_EXCEEDED',
  'SHUTTING_DOWN',
  // Infrastructure
  'DATABASE_UNAVAILABLE',
  'BROKER_UNAVAILABLE',
  'CACHE_UNAVAILABLE',
  'OWNERSHIP_LOST',
  'INTERNAL',
  // Providers
  'PROVIDER_UNAVAILABLE',
  'PROVIDER_TIMEOUT',
  'PROVIDER_RATE_LIMITED',
  'PROVIDER_REJECTED',
  'PROVIDER_AUTH_FAILED',
  'PROVIDER_ERROR',
  // Direct Kafka ingest
  'MESSAGE_UNDECODABLE',
  'MESSAGE_INVALID',
] as const;

export type ReasonCode = (typeof REASON_CODES)[number];

export function isReasonCode(value: string): value is ReasonCode {
  return (REASON_CODES as readonly string[]).includes(value);
}
