import { TerminalError } from '../../../core/errors';

/**
 * Keyset page tokens. A token is base64url(JSON) of the last row's sort key; clients treat it
 * as opaque. The timestamp travels as Postgres text with microseconds (see pageTsSql), because
 * a JS Date would truncate to milliseconds and the next page would repeat rows.
 */
export interface TimeCursor {
  ts: string;
  id: string;
}

/** Select this (aliased `page_ts`) next to the row; it is what the next page compares against. */
export function pageTsSql(column = 'created_at'): string {
  return `to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS page_ts`;
}

const TS_PATTERN = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/;
const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function invalidToken(): TerminalError {
  return new TerminalError('INVALID_PAGE_TOKEN', 'page_token is not a token this server issued', {
    violations: [{ path: 'page_token', reason: 'INVALID_PAGE_TOKEN', message: 'unknown or malformed page token' }],
  });
}

function encode(value: unknown): string {
  return Buffer.from(JSON.stringify(value), 'utf8').toString('base64url');
}

function decode(token: string): unknown {
  try {
    return JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
  } catch {
    throw invalidToken();
  }
}

export function encodeTimeCursor(cursor: TimeCursor): string {
  return encode({ t: cursor.ts, i: cursor.id });
}

/** Empty token = first page. Anything we did not issue is INVALID_PAGE_TOKEN, never a SQL error. */
export function decodeTimeCursor(token: string): TimeCursor | null {
  if (token === '') return null;
  const value = decode(token) as { t?: unknown; i?: unknown } | null;
  if (
    typeof value !== 'object' || value === null ||
    typeof value.t !== 'string' || !TS_PATTERN.test(value.t) ||
    typeof value.i !== 'string' || !UUID_PATTERN.test(value.i)
  ) {
    throw invalidToken();
  }
  return { ts: value.t, id: value.i };
}

/** Cursor over a bigint serial id (execution logs). */
export function encodeIdCursor(id: string): string {
  return encode({ n: id });
}

export function decodeIdCursor(token: string): string | null {
  if (token === '') return null;
  const value = decode(token) as { n?: unknown } | null;
  if (typeof value !== 'object' || value === null || typeof value.n !== 'string' || !/^\d{1,19}$/.test(value.n)) {
    throw invalidToken();
  }
  return value.n;
}

/** Clamp a client's page size: 0 means the default; the maximum protects the database. */
export function clampPageSize(pageSize: number, { fallback = 50, max = 500 } = {}): number {
  if (!Number.isFinite(pageSize) || pageSize <= 0) return fallback;
  return Math.min(Math.floor(pageSize), max);
}
