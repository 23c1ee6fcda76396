import knexFactory, { type Knex } from 'knex';
import pg from 'pg';
import type { Logger } from 'pino';

// bigint columns (version, epoch) fit in a JS number for any realistic lifetime.
pg.types.setTypeParser(pg.types.builtins.INT8, (value: string) => Number(value));

export interface PostgresOptions {
  url: string;
  schema: string;
  poolMax: number;
  /** Shown in pg_stat_activity, so an operator can tell which Herald process holds a session. */
  applicationName?: string;
  /** knex's own warnings (a pooled session the server ended, say) go here instead of to the console. */
  logger?: Logger;
}

/** One knex instance per process, pinned to a schema through the search path. */
export function connectPostgres(options: PostgresOptions): Knex {
  return knexFactory({
    client: 'pg',
    connection: { connectionString: options.url, application_name: options.applicationName ?? 'herald' },
    searchPath: [options.schema],
    pool: { min: 0, max: options.poolMax },
    acquireConnectionTimeout: 10_000,
    ...(options.logger ? { log: knexLog(options.logger) } : {}),
  });
}

function knexLog(logger: Logger): Knex.Config['log'] {
  const pgLogger = logger.child({ component: 'knex' });
  return {
    warn: (message: unknown) => pgLogger.warn(String(message)),
    error: (message: unknown) => pgLogger.error(String(message)),
    deprecate: (method: string, alternative: string) => pgLogger.warn(`${method} is deprecated; use ${alternative}`),
    debug: (message: unknown) => pgLogger.debug(String(message)),
  };
}
