import type { Knex } from 'knex';
import { TerminalError } from '../../../core/errors';
import { listSchedulers, upsertSchedulerHeartbeat } from '../../postgres/cluster-store';
import { withDbErrors } from '../../postgres/pg-errors';
import type { ClusterApp } from './app-types';

export interface ClusterAppDeps {
  knex: Knex;
  /** Schedulers silent for longer than this drop out of the listing (they may have been replaced). */
  forgetAfterMs?: number;
}

export function createClusterApp(deps: ClusterAppDeps): ClusterApp {
  const { knex } = deps;
  const forgetAfterMs = deps.forgetAfterMs ?? 10 * 60_000;
  return {
    async heartbeat(status) {
      if (!status.schedulerId || status.schedulerId.length > 256) {
        throw new TerminalError('INVALID_ARGUMENT', 'scheduler_id is required (at most 256 characters)', {
          violations: [{ path: 'scheduler_id', reason: 'INVALID_VALUE', message: 'required, at most 256 characters' }],
        });
      }
      return withDbErrors(() => upsertSchedulerHeartbeat(knex, status));
    },
    listSchedulers: () => withDbErrors(() => listSchedulers(knex, forgetAfterMs)),
  };
}
