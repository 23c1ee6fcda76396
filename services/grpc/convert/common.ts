import { HeraldError, type ReasonCode, type Violation } from '../../../core/errors';
import type { PageRequest } from '../../api/app/app-types';

/** Collects every problem of a request before failing, so a client learns them all at once. */
export class Violations {
  readonly list: Violation[] = [];

  add(path: string, reason: ReasonCode, message: string): void {
    this.list.push({ path, reason, message });
  }

  /** Records MISSING_FIELD when `value` is empty; returns whether it was present. */
  require(path: string, value: string | undefined | null | object): boolean {
    const present = typeof value === 'string' ? value.trim() !== '' : value !== undefined && value !== null;
    if (!present) this.add(path, 'MISSING_FIELD', `${path} is required`);
    return present;
  }

  /** Like require, and the value must be a UUID (ids are; anything else cannot exist). */
  requireUuid(path: string, value: string): boolean {
    if (!this.require(path, value)) return false;
    return this.checkUuid(path, value);
  }

  /** An optional id: empty is fine, anything else must be a UUID. */
  checkUuid(path: string, value: string): boolean {
    if (value === '' || UUID.test(value)) return true;
    this.add(path, 'INVALID_VALUE', `${path} must be a UUID`);
    return false;
  }

  throwIfAny(message = 'invalid request'): void {
    if (this.list.length > 0) throw new HeraldError('INVALID_ARGUMENT', message, { violations: this.list });
  }
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export const DEFAULT_PAGE_SIZE = 50;
export const MAX_PAGE_SIZE = 1000;

/** AIP-158: 0 means the default, larger sizes are capped, negative ones are refused. */
export function pageRequestFromProto(request: { pageSize: number; pageToken: string }, violations: Violations): PageRequest {
  if (request.pageSize < 0) violations.add('page_size', 'INVALID_VALUE', 'page_size must not be negative');
  const pageSize = request.pageSize <= 0 ? DEFAULT_PAGE_SIZE : Math.min(request.pageSize, MAX_PAGE_SIZE);
  return { pageSize, pageToken: request.pageToken };
}

/** A Struct arrives as a plain object (ts-proto unwraps it); absent means empty. */
export function structFromProto(value: { [key: string]: unknown } | undefined): Record<string, unknown> {
  return value ?? {};
}

/** A plain JSON value for a Struct field: drops undefined and turns Dates into strings. */
export function structToProto(value: Record<string, unknown> | null | undefined): { [key: string]: unknown } | undefined {
  if (value === null || value === undefined) return undefined;
  return JSON.parse(JSON.stringify(value)) as { [key: string]: unknown };
}

/** A Timestamp from a Date or an ISO string; unset when absent or unparseable. */
export function timestampToProto(value: Date | string | null | undefined): Date | undefined {
  if (value === null || value === undefined) return undefined;
  const date = value instanceof Date ? value : new Date(value);
  return Number.isNaN(date.getTime()) ? undefined : date;
}

/** proto3 strings are never absent: an empty string means "not set" in the domain. */
export function optionalString(value: string): string | undefined {
  return value === '' ? undefined : value;
}

/** Re-addresses violations from a nested message (e.g. the workflow) to the request's field. */
export function prefixViolations(error: unknown, prefix: string): unknown {
  if (!(error instanceof HeraldError) || error.violations.length === 0) return error;
  const violations = error.violations.map((v) => ({ ...v, path: `${prefix}.${v.path}` }));
  return new HeraldError(error.reason, error.message, { violations, metadata: error.metadata, cause: error });
}
