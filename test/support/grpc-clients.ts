import * as grpc from '@grpc/grpc-js';
import { AdminServiceClient } from '../../services/grpc/gen/herald/v1/admin_service';
import { ClusterServiceClient } from '../../services/grpc/gen/herald/v1/cluster_service';
import { TriggerServiceClient } from '../../services/grpc/gen/herald/v1/trigger_service';
import { WorkflowServiceClient } from '../../services/grpc/gen/herald/v1/workflow_service';

/**
 * herald.v1 clients that act as one API key, the way a client service would: the generated
 * ts-proto grpc-js clients on one channel, with an interceptor that adds
 * `authorization: Bearer <key>` to every call. grpc-js refuses call credentials on an insecure
 * channel, hence the interceptor rather than `credentials.createFromMetadataGenerator`.
 */
export interface HeraldClients {
  workflows: WorkflowServiceClient;
  triggers: TriggerServiceClient;
  admin: AdminServiceClient;
  cluster: ClusterServiceClient;
  close(): void;
}

export function createHeraldClients(address: string, apiKey: string, options: grpc.ClientOptions = {}): HeraldClients {
  const bearer: grpc.Interceptor = (callOptions, nextCall) =>
    new grpc.InterceptingCall(nextCall(callOptions), {
      start(metadata, listener, next) {
        metadata.set('authorization', `Bearer ${apiKey}`);
        next(metadata, listener);
      },
    });
  const credentials = grpc.credentials.createInsecure();
  const shared: grpc.ClientOptions = { ...options, interceptors: [bearer, ...(options.interceptors ?? [])] };
  // grpc-js's global subchannel pool lets these four share one connection.
  const clients = {
    workflows: new WorkflowServiceClient(address, credentials, shared),
    triggers: new TriggerServiceClient(address, credentials, shared),
    admin: new AdminServiceClient(address, credentials, shared),
    cluster: new ClusterServiceClient(address, credentials, shared),
  };
  return {
    ...clients,
    close() {
      for (const client of Object.values(clients)) client.close();
    },
  };
}

type UnaryMethod<Req, Res> = (
  request: Req,
  metadata: grpc.Metadata,
  options: Partial<grpc.CallOptions>,
  callback: (error: grpc.ServiceError | null, response: Res) => void,
) => grpc.ClientUnaryCall;

export function bearer(secret: string): grpc.Metadata {
  const metadata = new grpc.Metadata();
  metadata.set('authorization', `Bearer ${secret}`);
  return metadata;
}

/** Promisified unary call with explicit metadata (a secret, or ready-made metadata). */
export function unary<Req, Res>(
  client: grpc.Client,
  method: UnaryMethod<Req, Res>,
  request: Req,
  auth: string | grpc.Metadata,
  options: Partial<grpc.CallOptions> = {},
): Promise<Res> {
  const metadata = typeof auth === 'string' ? bearer(auth) : auth;
  return new Promise((resolve, reject) => {
    method.call(client, request, metadata, options, (error, response) => (error ? reject(error) : resolve(response)));
  });
}

/** One unary call of clients made by createHeraldClients, whose interceptor adds the key. */
export function call<Req, Res>(
  client: grpc.Client,
  method: UnaryMethod<Req, Res>,
  request: Req,
  options: Partial<grpc.CallOptions> = {},
): Promise<Res> {
  return unary(client, method, request, new grpc.Metadata(), options);
}

/** Everything a server stream sends, once it ends; rejects if the stream fails. */
export function readStream<T>(stream: grpc.ClientReadableStream<T>): Promise<T[]> {
  return new Promise((resolve, reject) => {
    const items: T[] = [];
    stream.on('data', (item: T) => items.push(item));
    stream.once('error', reject);
    stream.once('end', () => resolve(items));
  });
}
