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
   * Builds the copy from a header reading taken at `now`; `sentSince` is what troupe sent after
   * the request that carried the header (units the provider may not have counted yet). Undefined
   * if the reading has no `remaining` or its reset has already passed. A `remaining` without a
   * reset holds for `holdsMs` (the dialect's window).
   */
  static fromReading(
    reading: LimitReading,
    sentSince: number,
    now: number,
    holdsMs: number,
  ): LearnedBudget | undefined {
    if (reading.remaining === undefined) return undefined;
    const resetAt = reading.resetAtMs ?? now + holdsMs;
    if (resetAt <= now) return undefined;
    const { limit, remaining } = reading;
    const refillPerMs = limit !== undefined && limit > remaining ? (limit - remaining) / (resetAt - now) : 0;
    const bucket = new TokenBucket({ capacity: limit ?? Infinity, refillPerMs, now });
    bucket.setRemaining(remaining - sentSince, now);
    return new LearnedBudget(bucket, resetAt);
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
