/**
 * The order in which a model actor starts its conversations, read from the store a page of
 * sequences at a time: pages in key order, each page's sequences longest first (the
 * conversations that take longest start earliest, which shortens the makespan; a suite of up to
 * a page of sequences is wholly longest first), each sequence cut into slices of consecutive
 * runs. The walk is a cursor: it holds one page, never the suite nor a list of slices to come.
 */
import type { SequenceConfig } from '../suite/types.js';

/** Runs `firstRun` … `firstRun + runs - 1` of one sequence: what one sequence actor hosts. */
export interface Slice {
  readonly sequence: SequenceConfig;
  /** From 1. */
  readonly firstRun: number;
  readonly runs: number;
  /** The id after which the slice's page starts (undefined: the first page); see `SliceWalk.seek`. */
  readonly pageAfter: string | undefined;
}

/** Where a walk stood: a slice's sequence, its first run and its page (see `Slice.pageAfter`). */
export interface WalkPosition {
  readonly sequence: string;
  readonly firstRun: number;
  readonly pageAfter?: string;
}

/** Up to `limit` sequences in key (id) order, from the one after `after` (undefined: the first). */
export type SequenceSource = (after: string | undefined, limit: number) => readonly SequenceConfig[];

/** Sequences per page of a walk, by default: a page is all a model actor holds of its suite. */
export const WALK_PAGE_SIZE = 1000;

/** A cursor over a model's slices, in the order they start. */
export class SliceWalk {
  /** The page being walked, longest first. */
  private page: readonly SequenceConfig[] = [];
  /** The id after which the page starts (undefined: the first page). */
  private pageAfter: string | undefined;
  /** The greatest id of the page: the next page starts after it. Undefined: no page after it. */
  private nextPageAfter: string | undefined;
  private index = 0;
  private nextRun = 1;

  constructor(
    private readonly source: SequenceSource,
    private readonly runs: number,
    private readonly runsPerSlice: number,
    private readonly pageSize: number = WALK_PAGE_SIZE,
  ) {
    if (runs >= 1) this.load(undefined);
  }

  /**
   * Moves the cursor to the slice of `at`, as a model's progress checkpoint names it; null: past
   * the end. A position the walk cannot find (a checkpoint written before pages were recorded in
   * it) leaves the cursor at the start, which is safe: only slower.
   */
  seek(at: WalkPosition | null): void {
    if (at === null) {
      this.page = [];
      this.nextPageAfter = undefined;
      return;
    }
    if (at.firstRun < 1 || at.firstRun > this.runs) return;
    if (at.pageAfter !== this.pageAfter) this.load(at.pageAfter);
    const index = this.page.findIndex((sequence) => sequence.id === at.sequence);
    if (index < 0) {
      if (this.pageAfter !== undefined) this.load(undefined);
      return;
    }
    this.index = index;
    this.nextRun = at.firstRun;
  }

  /** True once every slice was taken. */
  get done(): boolean {
    return this.index >= this.page.length;
  }

  /** The next slice, without taking it; undefined once done. */
  peek(): Slice | undefined {
    const sequence = this.page[this.index];
    if (sequence === undefined) return undefined;
    return {
      sequence,
      firstRun: this.nextRun,
      runs: Math.min(this.runsPerSlice, this.runs - this.nextRun + 1),
      pageAfter: this.pageAfter,
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
      if (this.index >= this.page.length && this.nextPageAfter !== undefined) this.load(this.nextPageAfter);
    }
    return slice;
  }

  /** Reads the page after `after`, sorted longest first, and puts the cursor at its start. */
  private load(after: string | undefined): void {
    const sequences = this.source(after, this.pageSize);
    // The next page starts after the page's greatest id; a short page is the last one.
    this.nextPageAfter = sequences.length < this.pageSize ? undefined : sequences.at(-1)?.id;
    // A stable sort: sequences of equal length keep their key order, so the walk is the same
    // every time the job runs.
    this.page = [...sequences].sort((a, b) => b.prompts.length - a.prompts.length);
    this.pageAfter = after;
    this.index = 0;
    this.nextRun = 1;
  }
}
