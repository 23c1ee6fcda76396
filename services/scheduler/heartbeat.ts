import { credentials, Metadata, type ServiceError } from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { schedulerToProto } from '../grpc/convert/admin';
import { ClusterServiceClient, type SchedulerInfo } from '../grpc/gen/herald/v1/cluster_service';
import type { SchedulerStatus } from '../api/app/app-types';

export interface HeartbeatOptions {
  apiAddress: string;
  workerKey: string;
  intervalMs: number;
  status(): SchedulerStatus;
  logger: Logger;
}

export interface HeartbeatLoop {
  stop(): void;
}

/**
 * Reports this scheduler to the api's ClusterService every `intervalMs` with its workerService
 * key. Observability only: a failing heartbeat is logged (debug, then warn once per streak)
 * and never touches the scheduling itself.
 */
export function startHeartbeat(options: HeartbeatOptions): HeartbeatLoop {
  const { logger } = options;
  if (!options.workerKey) {
    logger.info('no worker key configured; cluster heartbeats are off');
    return { stop() {} };
  }
  const client = new ClusterServiceClient(options.apiAddress, credentials.createInsecure());
  let failing = false;
  let stopped = false;
  let timer: NodeJS.Timeout | null = null;

  const beat = () => {
    if (stopped) return;
    const metadata = new Metadata();
    metadata.set('authorization', `Bearer ${options.workerKey}`);
    let info: SchedulerInfo;
    try {
      info = schedulerToProto(options.status());
    } catch (error) {
      logger.debug({ err: error }, 'could not build heartbeat status');
      schedule();
      return;
    }
    client.heartbeat({ scheduler: info }, metadata, { deadline: Date.now() + Math.max(1_000, options.intervalMs) }, (error: ServiceError | null) => {
      if (error) {
        if (!failing) logger.warn({ code: error.code, details: error.details }, 'scheduler heartbeat failed; scheduling continues');
        else logger.debug({ code: error.code }, 'scheduler heartbeat still failing');
        failing = true;
      } else if (failing) {
        logger.info('scheduler heartbeat recovered');
        failing = false;
      }
      schedule();
    });
  };

  function schedule() {
    if (stopped) return;
    timer = setTimeout(beat, options.intervalMs);
    timer.unref();
  }

  beat();
  return {
    stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      client.close();
    },
  };
}
