import test from 'ava';
import fc from 'fast-check';
import { backoffDelayMs, classifyError, resolveRetryPolicy, RetryableError, seededRandom, TerminalError, type RandomSource } from '../../../core';
import { makeEmailNode, makeWorkflow } from './core-fixtures';

const fixed = (value: number): RandomSource => ({ next: () => value });

test('the default policy is 3 attempts, 1 s base, 60 s cap', (t) => {
  t.deepEqual(resolveRetryPolicy(makeWorkflow(), makeEmailNode('welcome')), { maxAttempts: 3, baseDelayMs: 1000, maxDelayMs: 60_000 });
});

test('a node policy overrides the workflow policy, which overrides the default, field by field', (t) => {
  const def = makeWorkflow({ retry: { maxAttempts: 5, baseDelayMs: 200 } });
  t.deepEqual(resolveRetryPolicy(def, makeEmailNode('welcome')), { maxAttempts: 5, baseDelayMs: 200, maxDelayMs: 60_000 });
  const node = { ...makeEmailNode('welcome'), retry: { maxAttempts: 1 } };
  t.deepEqual(resolveRetryPolicy(def, node), { maxAttempts: 1, baseDelayMs: 200, maxDelayMs: 60_000 });
});

test('backoff grows as base·2^(attempt-1) up to the cap, at the top of the jitter range', (t) => {
  const policy = { maxAttempts: 10, baseDelayMs: 1000, maxDelayMs: 10_000 };
  const top = fixed(0.999999999);
  t.deepEqual([1, 2, 3, 4, 5, 6].map((n) => backoffDelayMs(policy, n, top)), [1000, 2000, 4000, 8000, 10_000, 10_000]);
});

test('backoff with a zero draw is zero (full jitter)', (t) => {
  t.is(backoffDelayMs({ maxAttempts: 3, baseDelayMs: 1000, maxDelayMs: 60_000 }, 3, fixed(0)), 0);
});

test('backoff always lies within [0, min(cap, base·2^(attempt-1))]', (t) => {
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 3_600_000 }), fc.integer({ min: 0, max: 86_400_000 }), fc.integer({ min: 1, max: 100 }), fc.integer(), (base, cap, attempt, seed) => {
      const delay = backoffDelayMs({ maxAttempts: 100, baseDelayMs: base, maxDelayMs: cap }, attempt, seededRandom(seed));
      return Number.isInteger(delay) && delay >= 0 && delay <= Math.min(cap, base * 2 ** (attempt - 1));
    }),
  );
  t.pass();
});

test('TerminalError is classified as never retryable', (t) => {
  t.deepEqual(classifyError(new TerminalError('PROVIDER_REJECTED', 'bad recipient')), { reason: 'PROVIDER_REJECTED', message: 'bad recipient', retryable: false });
});

test('RetryableError is retryable and keeps its retry-after', (t) => {
  t.deepEqual(classifyError(new RetryableError('PROVIDER_RATE_LIMITED', '429', { retryAfterMs: 5000 })), {
    reason: 'PROVIDER_RATE_LIMITED',
    message: '429',
    retryable: true,
    retryAfterMs: 5000,
  });
});

test('unknown errors are retryable as INTERNAL', (t) => {
  t.deepEqual(classifyError(new Error('socket hang up')), { reason: 'INTERNAL', message: 'socket hang up', retryable: true });
  t.deepEqual(classifyError('boom'), { reason: 'INTERNAL', message: 'boom', retryable: true });
});

test('seededRandom is deterministic per seed and stays in [0, 1)', (t) => {
  const a = seededRandom(42);
  const b = seededRandom(42);
  const draws = Array.from({ length: 1000 }, () => a.next());
  t.deepEqual(draws, Array.from({ length: 1000 }, () => b.next()));
  t.true(draws.every((x) => x >= 0 && x < 1));
  t.notDeepEqual(draws.slice(0, 5), Array.from({ length: 5 }, seededRandom(43).next));
});
