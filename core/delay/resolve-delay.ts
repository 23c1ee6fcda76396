import { TerminalError } from '../errors';
import { renderTemplate } from '../templates/template-engine';
import type { ExecutionContext } from '../trigger/model';
import type { DelaySpec } from '../workflow/model';
import { parseIsoDuration } from './iso-duration';
import { parseRfc3339 } from './rfc3339';

export { parseIsoDuration } from './iso-duration';

export const DAY_MS = 86_400_000;
export const DEFAULT_MAX_DELAY_MS = 365 * DAY_MS;

/**
 * When a Delay node wakes. `delay_ms` and `duration` are relative to `now`; `until` is a template
 * that renders to an RFC 3339 time. A time in the past fires at once (returns `now`); a wake
 * beyond `now + maxDelayMs` is DELAY_OUT_OF_RANGE; an unreadable time is INVALID_TIMESTAMP.
 */
export function resolveDelay(spec: DelaySpec, ctx: ExecutionContext, now: Date, maxDelayMs: number = DEFAULT_MAX_DELAY_MS): Date {
  const set = [isSet(spec.delayMs), isSet(spec.duration), isSet(spec.until)].filter(Boolean).length;
  if (set !== 1) {
    throw new TerminalError('CONFLICTING_FIELDS', 'a delay sets exactly one of delay_ms, duration or until');
  }
  if (isSet(spec.delayMs)) {
    return relative(Number(spec.delayMs), now, maxDelayMs);
  }
  if (isSet(spec.duration)) {
    return relative(parseIsoDuration(spec.duration as string), now, maxDelayMs);
  }
  const rendered = renderTemplate(spec.until as string, ctx, { now }).trim();
  const at = parseRfc3339(rendered);
  if (!at) {
    throw new TerminalError('INVALID_TIMESTAMP', `until rendered to "${rendered.slice(0, 64)}", which is not an RFC 3339 time`);
  }
  if (at.getTime() <= now.getTime()) return new Date(now.getTime());
  if (at.getTime() - now.getTime() > maxDelayMs) {
    throw new TerminalError('DELAY_OUT_OF_RANGE', `until is more than ${maxDelayMs} ms in the future`);
  }
  return at;
}

function relative(ms: number, now: Date, maxDelayMs: number): Date {
  if (!Number.isSafeInteger(ms) || ms < 1 || ms > maxDelayMs) {
    throw new TerminalError('DELAY_OUT_OF_RANGE', `a delay must be between 1 and ${maxDelayMs} ms`);
  }
  return new Date(now.getTime() + ms);
}

function isSet(value: unknown): boolean {
  return value !== undefined && value !== null && value !== '';
}
