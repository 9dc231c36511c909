/**
 * The deadline of a turn that has failed once: when it passes, the turn's waits (for a permit, for
 * a backoff) end, and its next request may take only what is left of it.
 */

/** The sleep a deadline waits with (the turn executor's, so tests control time). */
export type DeadlineSleep = (ms: number, signal: AbortSignal) => Promise<void>;

/** A point in time after which a turn stops waiting. Call `dispose` when the turn ends. */
export class TurnDeadline {
  private readonly overdue = new AbortController();
  private readonly stop = new AbortController();
  /** Aborts when the turn's own `waiting` signal does, or when the deadline passes. */
  readonly signal: AbortSignal;

  constructor(
    /** When it passes, ms since the epoch. */
    readonly at: number,
    /** Its length, in ms (for messages). */
    readonly lengthMs: number,
    now: number,
    sleep: DeadlineSleep,
    waiting: AbortSignal,
  ) {
    this.signal = AbortSignal.any([waiting, this.overdue.signal]);
    sleep(Math.max(0, at - now), this.stop.signal).then(
      () => this.overdue.abort(new Error('the turn deadline passed')),
      () => undefined, // disposed first: the turn ended in time
    );
  }

  /** True once the deadline has passed (by `now`, or by its timer). */
  passed(now: number): boolean {
    return this.overdue.signal.aborted || now >= this.at;
  }

  /** What is left of it at `now`, in ms (0 once passed). */
  leftMs(now: number): number {
    return Math.max(0, this.at - now);
  }

  /** Clears its timer; the turn ended. */
  dispose(): void {
    this.stop.abort();
  }
}
