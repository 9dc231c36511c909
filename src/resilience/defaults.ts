/**
 * Every default and tuning constant of the resilience cores, in one place, with units in the names.
 */

/** Length of the window that per-minute limits (`requestsPerMinute`, `tokensPerMinute`) refer to, in ms. */
export const RATE_WINDOW_MS = 60_000;

/**
 * How much of a per-minute budget may leave at once, expressed as a duration in ms: the smoothing
 * bucket holds `limit × BURST_WINDOW_MS / RATE_WINDOW_MS` (half a second's worth). Providers
 * enforce their limits over short intervals too (about a second's worth at once), so a whole
 * minute's budget sent at once would be refused. Half of that, not all of it: a request counts
 * where it arrives, and arrivals bunch up by the jitter between troupe's grant and the provider;
 * with equal buckets, a limit set exactly at the provider's drew 429s at the margin. The other
 * half stays in the provider's bucket as headroom, at no cost to the sustained rate.
 */
export const BURST_WINDOW_MS = 500;

/** Smallest burst of the request bucket, in requests, so that a tiny limit can still send one. */
export const MIN_REQUEST_BURST = 1;

/** Concurrency window of adaptive concurrency (no `maxConcurrency` configured) at start, in requests. */
export const INITIAL_ADAPTIVE_CONCURRENCY = 8;

/** Smallest adaptive concurrency window, in requests. */
export const MIN_ADAPTIVE_CONCURRENCY = 1;

/** Largest adaptive concurrency window, in requests. */
export const MAX_ADAPTIVE_CONCURRENCY = 256;

/** Factor applied to the adaptive concurrency window on a 429 (multiplicative decrease). */
export const CONCURRENCY_DECREASE_FACTOR = 0.5;

/** First pause after a 429 that carries no retry-after, in ms; doubles with every further 429. */
export const RATE_LIMIT_PAUSE_BASE_MS = 1_000;

/** Longest pause after 429s without retry-after, in ms. */
export const RATE_LIMIT_PAUSE_MAX_MS = 60_000;

/**
 * Pause after an exhausted quota that came without a retry-after, in ms; doubles with every quota
 * pause in a row. When it ends, one request goes to see whether the quota is back.
 */
export const QUOTA_PAUSE_BASE_MS = 60_000;

/** Longest pause after exhausted quotas without retry-after, in ms. */
export const QUOTA_PAUSE_MAX_MS = 1_800_000;

/** A retry-after at least this long (ms) means an exhausted quota, not a per-minute limit. */
export const QUOTA_RETRY_AFTER_MS = 3_600_000;

/** Characters (UTF-8 bytes) per token in the request estimate. */
export const CHARS_PER_TOKEN = 4;

/** Tokens a chat format adds around every message (role, separators). */
export const MESSAGE_OVERHEAD_TOKENS = 4;

/** Tokens a chat format adds once per request to prime the assistant's reply. */
export const REPLY_PRIMING_TOKENS = 3;

/**
 * Tolerance, in budget units (requests or tokens), when comparing a bucket's level with a demand:
 * refill is computed in floating point, and a level of 0.9999999 at the instant `availableAt`
 * promised 1 must not make the caller's timer fire for nothing.
 */
export const BUDGET_EPSILON = 1e-6;

/** Retry policy when a suite says nothing: 6 attempts, 500 ms first ceiling, 30 s cap, 120 s timeout, 15 min longest pause. */
export const DEFAULT_RETRY_POLICY = Object.freeze({
  maxAttempts: 6,
  baseDelayMs: 500,
  maxDelayMs: 30_000,
  timeoutMs: 120_000,
  maxPauseMs: 900_000,
});

/** Breaker policy when a suite says nothing (see `BreakerPolicy` for each field). */
export const DEFAULT_BREAKER_POLICY = Object.freeze({
  consecutiveFailures: 5,
  failureRatio: 0.5,
  windowMs: 30_000,
  minRequests: 10,
  coolDownMs: 5_000,
  maxCoolDownMs: 120_000,
  probesToClose: 2,
});
