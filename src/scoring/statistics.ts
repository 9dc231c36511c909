/**
 * What a job's scores say per model: how often its answers passed their checks,
 * its mean judge score with a 95 % confidence interval over sequences, and how
 * consistent its runs were (the reason runs exist).
 */
import type { TurnRecord } from '../store/records.js';
import type { Suite } from '../suite/types.js';

/**
 * Two-sided 95 % critical values of Student's t for 1–30 degrees of freedom;
 * beyond 30 the normal value 1.96 is close enough.
 */
const T_95: readonly number[] = [
  12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.16, 2.145, 2.131,
  2.12, 2.11, 2.101, 2.093, 2.086, 2.08, 2.074, 2.069, 2.064, 2.06, 2.056, 2.052, 2.048, 2.045, 2.042,
];
const Z_95 = 1.96;

/** The 95 % critical value of Student's t with `df` degrees of freedom. */
export function tCritical95(df: number): number {
  return T_95[df - 1] ?? Z_95;
}

/** A mean with its 95 % confidence interval (absent with fewer than two values). */
export interface MeanWithInterval {
  readonly mean: number;
  /** Half-width of the interval: mean ± this. */
  readonly halfWidth: number | undefined;
  /** How many values the mean is over. */
  readonly n: number;
}

/** The t-interval of the mean of `values`; undefined for no values. */
export function meanWithInterval(values: readonly number[]): MeanWithInterval | undefined {
  const n = values.length;
  if (n === 0) return undefined;
  const mean = values.reduce((sum, v) => sum + v, 0) / n;
  if (n < 2) return { mean, halfWidth: undefined, n };
  const variance = values.reduce((sum, v) => sum + (v - mean) ** 2, 0) / (n - 1);
  return { mean, halfWidth: (tCritical95(n - 1) * Math.sqrt(variance)) / Math.sqrt(n), n };
}

/** Sample standard deviation; 0 for fewer than two values. */
function standardDeviation(values: readonly number[]): number {
  if (values.length < 2) return 0;
  const mean = values.reduce((sum, v) => sum + v, 0) / values.length;
  return Math.sqrt(values.reduce((sum, v) => sum + (v - mean) ** 2, 0) / (values.length - 1));
}

/** How consistent the runs of one sequence were, for one model. */
export interface SequenceConsistency {
  readonly sequence: string;
  /** Fraction of (turn, check) pairs whose pass/fail is the same in every run; undefined without checks. */
  readonly checkAgreement: number | undefined;
  /** Spread of the runs' mean judge scores: max − min and standard deviation; undefined without grades. */
  readonly judgeRange: number | undefined;
  readonly judgeStdDev: number | undefined;
}

/** The scores of one model. */
export interface ModelScores {
  readonly model: string;
  /** Checks that ran and passed ÷ checks that ran (errors excluded); undefined when none ran. */
  readonly passRate: number | undefined;
  readonly checksRun: number;
  /** Checks that could not run (a script that threw, an unsupported schema). */
  readonly checkErrors: number;
  /** Mean judge score over sequences (each sequence's mean over its turns and runs first), with its 95 % interval. */
  readonly judge: MeanWithInterval | undefined;
  /** Answers the judge could not grade (unparsable or failed). */
  readonly ungraded: number;
  readonly consistency: readonly SequenceConsistency[];
}

/** Scores of every model of a job, in the suite's order. */
export interface ScoreSummary {
  readonly models: readonly ModelScores[];
  /** True when the suite has checks anywhere, or a judge. */
  readonly hasChecks: boolean;
  readonly hasJudge: boolean;
}

/** Summarizes the scores of a job's turns. */
export function summarizeScores(turns: readonly TurnRecord[], suite: Suite): ScoreSummary {
  const hasChecks = suite.sequences.some((s) => s.checks?.some((list) => list.length > 0) ?? false);
  const hasJudge = suite.judge !== undefined;
  const models = suite.models.map((model) =>
    scoresOf(
      model.id,
      turns.filter((t) => t.model === model.id),
      suite,
    ),
  );
  return { models, hasChecks, hasJudge };
}

function scoresOf(model: string, turns: readonly TurnRecord[], suite: Suite): ModelScores {
  let passed = 0;
  let checksRun = 0;
  let checkErrors = 0;
  let ungraded = 0;
  for (const turn of turns) {
    for (const check of turn.checks ?? []) {
      if (check.passed === null) checkErrors += 1;
      else {
        checksRun += 1;
        if (check.passed) passed += 1;
      }
    }
    if (turn.judge && turn.judge.score === null) ungraded += 1;
  }
  const sequenceMeans: number[] = [];
  const consistency: SequenceConsistency[] = [];
  for (const sequence of suite.sequences) {
    const own = turns.filter((t) => t.sequence === sequence.id);
    const scores = own.map((t) => t.judge?.score).filter((s): s is number => typeof s === 'number');
    if (scores.length > 0) sequenceMeans.push(scores.reduce((sum, s) => sum + s, 0) / scores.length);
    consistency.push(consistencyOf(sequence.id, own));
  }
  return {
    model,
    passRate: checksRun === 0 ? undefined : passed / checksRun,
    checksRun,
    checkErrors,
    judge: meanWithInterval(sequenceMeans),
    ungraded,
    consistency,
  };
}

function consistencyOf(sequence: string, turns: readonly TurnRecord[]): SequenceConsistency {
  // Check agreement: for each (turn, check index), the set of pass/fail outcomes over the runs.
  const outcomes = new Map<string, Set<boolean>>();
  const runScores = new Map<number, number[]>();
  for (const turn of turns) {
    (turn.checks ?? []).forEach((check, index) => {
      if (check.passed === null) return;
      const key = `${turn.turn}/${index}`;
      const seen = outcomes.get(key) ?? new Set<boolean>();
      seen.add(check.passed);
      outcomes.set(key, seen);
    });
    if (typeof turn.judge?.score === 'number') {
      const list = runScores.get(turn.run) ?? [];
      list.push(turn.judge.score);
      runScores.set(turn.run, list);
    }
  }
  const pairs = [...outcomes.values()];
  const runMeans = [...runScores.values()].map(
    (scores) => scores.reduce((sum, s) => sum + s, 0) / scores.length,
  );
  return {
    sequence,
    checkAgreement:
      pairs.length === 0 ? undefined : pairs.filter((seen) => seen.size === 1).length / pairs.length,
    judgeRange: runMeans.length === 0 ? undefined : Math.max(...runMeans) - Math.min(...runMeans),
    judgeStdDev: runMeans.length === 0 ? undefined : standardDeviation(runMeans),
  };
}
