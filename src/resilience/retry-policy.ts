/**
 * The retry decision as a value. Who counts attempts: the caller, and only for requests that were
 * actually sent. A turn that waits on an open breaker or a paused limiter sends nothing, so it
 * loses no attempt; two kinds of sent attempt are not counted either, and the decision says so
 * with `countsAttempt: false`: a quota failure (the provider is paused, the turn is not at fault)
 * and a 429 (the provider is busy: with many conversations waiting out the same pause, one turn
 * may meet several in a row, and a provider that announces no budget says so only by 429s). The
 * turn's deadline (`turnDeadlineMs`) bounds those as it bounds every wait.
 * A half-open probe is an attempt of the turn it carries, like any other: so every turn ends
 * after `maxAttempts`, whatever the provider does.
 */
import type { FailureKind } from '../providers/types.js';
import { backoffDelayMs, type BackoffPolicy } from './backoff.js';
import { DEFAULT_RETRY_POLICY, QUOTA_RETRY_AFTER_MS } from './defaults.js';
import { ERROR_CODES, type ErrorCode } from './errors.js';

/** How a turn's failed attempts are retried. */
export interface RetryPolicy extends BackoffPolicy {
  /** Attempts per turn, the first included. Default 6. */
  readonly maxAttempts: number;
  /** Per-request timeout in ms. Default 120 000. */
  readonly timeoutMs: number;
  /**
   * Longest wait troupe accepts from a provider in ms: a `retry-after`, a rate-limit or quota
   * pause, a breaker's cool-down each end within it. Default 900 000 (15 min).
   */
  readonly maxPauseMs: number;
}

/**
 * How long a turn may go on once an attempt of it failed, from its first request to its end, in
 * ms: every attempt's timeout, the longest backoff between each two, and one longest pause
 * (`maxPauseMs`, which a `retry-after` or a breaker's cool-down may impose). Waiting on an open
 * breaker spends no attempt, but it spends this: a turn of a provider that keeps failing ends,
 * whatever the breaker's cool-downs. Defaults: 6 × 120 s + 5 × 30 s + 15 min = 29.5 min.
 */
export function turnDeadlineMs(policy: RetryPolicy): number {
  // A job stored by an earlier troupe has no maxPauseMs: the default applies.
  const maxPauseMs = policy.maxPauseMs ?? DEFAULT_RETRY_POLICY.maxPauseMs;
  return policy.maxAttempts * policy.timeoutMs + (policy.maxAttempts - 1) * policy.maxDelayMs + maxPauseMs;
}

/** A failed attempt as the retry logic sees it. */
export interface AttemptFailure {
  /** How the attempt failed. */
  readonly kind: FailureKind;
  /** The provider's wait hint in ms (`retry-after-ms` / `retry-after`), when it gave one. */
  readonly retryAfterMs?: number;
}

/**
 * Why a turn is tried again:
 * - `rate-limited`: a 429; waits the retry-after (or the backoff).
 * - `transient`: 5xx, timeout, connection, malformed reply; waits the backoff (or the retry-after).
 * - `quota`: the provider is paused (`pausesProvider`); the turn waits in the limiter's queue.
 */
export type RetryReason = 'rate-limited' | 'transient' | 'quota';

/** Why a turn is given up: the provider refused the request itself, troupe cancelled it, or attempts ran out. */
export type GiveUpReason =
  'client-error' | 'unauthorized' | 'cancelled' | 'retries-exhausted' | 'deadline-exceeded';

/** What to do after a failed attempt. */
export type RetryDecision =
  | {
      readonly retry: true;
      /** Wait this many ms before asking the limiter again (0: ask at once; the limiter or breaker holds it). */
      readonly delayMs: number;
      /** Why it is retried. */
      readonly reason: RetryReason;
      /** False if this failure must not count toward `maxAttempts` (see the module comment). */
      readonly countsAttempt: boolean;
      /** True for quota: the provider is paused (the limiter learned it from `release`); not a per-turn retry. */
      readonly pausesProvider: boolean;
    }
  | {
      readonly retry: false;
      /** Why it is given up. */
      readonly reason: GiveUpReason;
      /** The code for the turn's error record. */
      readonly code: ErrorCode;
    };

/** True if a failure means an exhausted quota: `quota_exhausted`, or a 429 whose retry-after is an hour or more. */
export function isQuotaFailure(failure: AttemptFailure): boolean {
  if (failure.kind === 'quota_exhausted') return true;
  return (
    failure.kind === 'rate_limited' &&
    failure.retryAfterMs !== undefined &&
    failure.retryAfterMs >= QUOTA_RETRY_AFTER_MS
  );
}

/**
 * Decides whether and when to retry after a failed attempt. `attempt` is the number of counted
 * attempts so far, the failed one included (1 after the first). The provider's retry-after, when
 * given, wins over the jittered backoff (`backoffDelayMs`, `random` in [0, 1)).
 */
export function decideRetry(
  failure: AttemptFailure,
  attempt: number,
  policy: RetryPolicy,
  random: () => number,
): RetryDecision {
  if (failure.kind === 'cancelled') return { retry: false, reason: 'cancelled', code: ERROR_CODES.cancelled };
  if (failure.kind === 'client_error') {
    return { retry: false, reason: 'client-error', code: ERROR_CODES.clientError };
  }
  if (failure.kind === 'unauthorized') {
    return { retry: false, reason: 'unauthorized', code: ERROR_CODES.unauthorized };
  }
  if (isQuotaFailure(failure)) {
    return { retry: true, delayMs: 0, reason: 'quota', countsAttempt: false, pausesProvider: true };
  }
  const rateLimited = failure.kind === 'rate_limited';
  if (!rateLimited && attempt >= policy.maxAttempts) {
    return { retry: false, reason: 'retries-exhausted', code: ERROR_CODES.retriesExhausted };
  }
  const delayMs =
    failure.retryAfterMs !== undefined && failure.retryAfterMs >= 0
      ? // A job stored by an earlier troupe has no maxPauseMs: the default applies.
        Math.min(failure.retryAfterMs, policy.maxPauseMs ?? DEFAULT_RETRY_POLICY.maxPauseMs)
      : backoffDelayMs(attempt, policy, random);
  return rateLimited
    ? { retry: true, delayMs, reason: 'rate-limited', countsAttempt: false, pausesProvider: false }
    : { retry: true, delayMs, reason: 'transient', countsAttempt: true, pausesProvider: false };
}
