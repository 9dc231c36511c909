/** How long the waits between a turn's attempts grow. */
export interface BackoffPolicy {
  /** First backoff ceiling in ms (full jitter below it). Default 500. */
  readonly baseDelayMs: number;
  /** Largest backoff ceiling in ms. Default 30 000. */
  readonly maxDelayMs: number;
}

/**
 * The ceiling of the backoff after failed attempt `attempt` (1 for the first attempt), in ms:
 * `baseDelayMs × 2^(attempt − 1)`, capped at `maxDelayMs`.
 */
export function backoffCeilingMs(attempt: number, policy: BackoffPolicy): number {
  const exponent = Math.max(0, attempt - 1);
  // 2^exponent overflows to Infinity for huge attempts; the cap still applies.
  return Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** exponent);
}

/**
 * How long to wait after failed attempt `attempt` (1 for the first) before the next one, in ms:
 * exponential backoff with full jitter, uniform in [0, `backoffCeilingMs`). `random` returns a
 * number in [0, 1) (e.g. `Math.random`); injected so that tests are deterministic.
 */
export function backoffDelayMs(attempt: number, policy: BackoffPolicy, random: () => number): number {
  const r = Math.min(Math.max(random(), 0), 1);
  return Math.floor(r * backoffCeilingMs(attempt, policy));
}
