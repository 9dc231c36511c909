/**
 * The order in which a model actor starts its conversations: sequences longest first (the
 * conversations that take longest start earliest, which shortens the makespan), each cut into
 * slices of consecutive runs. The walk is a cursor: it holds its position, never a list of the
 * slices to come.
 */
import type { SequenceConfig } from '../suite/types.js';

/** Runs `firstRun` … `firstRun + runs - 1` of one sequence: what one sequence actor hosts. */
export interface Slice {
  readonly sequence: SequenceConfig;
  /** From 1. */
  readonly firstRun: number;
  readonly runs: number;
}

/** A cursor over a model's slices, in the order they start. */
export class SliceWalk {
  private readonly order: readonly SequenceConfig[];
  private index = 0;
  private nextRun = 1;

  constructor(
    sequences: readonly SequenceConfig[],
    private readonly runs: number,
    private readonly runsPerSlice: number,
  ) {
    // A stable sort: sequences of equal length keep the suite's order, so the walk is the same
    // every time the job runs.
    this.order = [...sequences].sort((a, b) => b.prompts.length - a.prompts.length);
    if (runs < 1) this.index = this.order.length;
  }

  /**
   * Moves the cursor to the slice of `at` (a sequence and the first of its runs), as a model's
   * progress checkpoint names it; null: past the end. A sequence the walk does not know (never, for
   * the frozen suite of a job) leaves the cursor at the start, which is safe: only slower.
   */
  seek(at: { readonly sequence: string; readonly firstRun: number } | null): void {
    if (at === null) {
      this.index = this.order.length;
      return;
    }
    const index = this.order.findIndex((sequence) => sequence.id === at.sequence);
    if (index < 0 || at.firstRun < 1 || at.firstRun > this.runs) return;
    this.index = index;
    this.nextRun = at.firstRun;
  }

  /** True once every slice was taken. */
  get done(): boolean {
    return this.index >= this.order.length;
  }

  /** The next slice, without taking it; undefined once done. */
  peek(): Slice | undefined {
    const sequence = this.order[this.index];
    if (sequence === undefined) return undefined;
    return {
      sequence,
      firstRun: this.nextRun,
      runs: Math.min(this.runsPerSlice, this.runs - this.nextRun + 1),
    };
  }

  /** Takes the next slice; undefined once done. */
  take(): Slice | undefined {
    const slice = this.peek();
    if (slice === undefined) return undefined;
    this.nextRun += slice.runs;
    if (this.nextRun > this.runs) {
      this.index += 1;
      this.nextRun = 1;
    }
    return slice;
  }
}
