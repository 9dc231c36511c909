import { describe, expect, it } from 'vitest';
import type { FailureKind } from '../../src/providers/types.js';
import { DEFAULT_RETRY_POLICY, QUOTA_RETRY_AFTER_MS } from '../../src/resilience/defaults.js';
import { decideRetry, isQuotaFailure, type AttemptFailure } from '../../src/resilience/retry-policy.js';

const policy = { ...DEFAULT_RETRY_POLICY, maxAttempts: 3, baseDelayMs: 100, maxDelayMs: 1_000 };
const half = () => 0.5;

describe('decideRetry', () => {
  it.each<[string, AttemptFailure, number, ReturnType<typeof decideRetry>]>([
    [
      '429 with retry-after waits it',
      { kind: 'rate_limited', retryAfterMs: 7_000 },
      1,
      { retry: true, delayMs: 7_000, reason: 'rate-limited', countsAttempt: false, pausesProvider: false },
    ],
    [
      '429 without retry-after backs off',
      { kind: 'rate_limited' },
      2,
      { retry: true, delayMs: 100, reason: 'rate-limited', countsAttempt: false, pausesProvider: false },
    ],
    [
      '5xx backs off',
      { kind: 'server_error' },
      1,
      { retry: true, delayMs: 50, reason: 'transient', countsAttempt: true, pausesProvider: false },
    ],
    [
      '503 with retry-after waits it',
      { kind: 'server_error', retryAfterMs: 2_500 },
      1,
      { retry: true, delayMs: 2_500, reason: 'transient', countsAttempt: true, pausesProvider: false },
    ],
    [
      'timeout',
      { kind: 'timeout' },
      2,
      { retry: true, delayMs: 100, reason: 'transient', countsAttempt: true, pausesProvider: false },
    ],
    [
      'connection',
      { kind: 'connection' },
      1,
      { retry: true, delayMs: 50, reason: 'transient', countsAttempt: true, pausesProvider: false },
    ],
    [
      'malformed reply',
      { kind: 'malformed' },
      1,
      { retry: true, delayMs: 50, reason: 'transient', countsAttempt: true, pausesProvider: false },
    ],
    [
      'client error is never retried',
      { kind: 'client_error' },
      1,
      { retry: false, reason: 'client-error', code: 'troupe:client-error' },
    ],
    [
      'cancelled is never retried',
      { kind: 'cancelled' },
      1,
      { retry: false, reason: 'cancelled', code: 'troupe:cancelled' },
    ],
    [
      'gives up after maxAttempts',
      { kind: 'server_error' },
      3,
      { retry: false, reason: 'retries-exhausted', code: 'troupe:retries-exhausted' },
    ],
    [
      'a 429 costs no attempt, even after maxAttempts: the provider is busy, the turn is not at fault (its deadline bounds it)',
      { kind: 'rate_limited', retryAfterMs: 1_000 },
      3,
      { retry: true, delayMs: 1_000, reason: 'rate-limited', countsAttempt: false, pausesProvider: false },
    ],
    [
      'quota pauses the provider and costs no attempt',
      { kind: 'quota_exhausted' },
      3,
      { retry: true, delayMs: 0, reason: 'quota', countsAttempt: false, pausesProvider: true },
    ],
    [
      'a 429 of an hour or more is a quota',
      { kind: 'rate_limited', retryAfterMs: QUOTA_RETRY_AFTER_MS },
      1,
      { retry: true, delayMs: 0, reason: 'quota', countsAttempt: false, pausesProvider: true },
    ],
    [
      'a refusal of the credentials is never retried',
      { kind: 'unauthorized' },
      1,
      { retry: false, reason: 'unauthorized', code: 'troupe:unauthorized' },
    ],
  ])('%s', (_name, failure, attempt, decision) => {
    expect(decideRetry(failure, attempt, policy, half)).toEqual(decision);
  });

  it('grows the backoff with the attempt, capped', () => {
    const delays = [1, 2, 3, 4, 5, 6].map((attempt) => {
      const decision = decideRetry({ kind: 'timeout' }, attempt, { ...policy, maxAttempts: 99 }, () => 0.999);
      return decision.retry ? decision.delayMs : -1;
    });
    expect(delays).toEqual([99, 199, 399, 799, 999, 999]);
  });

  it.each<[FailureKind, number | undefined, boolean]>([
    ['quota_exhausted', undefined, true],
    ['rate_limited', QUOTA_RETRY_AFTER_MS - 1, false],
    ['rate_limited', undefined, false],
    ['server_error', QUOTA_RETRY_AFTER_MS, false],
  ])('isQuotaFailure(%s, %s) is %s', (kind, retryAfterMs, quota) => {
    expect(isQuotaFailure({ kind, ...(retryAfterMs !== undefined && { retryAfterMs }) })).toBe(quota);
  });
});
