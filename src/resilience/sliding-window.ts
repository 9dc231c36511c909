import { BUDGET_EPSILON } from './defaults.js';

// Dropped entries are sliced off only past this many, so that pruning stays amortised O(1).
const COMPACT_AFTER_ENTRIES = 1024;

/** One amount recorded in a `SlidingWindowLog`; keep it to adjust the amount later. */
export interface WindowEntry {
  /** When it was recorded, ms since the epoch. */
  readonly at: number;
  /** Units it counts for (requests or tokens); changed through `adjust`. */
  amount: number;
}

/**
 * The exact form of "at most `limit` units in any window of `windowMs`": a log of what was sent
 * in the last window. An entry recorded at `t` counts in every window `(s - windowMs, s]` with
 * `t` inside, so two entries exactly `windowMs` apart never share a window. Pure: takes `now`.
 */
export class SlidingWindowLog {
  private entries: WindowEntry[] = [];
  private head = 0;
  private sum = 0;

  /**
   * @param limit units allowed in any window (requests or tokens)
   * @param windowMs the window's length in ms
   */
  constructor(
    private limit: number,
    readonly windowMs: number,
  ) {}

  /** Units allowed in any window. */
  get windowLimit(): number {
    return this.limit;
  }

  /** Changes the limit; what is already in the window stays counted. */
  setLimit(limit: number): void {
    this.limit = limit;
  }

  /** Units counted in the window ending at `now`. */
  used(now: number): number {
    this.prune(now);
    return this.sum;
  }

  /** True if `n` more units fit in the window ending at `now`. Demands above the limit are cut to it. */
  fits(n: number, now: number): boolean {
    this.prune(now);
    return this.sum + this.demand(n) <= this.limit + BUDGET_EPSILON;
  }

  /** Records `n` units at `now`, unconditionally; returns the entry for a later `adjust`. */
  add(n: number, now: number): WindowEntry {
    this.prune(now);
    const entry: WindowEntry = { at: now, amount: n };
    this.entries.push(entry);
    this.sum += n;
    return entry;
  }

  /** Changes a recorded entry by `delta` units (reconciliation); no effect once it left the window. */
  adjust(entry: WindowEntry, delta: number, now: number): void {
    this.prune(now);
    const amount = Math.max(0, entry.amount + delta);
    if (entry.at > now - this.windowMs) this.sum += amount - entry.amount;
    entry.amount = amount;
  }

  /** Earliest time (ms, ≥ `now`) at which `n` units fit, as older entries leave the window. */
  availableAt(n: number, now: number): number {
    this.prune(now);
    const need = this.demand(n);
    let remaining = this.sum;
    if (remaining + need <= this.limit + BUDGET_EPSILON) return now;
    for (let i = this.head; i < this.entries.length; i++) {
      const entry = this.entries[i]!;
      remaining -= entry.amount;
      if (remaining + need <= this.limit + BUDGET_EPSILON) return entry.at + this.windowMs;
    }
    return now;
  }

  /** A demand above the limit could never fit; it waits for an empty window and takes all of it. */
  private demand(n: number): number {
    return Math.min(n, this.limit);
  }

  private prune(now: number): void {
    const cutoff = now - this.windowMs;
    while (this.head < this.entries.length && this.entries[this.head]!.at <= cutoff) {
      this.sum -= this.entries[this.head]!.amount;
      this.head++;
    }
    if (this.head === this.entries.length) {
      this.entries = [];
      this.head = 0;
      this.sum = 0;
    } else if (this.head > COMPACT_AFTER_ENTRIES && this.head * 2 > this.entries.length) {
      this.entries = this.entries.slice(this.head);
      this.head = 0;
    }
  }
}
