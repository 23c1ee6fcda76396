import * as grpc from '@grpc/grpc-js';
import { context, metrics, type Histogram } from '@opentelemetry/api';
import type { Logger } from 'pino';
import { authorize } from '../../../core/auth/permissions';
import { HeraldError } from '../../../core/errors';
import type { Principal } from '../../api/app/app-types';
import { endRpcSpan, rpcSpanTemplate, startRpcSpan, type RpcSpanTemplate } from '../../telemetry/tracing';
import { toServiceError } from './error-mapping';
import { ACTION_OF_RPC } from './rpc-actions';

/** What every handler gets besides its request. */
export interface CallContext {
  principal: Principal;
  /** Aborted when the client cancels, the deadline passes or the server stops. */
  signal: AbortSignal;
  /** Full method path, e.g. `/herald.v1.TriggerService/CreateTrigger`. */
  method: string;
}

export type UnaryHandler<Req, Res> = (request: Req, ctx: CallContext) => Promise<Res>;
export type ServerStreamHandler<Req, Res> = (request: Req, ctx: CallContext, send: (message: Res) => Promise<void>) => Promise<void>;

type RequestOf<M> = M extends { requestDeserialize: (bytes: Buffer) => infer Req } ? Req : never;
type ResponseOf<M> = M extends { responseSerialize: (value: infer Res) => Buffer } ? Res : never;

/** One handler per method of a ts-proto service definition, typed from it. */
export type ServiceHandlers<D> = {
  [K in keyof D]: D[K] extends { requestStream: true }
    ? never
    : D[K] extends { responseStream: true }
      ? ServerStreamHandler<RequestOf<D[K]>, ResponseOf<D[K]>>
      : UnaryHandler<RequestOf<D[K]>, ResponseOf<D[K]>>;
};

export interface EdgeOptions {
  authenticate(secret: string): Promise<Principal | null>;
  /** Applied to unary calls that carry no deadline. */
  defaultDeadlineMs: number;
  logger: Logger;
  /** Aborted when the server shuts down, so streams end promptly. */
  shutdown: AbortSignal;
}

const BEARER = /^Bearer +([\x21-\x7e]+)$/i;

/**
 * The one interceptor: every herald.v1 method is bound through here, which traces the call (a
 * SERVER span continuing the caller's traceparent), authenticates the bearer key, authorizes the
 * method's action with core's matrix, applies the deadline and maps errors to gRPC statuses.
 * Binding a method that has no action throws.
 */
export function bindService<D extends grpc.ServiceDefinition>(
  definition: D,
  handlers: ServiceHandlers<D>,
  options: EdgeOptions,
): grpc.UntypedServiceImplementation {
  const implementation: grpc.UntypedServiceImplementation = {};
  // A no-op unless the OpenTelemetry SDK is on (HERALD_OTEL_ENABLED); servers bind after it starts.
  const rpcDuration = metrics.getMeter('herald-api').createHistogram('herald.rpc.server.duration', {
    unit: 'ms',
    description: 'Unary herald.v1 calls, by method and gRPC status code',
  });
  for (const [name, method] of Object.entries(definition)) {
    const action = ACTION_OF_RPC[method.path];
    if (!action) throw new Error(`no authorization action for ${method.path}`);
    const handler = (handlers as Record<string, unknown>)[name];
    if (typeof handler !== 'function') throw new Error(`no handler for ${method.path}`);

    const admit = async (metadata: grpc.Metadata): Promise<Principal> => {
      const principal = await authenticateCall(metadata, options);
      if (!authorize(principal.role, action)) {
        throw new HeraldError('PERMISSION_DENIED', `role ${principal.role} may not call ${method.path}`);
      }
      return principal;
    };

    if (method.requestStream) throw new Error(`client streaming is not supported: ${method.path}`);
    const spans = rpcSpanTemplate(method.path);
    implementation[name] = method.responseStream
      ? bindServerStream(method.path, admit, handler as ServerStreamHandler<unknown, unknown>, options, spans)
      : bindUnary(method.path, admit, handler as UnaryHandler<unknown, unknown>, options, rpcDuration, spans);
  }
  return implementation;
}

async function authenticateCall(metadata: grpc.Metadata, options: EdgeOptions): Promise<Principal> {
  const values = metadata.get('authorization');
  if (values.length === 0) throw new HeraldError('UNAUTHENTICATED', 'missing authorization: Bearer <api key>');
  const match = values.length === 1 && typeof values[0] === 'string' ? BEARER.exec(values[0]) : null;
  if (!match) throw new HeraldError('UNAUTHENTICATED', 'malformed authorization: expected one "Bearer <api key>"');
  const principal = await options.authenticate(match[1]);
  if (!principal) throw new HeraldError('UNAUTHENTICATED', 'invalid or revoked api key');
  return principal;
}

/**
 * In-flight calls waiting on the server's shutdown signal. One listener per shutdown signal fans
 * out to every call: a listener per call put hundreds on one AbortSignal under load (Node's
 * MaxListenersExceededWarning) and made each call's removal a linear scan.
 */
const shutdownWatchers = new WeakMap<AbortSignal, Set<() => void>>();

function watchShutdown(shutdown: AbortSignal, onShutdown: () => void): () => void {
  let watchers = shutdownWatchers.get(shutdown);
  if (!watchers) {
    const set = new Set<() => void>();
    watchers = set;
    shutdownWatchers.set(shutdown, set);
    shutdown.addEventListener('abort', () => {
      for (const watcher of [...set]) watcher();
      set.clear();
    }, { once: true });
  }
  const set = watchers;
  set.add(onShutdown);
  return () => set.delete(onShutdown);
}

function callSignal(call: grpc.ServerUnaryCall<unknown, unknown> | grpc.ServerWritableStream<unknown, unknown>, shutdown: AbortSignal, timeoutMs?: number): { signal: AbortSignal; dispose(): void } {
  const controller = new AbortController();
  const abort = (reason: HeraldError) => controller.abort(reason);
  const onShutdown = () => abort(new HeraldError('SHUTTING_DOWN', 'server is shutting down'));
  if (shutdown.aborted) onShutdown();
  const unwatch = shutdown.aborted ? () => false : watchShutdown(shutdown, onShutdown);
  // grpc-js emits 'cancelled' at the end of EVERY call, answered ones included, so the listener
  // goes when the call is done: otherwise each answer builds an error and aborts for nothing.
  const onCancelled = () => abort(new HeraldError('DEADLINE_EXCEEDED', 'call cancelled by the client'));
  call.once('cancelled', onCancelled);
  const timer = timeoutMs === undefined ? undefined : setTimeout(() => abort(new HeraldError('DEADLINE_EXCEEDED', 'deadline exceeded')), timeoutMs);
  return {
    signal: controller.signal,
    dispose() {
      if (timer) clearTimeout(timer);
      call.removeListener('cancelled', onCancelled);
      unwatch();
    },
  };
}

/** The reason code a failed call's span reports (a fixed vocabulary, safe to export). */
function reasonOf(error: unknown): string {
  return error instanceof HeraldError ? error.reason : 'INTERNAL';
}

/** Milliseconds left before the client's deadline, or the server default when it sent none. */
function remainingMs(deadline: grpc.Deadline, defaultMs: number): number {
  const at = deadline instanceof Date ? deadline.getTime() : deadline;
  return Number.isFinite(at) ? Math.max(0, at - Date.now()) : defaultMs;
}

function bindUnary(
  path: string,
  admit: (metadata: grpc.Metadata) => Promise<Principal>,
  handler: UnaryHandler<unknown, unknown>,
  options: EdgeOptions,
  duration: Histogram,
  spans: RpcSpanTemplate,
): grpc.handleUnaryCall<unknown, unknown> {
  return (call, callback) => {
    const startedAt = performance.now();
    const traced = startRpcSpan(spans, call.metadata);
    const { signal, dispose } = callSignal(call, options.shutdown, remainingMs(call.getDeadline(), options.defaultDeadlineMs));
    const aborted = new Promise<never>((_, reject) => {
      if (signal.aborted) reject(signal.reason);
      signal.addEventListener('abort', () => reject(signal.reason), { once: true });
    });
    const work = context.with(traced.context, async () => {
      const principal = await admit(call.metadata);
      return handler(call.request, { principal, signal, method: path });
    });
    work.catch(() => undefined); // the race below reports it; avoid an unhandled rejection after a timeout
    Promise.race([work, aborted]).then(
      (response) => {
        duration.record(performance.now() - startedAt, { method: path, code: grpc.status.OK });
        endRpcSpan(traced.span, grpc.status.OK);
        callback(null, response);
      },
      (error: unknown) => {
        const serviceError = toServiceError(error, options.logger, path);
        const code = serviceError.code ?? grpc.status.UNKNOWN;
        duration.record(performance.now() - startedAt, { method: path, code });
        endRpcSpan(traced.span, code, reasonOf(error));
        callback(serviceError);
      },
    ).finally(dispose);
  };
}

function bindServerStream(
  path: string,
  admit: (metadata: grpc.Metadata) => Promise<Principal>,
  handler: ServerStreamHandler<unknown, unknown>,
  options: EdgeOptions,
  spans: RpcSpanTemplate,
): grpc.handleServerStreamingCall<unknown, unknown> {
  return (call) => {
    const traced = startRpcSpan(spans, call.metadata);
    // Streams run until their natural end; a deadline applies only when the client set one.
    const deadline = call.getDeadline();
    const clientMs = remainingMs(deadline, Number.POSITIVE_INFINITY);
    const { signal, dispose } = callSignal(call, options.shutdown, Number.isFinite(clientMs) ? clientMs : undefined);
    const send = (message: unknown) =>
      new Promise<void>((resolve, reject) => {
        if (signal.aborted) return reject(signal.reason);
        if (call.write(message)) return resolve();
        const onAbort = () => reject(signal.reason);
        signal.addEventListener('abort', onAbort, { once: true });
        call.once('drain', () => {
          signal.removeEventListener('abort', onAbort);
          resolve();
        });
      });
    context.with(traced.context, async () => {
      const principal = await admit(call.metadata);
      await handler(call.request, { principal, signal, method: path }, send);
    }).then(
      () => {
        endRpcSpan(traced.span, grpc.status.OK);
        call.end();
      },
      (error: unknown) => {
        if (call.cancelled) {
          endRpcSpan(traced.span, grpc.status.CANCELLED);
          return;
        }
        const serviceError = toServiceError(error, options.logger, path);
        endRpcSpan(traced.span, serviceError.code ?? grpc.status.UNKNOWN, reasonOf(error));
        call.emit('error', serviceError);
      },
    ).finally(dispose);
  };
}
