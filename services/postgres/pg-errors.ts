import { HeraldError, RetryableError, TerminalError } from '../../core/errors';

/** SQLSTATE classes and codes that mean "the database is unreachable or busy; try again". */
const RETRYABLE_SQLSTATE = /^(08|53|57P0[1-3]|40001|40P01|55P03|57014)/;
const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'ENOTFOUND', 'EPIPE', 'EHOSTUNREACH', 'EAI_AGAIN']);

/**
 * Turns whatever knex/pg threw into a HeraldError: unreachable or overloaded database ->
 * RetryableError DATABASE_UNAVAILABLE; a value Postgres refused -> TerminalError
 * INVALID_ARGUMENT; anything else -> INTERNAL. Messages never carry SQL, values or hosts: the
 * original stays on `cause`, for logs only.
 */
export function classifyDbError(error: unknown): HeraldError {
  if (error instanceof HeraldError) return error;
  const e = (error ?? {}) as { code?: unknown; name?: unknown; message?: unknown };
  const code = typeof e.code === 'string' ? e.code : '';
  if (e.name === 'KnexTimeoutError' || NETWORK_CODES.has(code) || RETRYABLE_SQLSTATE.test(code) ||
      (typeof e.message === 'string' && /Connection terminated|timeout exceeded when trying to connect/i.test(e.message))) {
    return new RetryableError('DATABASE_UNAVAILABLE', 'the database is unavailable', { cause: error });
  }
  if (code.startsWith('22')) {
    return new TerminalError('INVALID_ARGUMENT', 'a value was rejected by the database', { cause: error });
  }
  return new HeraldError('INTERNAL', 'internal database error', { cause: error });
}

/** `await withDbErrors(() => store.call(...))`: the app layer's one-line guard around store calls. */
export async function withDbErrors<T>(run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    throw classifyDbError(error);
  }
}
