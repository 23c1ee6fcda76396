import * as grpc from '@grpc/grpc-js';
import { HealthImplementation } from 'grpc-health-check';
import type { Logger } from 'pino';
import type { AdminApp, ClusterApp, TriggerApp, WorkflowApp } from '../api/app/app-types';
import { bindService, type EdgeOptions } from './edge/bind-service';
import { AdminServiceService } from './gen/herald/v1/admin_service';
import { ClusterServiceService } from './gen/herald/v1/cluster_service';
import { TriggerServiceService } from './gen/herald/v1/trigger_service';
import { WorkflowServiceService } from './gen/herald/v1/workflow_service';
import { adminHandlers } from './handlers/admin-handlers';
import { clusterHandlers } from './handlers/cluster-handlers';
import { triggerHandlers } from './handlers/trigger-handlers';
import { workflowHandlers } from './handlers/workflow-handlers';
import { DescriptorIndex } from './reflection/descriptor-index';
import { addReflection } from './reflection/reflection-service';

export interface GrpcApps {
  workflows: WorkflowApp;
  triggers: TriggerApp;
  admin: AdminApp;
  cluster: ClusterApp;
}

export interface GrpcServerOptions {
  /** host:port; port 0 picks a free one (tests). */
  address: string;
  maxMessageBytes: number;
  maxPayloadBytes: number;
  defaultDeadlineMs: number;
  maxConcurrentStreams: number;
  maxWatchers: number;
  /** How long stop() lets calls finish before cancelling them. */
  shutdownGraceMs?: number;
}

export interface RunningGrpcServer {
  /** host:port actually bound. */
  address: string;
  port: number;
  stop(): Promise<void>;
}

const HERALD_SERVICES = [
  'herald.v1.WorkflowService',
  'herald.v1.TriggerService',
  'herald.v1.AdminService',
  'herald.v1.ClusterService',
];
const PUBLIC_SERVICES = ['grpc.health.v1.Health', 'grpc.reflection.v1.ServerReflection', 'grpc.reflection.v1alpha.ServerReflection'];

/** Starts the herald.v1 api with health and reflection on one port. */
export async function startGrpcServer(apps: GrpcApps, options: GrpcServerOptions, logger: Logger): Promise<RunningGrpcServer> {
  const server = new grpc.Server({
    'grpc.max_receive_message_length': options.maxMessageBytes,
    'grpc.max_concurrent_streams': options.maxConcurrentStreams,
  });
  const shutdown = new AbortController();
  const edge: EdgeOptions = {
    authenticate: (secret) => apps.admin.authenticate(secret),
    defaultDeadlineMs: options.defaultDeadlineMs,
    logger,
    shutdown: shutdown.signal,
  };
  const limits = { maxPayloadBytes: options.maxPayloadBytes, maxWatchers: options.maxWatchers };
  server.addService(WorkflowServiceService, bindService(WorkflowServiceService, workflowHandlers(apps.workflows), edge));
  server.addService(TriggerServiceService, bindService(TriggerServiceService, triggerHandlers(apps.triggers, limits, logger), edge));
  server.addService(AdminServiceService, bindService(AdminServiceService, adminHandlers(apps.admin), edge));
  server.addService(ClusterServiceService, bindService(ClusterServiceService, clusterHandlers(apps.cluster), edge));

  const health = new HealthImplementation({ '': 'SERVING', ...Object.fromEntries(HERALD_SERVICES.map((s) => [s, 'SERVING'])) });
  health.addToServer(server);
  addReflection(server, DescriptorIndex.load(), [...HERALD_SERVICES, ...PUBLIC_SERVICES]);

  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync(options.address, grpc.ServerCredentials.createInsecure(), (error, bound) => (error ? reject(error) : resolve(bound)));
  });
  const host = options.address.slice(0, options.address.lastIndexOf(':'));
  const address = `${host}:${port}`;
  logger.info({ address }, 'grpc api listening');

  let stopping: Promise<void> | undefined;
  return {
    address,
    port,
    stop() {
      stopping ??= (async () => {
        for (const service of ['', ...HERALD_SERVICES]) health.setStatus(service, 'NOT_SERVING');
        shutdown.abort(); // ends WatchTrigger streams, which would otherwise hold shutdown open
        await new Promise<void>((resolve) => {
          const force = setTimeout(() => {
            server.forceShutdown();
            resolve();
          }, options.shutdownGraceMs ?? 5000);
          server.tryShutdown(() => {
            clearTimeout(force);
            resolve();
          });
        });
      })();
      return stopping;
    },
  };
}
