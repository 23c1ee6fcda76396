import type { Logger } from 'pino';
import type { HeraldConfig } from '../config/config';
import { startGrpcServer } from '../grpc/server';
import { connectPostgres } from '../postgres/connect';
import {
  createAdminApp,
  createClusterApp,
  createKafka,
  createTriggerApp,
  createTriggerPublisher,
  createWorkflowApp,
  ensureTopics,
  startRelay,
} from './app';

export interface RunningApi {
  /** host:port the gRPC server is bound to (the real port when configured with :0). */
  address: string;
  stop(): Promise<void>;
}

/**
 * `herald serve api`: Postgres, the Kafka producer and relay, the application layer and the
 * gRPC edge. The schema is migrated by the caller (the CLI) before this runs.
 */
export async function startApi(config: HeraldConfig, logger: Logger): Promise<RunningApi> {
  const knex = connectPostgres({ ...config.postgres, applicationName: 'herald-api', logger });
  const kafka = createKafka(config, 'herald-api', logger);
  const cleanups: Array<() => Promise<unknown>> = [() => knex.destroy()];
  const cleanUp = async () => {
    for (const cleanup of cleanups.splice(0).reverse()) {
      await cleanup().catch((error: unknown) => logger.error({ err: error }, 'error while stopping the api'));
    }
  };
  try {
    await ensureTopics(kafka, config, logger);
    const publisher = createTriggerPublisher(kafka, config, { logger });
    cleanups.push(() => publisher.close());
    const admin = createAdminApp({ knex, logger });
    cleanups.push(() => admin.close());
    const triggers = createTriggerApp({ knex, publisher, config, logger });
    cleanups.push(() => triggers.close());
    const relay = startRelay({ knex, publisher, config, logger });
    cleanups.push(() => relay.stop());
    if (config.api.bootstrapAdminKey) await admin.ensureBootstrapKey(config.api.bootstrapAdminKey);

    const workflows = createWorkflowApp({ knex, limits: { maxDelayMs: config.limits.maxDelayMs } });
    const cluster = createClusterApp({ knex });
    const server = await startGrpcServer(
      { workflows, triggers, admin, cluster },
      {
        address: config.api.address,
        maxMessageBytes: config.api.maxMessageBytes,
        maxPayloadBytes: config.api.maxPayloadBytes,
        defaultDeadlineMs: config.api.defaultDeadlineMs,
        maxConcurrentStreams: config.api.maxConcurrentStreams,
        maxWatchers: config.api.maxWatchers,
      },
      logger,
    );
    // The server stops first (in-flight calls finish), then the relay, the apps, Kafka, Postgres.
    cleanups.push(() => server.stop());
    let stopping: Promise<void> | undefined;
    return { address: server.address, stop: () => (stopping ??= cleanUp()) };
  } catch (error) {
    await cleanUp();
    throw error;
  }
}
