/**
 * Whether a figure really changed between two jobs: the paired test of each figure, then one
 * correction for the number of figures tested (Bonferroni: each p-value × the number of tests,
 * each interval at 1 − 0.05 ÷ that number), and a verdict a person can read.
 *
 * Inputs are pairs, so a caller may stream them: binary outcomes are counted as they come
 * (`BinaryPairCounts`), and score differences are one number per sequence.
 */
import {
  ALPHA,
  mcnemarExactPValue,
  meanDifference,
  pairedProportionDifference,
  wilcoxonSignedRank,
} from './significance.js';

/** What a test concluded, after the correction. */
export type TestVerdict = 'better' | 'worse' | 'no significant difference';

/** Counts of paired binary outcomes (a check passed / a turn failed, in the job before and after). */
export interface BinaryPairCounts {
  /** Pairs compared. */
  n: number;
  /** True before, false after. */
  trueToFalse: number;
  /** False before, true after. */
  falseToTrue: number;
}

/** An empty tally of binary pairs. */
export function binaryPairCounts(): BinaryPairCounts {
  return { n: 0, trueToFalse: 0, falseToTrue: 0 };
}

/** Adds one pair to `counts`. */
export function addBinaryPair(counts: BinaryPairCounts, before: boolean, after: boolean): void {
  counts.n += 1;
  if (before && !after) counts.trueToFalse += 1;
  else if (!before && after) counts.falseToTrue += 1;
}

/** A test not yet corrected for the number of comparisons. */
export type PendingTest =
  | {
      readonly kind: 'mcnemar';
      readonly counts: BinaryPairCounts;
      /** True when more `true` outcomes is better (checks passed), false when worse (failed turns). */
      readonly higherIsBetter: boolean;
    }
  | { readonly kind: 'wilcoxon'; readonly differences: readonly number[] };

/** A paired test's result, corrected for the number of comparisons. */
export interface SignificanceTest {
  /** `mcnemar-exact` over pairs of outcomes, `wilcoxon-signed-rank` over per-sequence differences. */
  readonly method: 'mcnemar-exact' | 'wilcoxon-signed-rank';
  /** Pairs tested: checks or turns for McNemar, sequences for Wilcoxon. */
  readonly pairs: number;
  /** The test's own two-sided p-value. */
  readonly pValue: number;
  /** The p-value × the number of comparisons (Bonferroni), at most 1. */
  readonly adjustedPValue: number;
  /** How many tests the comparison made (the correction's divisor). */
  readonly comparisons: number;
  /** Confidence level of the interval: 1 − 0.05 ÷ comparisons. */
  readonly level: number;
  /**
   * The effect, after − before: the change of the proportion (0–1; pass rate or share of failed
   * turns) for McNemar, the mean change of the sequences' mean judge score for Wilcoxon.
   */
  readonly effect: number;
  /** The effect's confidence interval at `level` (Wald for proportions, Student's t for scores). */
  readonly low: number;
  readonly high: number;
  readonly verdict: TestVerdict;
}

/**
 * Whether `pending` has anything to test: a discordant pair at least (McNemar's test conditions
 * on them; without one its p-value is 1 whatever the data, and counting it in the correction
 * would only weaken the other tests), two sequences for scores.
 */
export function isTestable(pending: PendingTest): boolean {
  return pending.kind === 'mcnemar'
    ? pending.counts.trueToFalse + pending.counts.falseToTrue > 0
    : pending.differences.length >= 2;
}

/** Runs `pending` and corrects it for `comparisons` tests in all. */
export function finishTest(pending: PendingTest, comparisons: number): SignificanceTest {
  const level = 1 - ALPHA / comparisons;
  const corrected = (pValue: number): number => Math.min(1, pValue * comparisons);
  switch (pending.kind) {
    case 'mcnemar': {
      const { n, trueToFalse, falseToTrue } = pending.counts;
      const pValue = mcnemarExactPValue(trueToFalse, falseToTrue);
      const interval = pairedProportionDifference(trueToFalse, falseToTrue, n, level);
      const direction = pending.higherIsBetter ? interval.effect : -interval.effect;
      return {
        method: 'mcnemar-exact',
        pairs: n,
        pValue,
        adjustedPValue: corrected(pValue),
        comparisons,
        level,
        ...interval,
        verdict: verdictOf(corrected(pValue), direction),
      };
    }
    case 'wilcoxon': {
      const { pValue } = wilcoxonSignedRank(pending.differences);
      const interval = meanDifference(pending.differences, level);
      return {
        method: 'wilcoxon-signed-rank',
        pairs: pending.differences.length,
        pValue,
        adjustedPValue: corrected(pValue),
        comparisons,
        level,
        ...interval,
        verdict: verdictOf(corrected(pValue), interval.effect),
      };
    }
    default: {
      const unknown: never = pending;
      throw new Error(`unknown test ${String(unknown)}`);
    }
  }
}

function verdictOf(adjustedPValue: number, direction: number): TestVerdict {
  if (adjustedPValue >= ALPHA || direction === 0) return 'no significant difference';
  return direction > 0 ? 'better' : 'worse';
}

/**
 * Runs every testable test of `pending` with one Bonferroni correction over all of them; the
 * untestable ones give null, in place.
 */
export function finishTests(pending: readonly PendingTest[]): (SignificanceTest | null)[] {
  const comparisons = pending.filter(isTestable).length;
  return pending.map((p) => (isTestable(p) ? finishTest(p, comparisons) : null));
}
