import test from 'ava';
import { parseIsoDuration, parseRfc3339, resolveDelay, TerminalError, type ReasonCode } from '../../../core';
import { makeContext } from './core-fixtures';

const now = new Date('2024-03-01T09:00:00.000Z');
const DAY = 86_400_000;
const MAX = 365 * DAY;
const ctx = makeContext({ payload: { at: '2024-03-02T09:00:00Z', past: '2020-01-01T00:00:00Z', far: '2030-01-01T00:00:00Z', junk: 'tomorrow' } });

function reasonOf(fn: () => unknown): ReasonCode | undefined {
  try {
    fn();
    return undefined;
  } catch (error) {
    return error instanceof TerminalError ? error.reason : undefined;
  }
}

const durations: Array<[string, number]> = [
  ['PT1S', 1000],
  ['PT1M', 60_000],
  ['PT1H', 3_600_000],
  ['P1D', DAY],
  ['P1W', 7 * DAY],
  ['P1DT12H', 1.5 * DAY],
  ['P2W3DT4H5M6S', 17 * DAY + 4 * 3_600_000 + 5 * 60_000 + 6000],
  ['PT0.5S', 500],
];
for (const [text, ms] of durations) {
  test(`parseIsoDuration reads ${text} as ${ms} ms`, (t) => {
    t.is(parseIsoDuration(text), ms);
  });
}

for (const text of ['P1M', 'P1Y', 'P0Y1D', 'PT0S', 'P0D', '-PT1S', 'PT-1S', 'P', 'PT', '1h', 'pt1s', ' PT1S', 'PT1S ', '', 'PT0.0001S']) {
  test(`parseIsoDuration rejects ${JSON.stringify(text)} as INVALID_DURATION`, (t) => {
    t.is(reasonOf(() => parseIsoDuration(text)), 'INVALID_DURATION');
  });
}

test('parseRfc3339 accepts full date-times with an offset', (t) => {
  t.is(parseRfc3339('2024-03-02T09:00:00Z')?.toISOString(), '2024-03-02T09:00:00.000Z');
  t.is(parseRfc3339('2024-03-02T10:30:00.250+01:30')?.toISOString(), '2024-03-02T09:00:00.250Z');
  t.is(parseRfc3339('2024-02-29t09:00:00z')?.toISOString(), '2024-02-29T09:00:00.000Z');
});

test('parseRfc3339 rejects local times, dates alone and impossible dates', (t) => {
  for (const text of ['2024-03-02T09:00:00', '2024-03-02', '2023-02-29T00:00:00Z', '2024-13-01T00:00:00Z', '2024-03-02T25:00:00Z', 'tomorrow', '1709370000']) {
    t.is(parseRfc3339(text), undefined, text);
  }
});

test('delay_ms and duration wake relative to now', (t) => {
  t.is(resolveDelay({ delayMs: 1500 }, ctx, now, MAX).toISOString(), '2024-03-01T09:00:01.500Z');
  t.is(resolveDelay({ duration: 'PT2H' }, ctx, now, MAX).toISOString(), '2024-03-01T11:00:00.000Z');
});

test('until renders a template to an RFC 3339 wake time', (t) => {
  t.is(resolveDelay({ until: '{{ payload.at }}' }, ctx, now, MAX).toISOString(), '2024-03-02T09:00:00.000Z');
});

test('an until in the past fires at once', (t) => {
  t.is(resolveDelay({ until: '{{ payload.past }}' }, ctx, now, MAX).getTime(), now.getTime());
});

test('a wake beyond the maximum is DELAY_OUT_OF_RANGE', (t) => {
  t.is(reasonOf(() => resolveDelay({ until: '{{ payload.far }}' }, ctx, now, MAX)), 'DELAY_OUT_OF_RANGE');
  t.is(reasonOf(() => resolveDelay({ delayMs: MAX + 1 }, ctx, now, MAX)), 'DELAY_OUT_OF_RANGE');
  t.is(reasonOf(() => resolveDelay({ duration: 'P2D' }, ctx, now, DAY)), 'DELAY_OUT_OF_RANGE');
  t.is(reasonOf(() => resolveDelay({ delayMs: 0 }, ctx, now, MAX)), 'DELAY_OUT_OF_RANGE');
});

test('an until that does not render to a time is INVALID_TIMESTAMP', (t) => {
  t.is(reasonOf(() => resolveDelay({ until: '{{ payload.junk }}' }, ctx, now, MAX)), 'INVALID_TIMESTAMP');
});

test('an until that names a missing variable is UNDEFINED_VARIABLE', (t) => {
  t.is(reasonOf(() => resolveDelay({ until: '{{ payload.when }}' }, ctx, now, MAX)), 'UNDEFINED_VARIABLE');
});
