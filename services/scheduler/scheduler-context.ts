import type { Knex } from 'knex';
import type { Logger } from 'pino';
import type { EmailProvider, SmsProvider } from '../../core/ports/providers';
import { LruCache } from '../../core/templates/lru-cache';
import type { DecideDeps } from '../../core/trigger/decide';
import type { WorkflowVersion } from '../../core/workflow/model';
import type { HeraldConfig } from '../config/config';
import { getWorkflowVersion } from '../postgres/workflow-store';
import type { LeaseManager } from '../redis/lease-manager';
import type { TimerWheel } from '../redis/timer-wheel';
import type { SchedulerMetrics } from '../telemetry/scheduler-metrics';
import type { ActorRegistry } from './actor-registry';
import type { CheckpointBatcher } from './checkpoint-batcher';
import type { LoadBatcher } from './load-batcher';

/** Everything a partition incarnation shares with the rest of the scheduler process. */
export interface SchedulerContext {
  config: HeraldConfig;
  logger: Logger;
  knex: Knex;
  wheel: TimerWheel;
  leases: LeaseManager;
  batcher: CheckpointBatcher;
  loader: LoadBatcher;
  registry: ActorRegistry;
  providers: { email: EmailProvider; sms: SmsProvider };
  decideDeps: DecideDeps;
  workflows: WorkflowVersionCache;
  providerTimeoutMs: number;
  /** How long a graceful partition stop waits for in-flight steps before aborting them. */
  drainTimeoutMs: number;
  /** Set once the scheduler is up; metrics are observability, never control. */
  metrics?: SchedulerMetrics;
}

/** Workflow versions are immutable, so they are cached without invalidation. */
export class WorkflowVersionCache {
  private readonly cache = new LruCache<string, WorkflowVersion>(1_000);
  private readonly loading = new Map<string, Promise<WorkflowVersion>>();

  constructor(private readonly knex: Knex) {}

  get(workflowId: string, version: number): Promise<WorkflowVersion> {
    const key = `${workflowId}@${version}`;
    const hit = this.cache.get(key);
    if (hit) return Promise.resolve(hit);
    let pending = this.loading.get(key);
    if (!pending) {
      pending = getWorkflowVersion(this.knex, workflowId, version)
        .then((loaded) => {
          this.cache.set(key, loaded);
          return loaded;
        })
        .finally(() => this.loading.delete(key));
      this.loading.set(key, pending);
    }
    return pending;
  }
}
