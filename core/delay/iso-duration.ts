import { parse } from 'tinyduration';
import { TerminalError } from '../errors';

const MS = { weeks: 7 * 86_400_000, days: 86_400_000, hours: 3_600_000, minutes: 60_000, seconds: 1000 } as const;

/**
 * Parses an ISO-8601 duration into milliseconds. Only W, D, H, M (minutes) and S parts are
 * allowed: years and months have no fixed length, so they are rejected even when zero. A day is
 * exactly 24 hours (Herald delays are elapsed time, not calendar arithmetic). Zero and negative
 * durations are rejected. Throws TerminalError('INVALID_DURATION').
 */
export function parseIsoDuration(text: string): number {
  if (typeof text !== 'string' || text.length === 0 || text.length > 64 || text.trim() !== text) {
    throw invalid(text, 'expected an ISO-8601 duration such as PT30M or P1DT12H');
  }
  let duration: ReturnType<typeof parse>;
  try {
    duration = parse(text);
  } catch {
    throw invalid(text, 'expected an ISO-8601 duration such as PT30M or P1DT12H');
  }
  if (duration.negative) throw invalid(text, 'a duration must be positive');
  if (duration.years !== undefined || duration.months !== undefined) {
    throw invalid(text, 'year and month parts have no fixed length; use W, D, H, M or S');
  }
  let ms = 0;
  for (const unit of Object.keys(MS) as (keyof typeof MS)[]) {
    const value = duration[unit];
    if (value === undefined) continue;
    if (!Number.isFinite(value) || value < 0) throw invalid(text, 'every part must be a non-negative number');
    ms += value * MS[unit];
  }
  ms = Math.round(ms);
  if (!(ms >= 1)) throw invalid(text, 'a duration must be positive');
  if (!Number.isSafeInteger(ms)) throw invalid(text, 'duration is too long');
  return ms;
}

function invalid(text: string, why: string): TerminalError {
  return new TerminalError('INVALID_DURATION', `invalid duration "${String(text).slice(0, 64)}": ${why}`);
}
