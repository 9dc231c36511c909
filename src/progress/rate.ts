/** How many seconds of history the throughput estimate looks at. */
export const RATE_WINDOW_MS = 30_000;

interface Sample {
  readonly atMs: number;
  readonly done: number;
}

/**
 * Throughput and ETA of a count that only grows (finished turns), estimated over
 * a sliding window so that a long run's rate follows what happens now.
 */
export class RateEstimator {
  private samples: Sample[] = [];

  constructor(private readonly windowMs = RATE_WINDOW_MS) {}

  /** Records that `done` items were finished at `atMs`. */
  record(atMs: number, done: number): void {
    this.samples.push({ atMs, done });
    // Keep one sample older than the window so the rate spans the whole window.
    while (this.samples.length > 2 && (this.samples[1]?.atMs ?? atMs) <= atMs - this.windowMs)
      this.samples.shift();
  }

  /** Items per second over the window, as of `nowMs`; 0 before two samples. */
  perSecond(nowMs: number): number {
    const first = this.samples[0];
    const last = this.samples[this.samples.length - 1];
    if (first === undefined || last === undefined || last.done === first.done) return 0;
    const spanMs = Math.max(nowMs, last.atMs) - first.atMs;
    return spanMs <= 0 ? 0 : ((last.done - first.done) * 1000) / spanMs;
  }

  /** Seconds until `total` is reached at the current rate; undefined when the rate is unknown. */
  etaSeconds(nowMs: number, total: number): number | undefined {
    const last = this.samples[this.samples.length - 1];
    if (last === undefined) return undefined;
    if (last.done >= total) return 0;
    const rate = this.perSecond(nowMs);
    return rate > 0 ? (total - last.done) / rate : undefined;
  }
}
