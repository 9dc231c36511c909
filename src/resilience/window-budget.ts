import { BURST_WINDOW_MS, RATE_WINDOW_MS } from './defaults.js';
import { SlidingWindowLog, type WindowEntry } from './sliding-window.js';
import { TokenBucket } from './token-bucket.js';

/**
 * How a take is paced:
 * - `even`: by the smoothing bucket too, half a second's worth at a time — while troupe knows
 *   nothing of the provider's own window;
 * - `window`: by the sliding-window log alone — once the provider's headers describe its own
 *   bucket (`remaining` until `reset`), which then paces the requests (`LearnedBudget`), so that a
 *   window longer than half a second is spent as the provider allows.
 */
export type Pacing = 'even' | 'window';

/** What a take recorded; keep it to `adjust` the amount later. */
export interface BudgetEntry {
  readonly log: WindowEntry;
  /** True if the smoothing bucket was charged too. */
  readonly paced: boolean;
}

/**
 * A per-minute budget (requests or tokens) enforced two ways at once:
 * - a sliding-window log: the hard guarantee that no window of `RATE_WINDOW_MS` ever holds more
 *   than the limit (a plain bucket of capacity `limit` would allow twice that in one window);
 * - a smoothing bucket holding one `BURST_WINDOW_MS` worth, refilling at limit per minute, so that
 *   the minute's budget is spread evenly, as providers enforce it, instead of leaving in one burst.
 *   Only `even` takes consult it (see `Pacing`).
 * Without a limit it only keeps the log, so that a limit learned later counts what was already sent.
 */
export class WindowBudget {
  private readonly log = new SlidingWindowLog(Infinity, RATE_WINDOW_MS);
  private bucket: TokenBucket | undefined;
  private currentLimit: number | undefined;
  private capsWindow = true;

  /**
   * @param minBurst smallest burst of the smoothing bucket, in units (requests or tokens)
   */
  constructor(private readonly minBurst: number) {}

  /** Units allowed per `RATE_WINDOW_MS`, or undefined for no limit. */
  get limit(): number | undefined {
    return this.currentLimit;
  }

  /**
   * Sets or removes the limit (units per `RATE_WINDOW_MS`). With `capsWindow` false the limit only
   * paces (`even`): no window is held to it. That is how an announced rate is kept: the provider's
   * bucket refills as it is spent, so it lets more than its per-minute limit through in a minute
   * that starts full (a minute's bucket of 300 and 5 a second: 405 in 21 s), and its own headers
   * (`LearnedBudget`) say what it allows. A configured rate caps every window: the user's promise.
   */
  setLimit(limit: number | undefined, now: number, capsWindow = true): void {
    if (limit === this.currentLimit && capsWindow === this.capsWindow) return;
    this.currentLimit = limit;
    this.capsWindow = capsWindow;
    this.log.setLimit(capsWindow ? (limit ?? Infinity) : Infinity);
    if (limit === undefined) {
      this.bucket = undefined;
      return;
    }
    const capacity = Math.max(this.minBurst, (limit * BURST_WINDOW_MS) / RATE_WINDOW_MS);
    const refillPerMs = limit / RATE_WINDOW_MS;
    if (this.bucket) {
      this.bucket.setCapacity(capacity, now);
      this.bucket.setRefillPerMs(refillPerMs, now);
    } else {
      this.bucket = new TokenBucket({ capacity, refillPerMs, now });
    }
  }

  /** Units sent in the window ending at `now`. */
  used(now: number): number {
    return this.log.used(now);
  }

  /** Earliest time (ms, ≥ `now`) at which `n` units may be taken with `pacing`. */
  availableAt(n: number, now: number, pacing: Pacing = 'even'): number {
    const logAt = this.log.availableAt(n, now);
    return this.bucket && pacing === 'even' ? Math.max(logAt, this.bucket.availableAt(n, now)) : logAt;
  }

  /** Takes `n` units at `now` (check `availableAt` with the same `pacing` first). */
  take(n: number, now: number, pacing: Pacing = 'even'): BudgetEntry {
    const paced = this.bucket !== undefined && pacing === 'even';
    if (paced) this.bucket?.take(n, now);
    return { log: this.log.add(n, now), paced };
  }

  /** Corrects a taken amount by `delta` units: a refund when negative, a debt when positive. */
  adjust(entry: BudgetEntry, delta: number, now: number): void {
    this.log.adjust(entry.log, delta, now);
    if (!this.bucket || !entry.paced) return;
    if (delta > 0) this.bucket.take(delta, now);
    else this.bucket.refund(-delta, now);
  }
}
