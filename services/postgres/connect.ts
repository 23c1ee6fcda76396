import knexFactory, { type Knex } from 'knex';
import pg from 'pg';

// bigint columns (version, epoch) fit in a JS number for any realistic lifetime.
pg.types.setTypeParser(pg.types.builtins.INT8, (value: string) => Number(value));

export interface PostgresOptions {
  url: string;
  schema: string;
  poolMax: number;
}

/** One knex instance per process, pinned to a schema through the search path. */
export function connectPostgres(options: PostgresOptions): Knex {
  return knexFactory({
    client: 'pg',
    connection: options.url,
    searchPath: [options.schema],
    pool: { min: 0, max: options.poolMax },
    acquireConnectionTimeout: 10_000,
  });
}
