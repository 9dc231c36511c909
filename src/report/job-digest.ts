/**
 * What a report needs from a whole job, read in one pass over its turns in key order with memory
 * bounded by one (model, sequence) at a time: per-model figures, and which sequences deserve to
 * be shown in full — those with a failed turn or check, and those whose runs disagree most.
 */
import { ModelSummaryTally } from '../results/summary.js';
import { MAX_RATING } from '../scoring/judge-prompt.js';
import { ModelScoreAccumulator } from '../scoring/statistics.js';
import type { ModelScores, SequenceConsistency } from '../scoring/statistics.js';
import type { TurnRecord, TurnStatus } from '../store/records.js';
import { compareKeys, groupBySequence } from './job-reader.js';
import type { JobReader } from './job-reader.js';
import { modelRowOf } from './model-rows.js';
import type { ModelRow } from './model-rows.js';

/** Sequences with a failed turn or check shown in full at most, the first in key order. */
export const MAX_FAILING_SEQUENCES_SHOWN = 200;

/** Sequences whose runs disagree most shown in full at most. */
export const MAX_DIVERGENT_SEQUENCES_SHOWN = 100;

/** What one pass over a job's turns found. */
export interface JobDigest {
  /** One row per model of the suite, in its order, then any other model found. */
  readonly rows: readonly ModelRow[];
  /** Some turn carries checks / a grade. */
  readonly hasChecks: boolean;
  readonly hasJudge: boolean;
  /** Stored turns by status. */
  readonly counts: Readonly<Record<TurnStatus, number>>;
  /** (model, sequence) pairs with a failed turn or a failed check, all counted. */
  readonly failingCount: number;
  /** The first `MAX_FAILING_SEQUENCES_SHOWN` of them, in key order. */
  readonly failing: readonly string[];
  /** The `MAX_DIVERGENT_SEQUENCES_SHOWN` sequences whose runs disagree most (not failing), most divergent first. */
  readonly divergent: readonly { readonly sequence: string; readonly divergence: number }[];
}

const hasFailedCheck = (turn: TurnRecord): boolean => turn.checks?.some((c) => c.passed === false) ?? false;

/**
 * How much the runs of a sequence disagree, from 0 (they agree, or cannot be compared) to 1:
 * the share of its (turn, check) pairs whose runs disagree, or the spread of its runs' mean judge
 * scores over the judge's scale, whichever is larger.
 */
export function divergenceOf(consistency: SequenceConsistency): number {
  const checks = consistency.checkAgreement === undefined ? 0 : 1 - consistency.checkAgreement;
  const judge = consistency.judgeRange === undefined ? 0 : consistency.judgeRange / (MAX_RATING - 1);
  return Math.max(checks, judge);
}

/** Reads every turn of `reader`'s job once and digests it. */
export function digestJob(reader: JobReader): JobDigest {
  const suite = reader.job.suite;
  const summaries = new ModelSummaryTally(suite.models.map((m) => m.id));
  const scores = new Map<string, ModelScoreAccumulator>();
  const counts: Record<TurnStatus, number> = { ok: 0, failed: 0, skipped: 0 };
  let hasChecks = false;
  let hasJudge = false;
  const failing = new Set<string>();
  let failingCount = 0;
  const divergent = new TopDivergent(MAX_DIVERGENT_SEQUENCES_SHOWN);
  for (const group of groupBySequence(reader.turns())) {
    let failed = false;
    for (const turn of group.turns) {
      summaries.add(turn);
      counts[turn.status] += 1;
      if ((turn.checks?.length ?? 0) > 0) hasChecks = true;
      if (turn.judge !== undefined) hasJudge = true;
      if (turn.status === 'failed' || hasFailedCheck(turn)) failed = true;
    }
    let accumulator = scores.get(group.model);
    if (!accumulator) scores.set(group.model, (accumulator = new ModelScoreAccumulator(group.model, false)));
    const consistency = accumulator.addSequence(group.sequence, group.turns);
    if (failed) {
      failingCount += 1;
      if (failing.size < MAX_FAILING_SEQUENCES_SHOWN) failing.add(group.sequence);
    }
    if (!failed) divergent.offer(group.sequence, divergenceOf(consistency));
  }
  const rows = summaries.summaries().map((summary) => {
    const accumulator = scores.get(summary.model);
    const modelScores: ModelScores | undefined = accumulator?.result();
    return modelRowOf(summary, modelScores, accumulator?.meanAgreement, suite);
  });
  return {
    rows,
    hasChecks,
    hasJudge,
    counts,
    failingCount,
    failing: [...failing].sort(compareKeys),
    divergent: divergent.sorted().filter((entry) => !failing.has(entry.sequence)),
  };
}

/** The `size` sequences of highest divergence (above 0) offered, each once with its highest. */
class TopDivergent {
  private readonly best = new Map<string, number>();
  private floor = 0;

  constructor(private readonly size: number) {}

  offer(sequence: string, divergence: number): void {
    if (divergence <= 0) return;
    const known = this.best.get(sequence);
    if (known !== undefined) {
      if (divergence > known) this.best.set(sequence, divergence);
      return;
    }
    if (this.best.size >= this.size && divergence <= this.floor) return;
    this.best.set(sequence, divergence);
    if (this.best.size > this.size) {
      // Drop the lowest (rare once the set is full: only a sequence above the floor gets here).
      let lowest: string | undefined;
      for (const [id, value] of this.best) {
        if (lowest === undefined || value < (this.best.get(lowest) ?? Infinity)) lowest = id;
      }
      if (lowest !== undefined) this.best.delete(lowest);
    }
    if (this.best.size >= this.size) this.floor = Math.min(...this.best.values());
  }

  sorted(): { sequence: string; divergence: number }[] {
    return [...this.best]
      .map(([sequence, divergence]) => ({ sequence, divergence }))
      .sort((a, b) => b.divergence - a.divergence || compareKeys(a.sequence, b.sequence));
  }
}
