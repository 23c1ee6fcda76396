import type { Knex } from 'knex';

/** Store functions take either the pool or an open transaction, so callers compose them atomically. */
export type Db = Knex | Knex.Transaction;
