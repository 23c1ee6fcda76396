import {
  context,
  isValidSpanId,
  isValidTraceId,
  propagation,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
  type Attributes,
  type Context,
  type Span,
  type SpanContext,
  type TextMapGetter,
} from '@opentelemetry/api';

/**
 * How Herald joins a distributed trace, with @opentelemetry/api only. Until a TracerProvider is
 * registered (HERALD_OTEL_ENABLED=true starts the SDK in otel.ts) every tracer, propagator and
 * context manager here is the API's no-op, so none of this costs more than a few calls. Tracers
 * made before the SDK starts still work: the API's proxy picks the provider up when it arrives.
 */
export const apiTracer = trace.getTracer('herald-api');
export const schedulerTracer = trace.getTracer('herald-scheduler');

// W3C Trace Context level 1; a later version may append fields, version 00 may not.
const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-[^\s]*)?$/;

/** A W3C `traceparent` as a remote span context; undefined for anything malformed or all-zero. */
export function parseTraceparent(value: string | null | undefined): SpanContext | undefined {
  if (!value) return undefined;
  const match = TRACEPARENT.exec(value.trim());
  if (!match) return undefined;
  const [, version, traceId, spanId, flags, rest] = match;
  if (version === 'ff' || (version === '00' && rest !== undefined)) return undefined;
  if (!isValidTraceId(traceId) || !isValidSpanId(spanId)) return undefined;
  return { traceId, spanId, traceFlags: parseInt(flags, 16), isRemote: true };
}

/** `00-<trace id>-<span id>-<flags>`, what the W3C propagator would send for `span`. */
export function formatTraceparent(span: SpanContext): string {
  return `00-${span.traceId}-${span.spanId}-${(span.traceFlags & 0xff).toString(16).padStart(2, '0')}`;
}

/** A header value a producer sent, in canonical form; undefined when it is not a traceparent. */
export function normalizeTraceparent(value: string | null | undefined): string | undefined {
  const parsed = parseTraceparent(value);
  return parsed ? formatTraceparent(parsed) : undefined;
}

/** The active span as a traceparent: what a trigger stores so its steps continue this trace. */
export function activeTraceparent(): string | undefined {
  const span = trace.getSpanContext(context.active());
  return span && isValidTraceId(span.traceId) && isValidSpanId(span.spanId) ? formatTraceparent(span) : undefined;
}

/** A context whose parent is the stored traceparent (the root context when there is none). */
export function contextOfTraceparent(traceparent: string | undefined): Context {
  const parent = parseTraceparent(traceparent);
  return parent ? trace.setSpanContext(ROOT_CONTEXT, parent) : ROOT_CONTEXT;
}

/** gRPC metadata as the propagator reads it (`traceparent`, `tracestate`, or whatever OTEL_PROPAGATORS names). */
export interface MetadataLike {
  get(key: string): Array<string | Buffer>;
  getMap(): Record<string, unknown>;
}

const metadataGetter: TextMapGetter<MetadataLike> = {
  keys: (metadata) => Object.keys(metadata.getMap()),
  get(metadata, key) {
    const values = metadata.get(key).filter((v): v is string => typeof v === 'string');
    if (values.length === 0) return undefined;
    return values.length === 1 ? values[0] : values;
  },
};

/** What every call of one RPC shares, computed once when the method is bound. */
export interface RpcSpanTemplate {
  name: string;
  attributes: Attributes;
}

/** `/herald.v1.TriggerService/CreateTrigger` → span `herald.v1.TriggerService/CreateTrigger`, rpc.* attributes. */
export function rpcSpanTemplate(path: string): RpcSpanTemplate {
  const name = path.replace(/^\//, '');
  const slash = name.lastIndexOf('/');
  return {
    name,
    attributes: { 'rpc.system': 'grpc', 'rpc.service': name.slice(0, slash), 'rpc.method': name.slice(slash + 1) },
  };
}

/**
 * A SERVER span for one call, child of the caller's `traceparent`/`tracestate` metadata when it
 * sent one, and the context to run the handler in (so accepted triggers record this span).
 */
export function startRpcSpan(template: RpcSpanTemplate, metadata: MetadataLike): { span: Span; context: Context } {
  const parent = propagation.extract(ROOT_CONTEXT, metadata, metadataGetter);
  const span = apiTracer.startSpan(template.name, { kind: SpanKind.SERVER, attributes: template.attributes }, parent);
  return { span, context: trace.setSpan(parent, span) };
}

const GRPC_OK = 0;
const GRPC_CANCELLED = 1;

/**
 * Ends a call's span with its gRPC code. Any code but OK (and a client's own CANCELLED) marks it
 * ERROR with Herald's reason code, never the error text: messages can echo request content.
 */
export function endRpcSpan(span: Span, code: number, reason?: string): void {
  if (span.isRecording()) {
    span.setAttribute('rpc.grpc.status_code', code);
    if (code !== GRPC_OK && code !== GRPC_CANCELLED) markSpanError(span, reason ?? String(code));
  }
  span.end();
}

/** ERROR with Herald's reason code only, never an error's text: messages can echo request content. */
export function markSpanError(span: Span, reason: string): void {
  span.setAttribute('error.type', reason);
  span.setStatus({ code: SpanStatusCode.ERROR, message: reason });
}
