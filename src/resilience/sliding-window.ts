import { BUDGET_EPSILON } from './defaults.js';

// Dropped entries are sliced off only past this many, so that pruning stays amortised O(1).
const COMPACT_AFTER_ENTRIES = 1024;

/**
 * One amount recorded in a `SlidingWindowLog`, as a handle to adjust it later (see `adjust`): the
 * entry's number in the log, not an object, so that recording a request allocates nothing.
 */
export type WindowEntry = number & { readonly __windowEntry: never };

/**
 * The exact form of "at most `limit` units in any window of `windowMs`": a log of what was sent
 * in the last window. An entry recorded at `t` counts in every window `(s - windowMs, s]` with
 * `t` inside, so two entries exactly `windowMs` apart never share a window. Pure: takes `now`.
 *
 * The log holds one entry per request sent in the last window (a minute at thousands of requests
 * a second is hundreds of thousands), so it keeps them as two arrays of numbers, 16 bytes an
 * entry, rather than an object each (about 70 bytes with its boxed timestamp, and garbage for the
 * collector at the request rate).
 */
export class SlidingWindowLog {
  /** When each entry was recorded (ms since the epoch), and the units it counts for; in order. */
  private times: number[] = [];
  private amounts: number[] = [];
  /** Index of the first entry still in the window. */
  private head = 0;
  /** The number (see `WindowEntry`) of the entry at index 0. */
  private base = 0;
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
    this.times.push(now);
    this.amounts.push(n);
    this.sum += n;
    return (this.base + this.times.length - 1) as WindowEntry;
  }

  /** Changes a recorded entry by `delta` units (reconciliation), never below zero; no effect once it left the window. */
  adjust(entry: WindowEntry, delta: number, now: number): void {
    this.prune(now);
    const index = entry - this.base;
    if (index < this.head || index >= this.times.length) return;
    const before = this.amounts[index]!;
    const amount = Math.max(0, before + delta);
    this.amounts[index] = amount;
    this.sum += amount - before;
  }

  /** Earliest time (ms, ≥ `now`) at which `n` units fit, as older entries leave the window. */
  availableAt(n: number, now: number): number {
    this.prune(now);
    const need = this.demand(n);
    let remaining = this.sum;
    if (remaining + need <= this.limit + BUDGET_EPSILON) return now;
    for (let i = this.head; i < this.times.length; i++) {
      remaining -= this.amounts[i]!;
      if (remaining + need <= this.limit + BUDGET_EPSILON) return this.times[i]! + this.windowMs;
    }
    return now;
  }

  /** A demand above the limit could never fit; it waits for an empty window and takes all of it. */
  private demand(n: number): number {
    return Math.min(n, this.limit);
  }

  private prune(now: number): void {
    const cutoff = now - this.windowMs;
    while (this.head < this.times.length && this.times[this.head]! <= cutoff) {
      this.sum -= this.amounts[this.head]!;
      this.head++;
    }
    if (this.head === this.times.length) {
      this.base += this.times.length;
      this.times = [];
      this.amounts = [];
      this.head = 0;
      this.sum = 0;
    } else if (this.head > COMPACT_AFTER_ENTRIES && this.head * 2 > this.times.length) {
      this.times = this.times.slice(this.head);
      this.amounts = this.amounts.slice(this.head);
      this.base += this.head;
      this.head = 0;
    }
  }
}
