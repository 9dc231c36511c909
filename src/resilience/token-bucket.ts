import { BUDGET_EPSILON } from './defaults.js';

/** How a `TokenBucket` starts. */
export interface TokenBucketOptions {
  /** Most units the bucket holds (requests or tokens). Must be > 0. */
  readonly capacity: number;
  /** Units added per ms, continuously. 0 means the bucket never refills. */
  readonly refillPerMs: number;
  /** Units in the bucket at `now`. Default: `capacity` (full). */
  readonly initial?: number;
  /** Time of creation, ms since the epoch. */
  readonly now: number;
}

/**
 * A continuously refilling bucket of budget units (requests or tokens). Pure: every method takes
 * `now` in ms. The level may go negative (debt): a reconciliation can take more than is there,
 * and a demand larger than the whole capacity is let through once the bucket is full; the debt is
 * then repaid by refill before anything else passes.
 */
export class TokenBucket {
  private cap: number;
  private rate: number;
  private current: number;
  private updatedAt: number;

  constructor(options: TokenBucketOptions) {
    this.cap = options.capacity;
    this.rate = options.refillPerMs;
    this.current = Math.min(options.initial ?? options.capacity, options.capacity);
    this.updatedAt = options.now;
  }

  /** Most units the bucket holds. */
  get capacity(): number {
    return this.cap;
  }

  /** Units added per ms. */
  get refillPerMs(): number {
    return this.rate;
  }

  /** Units available at `now` (negative while in debt). */
  level(now: number): number {
    this.refill(now);
    return this.current;
  }

  /** Takes `n` units if available (or, for `n` above capacity, if the bucket is full); true if taken. */
  tryTake(n: number, now: number): boolean {
    this.refill(now);
    if (this.current + BUDGET_EPSILON < this.demand(n)) return false;
    this.current -= n;
    return true;
  }

  /** Takes `n` units unconditionally, going into debt if needed (reconciling actual usage). */
  take(n: number, now: number): void {
    this.refill(now);
    this.current -= n;
  }

  /** Adds `n` units, never above capacity. */
  give(n: number, now: number): void {
    this.refill(now);
    this.current = Math.min(this.cap, this.current + n);
  }

  /**
   * Gives back `n` units taken earlier but never used (a reservation above actual usage). The level
   * may exceed capacity by at most `n`: the units were reserved while the bucket refilled for
   * others, and clipping them at capacity would lose budget that nothing spent.
   */
  refund(n: number, now: number): void {
    this.refill(now);
    this.current = Math.min(this.current, this.cap) + n;
  }

  /**
   * Earliest time (ms, rounded up to a whole ms, never before `now`) at which `tryTake(n)` would
   * succeed; `Infinity` if the bucket does not refill and is short.
   */
  availableAt(n: number, now: number): number {
    this.refill(now);
    const missing = this.demand(n) - this.current;
    if (missing <= BUDGET_EPSILON) return now;
    if (this.rate <= 0) return Infinity;
    return Math.max(now, Math.ceil(now + missing / this.rate));
  }

  /** Sets the level to what a provider says remains (may be negative: debt not yet known to it). */
  setRemaining(remaining: number, now: number): void {
    this.refill(now);
    this.current = Math.min(this.cap, remaining);
  }

  /** Changes the capacity; the level is cut to it if above. */
  setCapacity(capacity: number, now: number): void {
    this.refill(now);
    this.cap = capacity;
    this.current = Math.min(this.current, capacity);
  }

  /** Changes the refill rate (units per ms) from `now` on. */
  setRefillPerMs(refillPerMs: number, now: number): void {
    this.refill(now);
    this.rate = refillPerMs;
  }

  /** A demand above capacity could never be met; it waits for a full bucket instead. */
  private demand(n: number): number {
    return Math.min(n, this.cap);
  }

  private refill(now: number): void {
    // A clock that steps back (a manual clock reset) must not drain the bucket.
    const elapsed = Math.max(0, now - this.updatedAt);
    if (elapsed > 0 && this.current < this.cap) {
      this.current = Math.min(this.cap, this.current + elapsed * this.rate);
    }
    this.updatedAt = Math.max(this.updatedAt, now);
  }
}
