import type { LimitReading } from './rate-limit-headers.js';
import { TokenBucket } from './token-bucket.js';

/**
 * A local copy of the provider's own bucket for one limit kind, from its `remaining` and `reset`
 * headers: it holds `remaining` now and refills linearly to `limit` at the reset time, which is
 * how both OpenAI and Anthropic describe their buckets. Without a known `limit` it holds
 * `remaining` flat until the reset. It expires at the reset: from then on the provider is full
 * again and the local budgets decide. Where the provider knows less than troupe believes (another
 * client on the same key, a smaller real limit), this is the budget that binds.
 */
export class LearnedBudget {
  private constructor(
    private readonly bucket: TokenBucket,
    /** When the provider's bucket is full again, ms since the epoch. */
    readonly expiresAt: number,
  ) {}

  /**
   * Builds the copy from a header reading taken at `now`; `unseen` is what troupe sent that the
   * provider may not have counted yet when it answered (sent after the request that carried the
   * header, or before it and still in flight). Undefined if the reading has no `remaining` or its
   * reset has already passed. A `remaining` without a reset (Azure's) holds for `holdsMs` (the
   * dialect's window), refilling at `ratePerMs` (units per ms: the rate in force, configured or
   * announced), as the provider's bucket does meanwhile. The refill a reset implies is never taken
   * above `ratePerMs` either: a bucket smaller than the limit it announces (a minute's limit over
   * a shorter window) refills the whole limit by the reset only on paper. Default: no rate known.
   */
  static fromReading(
    reading: LimitReading,
    unseen: number,
    now: number,
    holdsMs: number,
    ratePerMs?: number,
  ): LearnedBudget | undefined {
    if (reading.remaining === undefined) return undefined;
    const resetAt = reading.resetAtMs ?? now + holdsMs;
    if (resetAt <= now) return undefined;
    const { limit, remaining } = reading;
    const implied = limit !== undefined && limit > remaining ? (limit - remaining) / (resetAt - now) : 0;
    const refillPerMs =
      reading.resetAtMs === undefined ? (ratePerMs ?? 0) : Math.min(implied, ratePerMs ?? Infinity);
    const bucket = new TokenBucket({ capacity: limit ?? Infinity, refillPerMs, now });
    bucket.setRemaining(remaining - unseen, now);
    return new LearnedBudget(bucket, resetAt);
  }

  /** Units the provider's bucket gets back per ms, as the reading implies (0: unknown or flat). */
  get refillPerMs(): number {
    return this.bucket.refillPerMs;
  }

  /** True once the provider's bucket is full again. */
  expired(now: number): boolean {
    return now >= this.expiresAt;
  }

  /** Earliest time (ms, ≥ `now`) at which `n` units may be taken: by refill, or at the reset. */
  availableAt(n: number, now: number): number {
    return Math.min(this.bucket.availableAt(n, now), Math.max(now, this.expiresAt));
  }

  /** Takes `n` units (check `availableAt` first). */
  take(n: number, now: number): void {
    this.bucket.take(n, now);
  }

  /** Corrects a taken amount by `delta` units: a refund when negative, a debt when positive. */
  adjust(delta: number, now: number): void {
    if (delta > 0) this.bucket.take(delta, now);
    else this.bucket.give(-delta, now);
  }
}
