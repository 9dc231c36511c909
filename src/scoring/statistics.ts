/**
 * What a job's scores say per model: how often its answers passed their checks,
 * its mean judge score with a 95 % confidence interval over sequences, and how
 * consistent its runs were (the reason runs exist).
 *
 * The interval treats sequences as the sample: each sequence's grades (all its
 * turns, all runs) are averaged first, so a long sequence or many runs do not
 * count as more independent evidence than they are; then mean ± t · s / √n over
 * those n sequence means, with Student's t at n − 1 degrees of freedom (two-sided
 * 95 %) from a table for 1–30 and the normal 1.96 beyond.
 */
import type { TurnRecord } from '../store/records.js';
import type { Suite } from '../suite/types.js';

/**
 * Two-sided 95 % critical values of Student's t for 1–30 degrees of freedom (t₀.₉₇₅,
 * the usual table); beyond 30 the normal value 1.96 is within 4 % of t.
 */
const T_95: readonly number[] = [
  12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.16, 2.145, 2.131,
  2.12, 2.11, 2.101, 2.093, 2.086, 2.08, 2.074, 2.069, 2.064, 2.06, 2.056, 2.052, 2.048, 2.045, 2.042,
];
const Z_95 = 1.96;

/** Runs a (turn, check) pair or a sequence's grades need before their agreement or spread means anything. */
const MIN_RUNS_COMPARED = 2;

/** The 95 % critical value of Student's t with `df` (≥ 1) degrees of freedom. */
export function tCritical95(df: number): number {
  return T_95[df - 1] ?? Z_95;
}

/** A mean with its 95 % confidence interval. */
export interface MeanWithInterval {
  readonly mean: number;
  /** Half-width of the interval: mean ± this. Undefined with fewer than two values. */
  readonly halfWidth: number | undefined;
  /** How many values the mean is over. */
  readonly n: number;
}

function mean(values: readonly number[]): number {
  return values.reduce((sum, v) => sum + v, 0) / values.length;
}

/** Sample standard deviation (n − 1 in the denominator); 0 for fewer than two values. */
function standardDeviation(values: readonly number[]): number {
  if (values.length < 2) return 0;
  const m = mean(values);
  return Math.sqrt(values.reduce((sum, v) => sum + (v - m) ** 2, 0) / (values.length - 1));
}

/** The mean of `values` with its 95 % t-interval; undefined for no values. */
export function meanWithInterval(values: readonly number[]): MeanWithInterval | undefined {
  const n = values.length;
  if (n === 0) return undefined;
  const m = mean(values);
  if (n < 2) return { mean: m, halfWidth: undefined, n };
  return { mean: m, halfWidth: (tCritical95(n - 1) * standardDeviation(values)) / Math.sqrt(n), n };
}

/** How consistent the runs of one sequence were, for one model. */
export interface SequenceConsistency {
  readonly sequence: string;
  /**
   * Fraction (0–1) of (turn, check) pairs whose pass/fail is the same in every run where the
   * check ran; pairs that ran in fewer than two runs are left out. Undefined when none is left.
   */
  readonly checkAgreement: number | undefined;
  /**
   * Spread of the run-level judge scores (each run's mean over its graded turns): max − min.
   * Undefined with fewer than two graded runs.
   */
  readonly judgeRange: number | undefined;
  /** Sample standard deviation of the same run-level means; undefined with fewer than two graded runs. */
  readonly judgeStdDev: number | undefined;
}

/** The scores of one model. */
export interface ModelScores {
  readonly model: string;
  /** Checks that ran and passed ÷ checks that ran (0–1; errors excluded); undefined when none ran. */
  readonly passRate: number | undefined;
  /** Checks that ran and passed. */
  readonly checksPassed: number;
  /** Checks that ran (passed or failed), over every answer of the model. */
  readonly checksRun: number;
  /** Checks that could not run (a script that threw, an unsupported schema): not in `passRate`. */
  readonly checkErrors: number;
  /** Mean judge score (1–10) over sequences (each sequence's mean over its turns and runs first), with its 95 % interval; undefined without grades. */
  readonly judge: MeanWithInterval | undefined;
  /** Answers the judge could not grade (unparsable or failed). */
  readonly ungraded: number;
  /** Consistency across runs, one entry per sequence of the suite, in its order. */
  readonly consistency: readonly SequenceConsistency[];
}

/** Scores of every model of a job, in the suite's order. */
export interface ScoreSummary {
  readonly models: readonly ModelScores[];
  /** True when some sequence of the suite has checks. */
  readonly hasChecks: boolean;
  /** True when the suite has a judge. */
  readonly hasJudge: boolean;
}

/** Summarizes the scores of a job's turns (turns of models or sequences the suite lacks are ignored). */
export function summarizeScores(turns: readonly TurnRecord[], suite: Suite): ScoreSummary {
  const hasChecks = suite.sequences.some((s) => s.checks?.some((list) => list.length > 0) ?? false);
  const hasJudge = suite.judge !== undefined;
  // Grouped once, model → sequence → turns, so a large job is not scanned once per sequence.
  const grouped = new Map<string, Map<string, TurnRecord[]>>();
  for (const turn of turns) {
    const bySequence = grouped.get(turn.model) ?? new Map<string, TurnRecord[]>();
    grouped.set(turn.model, bySequence);
    const list = bySequence.get(turn.sequence) ?? [];
    bySequence.set(turn.sequence, list);
    list.push(turn);
  }
  const models = suite.models.map((model) => scoresOf(model.id, grouped.get(model.id) ?? new Map(), suite));
  return { models, hasChecks, hasJudge };
}

function scoresOf(
  model: string,
  bySequence: ReadonlyMap<string, readonly TurnRecord[]>,
  suite: Suite,
): ModelScores {
  let checksPassed = 0;
  let checksRun = 0;
  let checkErrors = 0;
  let ungraded = 0;
  const sequenceMeans: number[] = [];
  const consistency: SequenceConsistency[] = [];
  for (const sequence of suite.sequences) {
    const own = bySequence.get(sequence.id) ?? [];
    for (const turn of own) {
      for (const check of turn.checks ?? []) {
        if (check.passed === null) checkErrors += 1;
        else {
          checksRun += 1;
          if (check.passed) checksPassed += 1;
        }
      }
      if (turn.judge !== undefined && turn.judge.score === null) ungraded += 1;
    }
    const scores = own.map((t) => t.judge?.score).filter((s): s is number => typeof s === 'number');
    if (scores.length > 0) sequenceMeans.push(mean(scores));
    consistency.push(consistencyOf(sequence.id, own));
  }
  return {
    model,
    passRate: checksRun === 0 ? undefined : checksPassed / checksRun,
    checksPassed,
    checksRun,
    checkErrors,
    judge: meanWithInterval(sequenceMeans),
    ungraded,
    consistency,
  };
}

function consistencyOf(sequence: string, turns: readonly TurnRecord[]): SequenceConsistency {
  // For each (turn, check index): the pass/fail of every run where the check ran.
  const outcomes = new Map<string, Map<number, boolean>>();
  const runScores = new Map<number, number[]>();
  for (const turn of turns) {
    (turn.checks ?? []).forEach((check, index) => {
      if (check.passed === null) return;
      const key = `${turn.turn}/${index}`;
      const byRun = outcomes.get(key) ?? new Map<number, boolean>();
      byRun.set(turn.run, check.passed);
      outcomes.set(key, byRun);
    });
    if (typeof turn.judge?.score === 'number') {
      const list = runScores.get(turn.run) ?? [];
      list.push(turn.judge.score);
      runScores.set(turn.run, list);
    }
  }
  // Agreement needs something to agree with: a pair seen in one run only says nothing.
  const compared = [...outcomes.values()].filter((byRun) => byRun.size >= MIN_RUNS_COMPARED);
  const agreeing = compared.filter((byRun) => new Set(byRun.values()).size === 1).length;
  const runMeans = [...runScores.values()].map(mean);
  const spread = runMeans.length >= MIN_RUNS_COMPARED;
  return {
    sequence,
    checkAgreement: compared.length === 0 ? undefined : agreeing / compared.length,
    judgeRange: spread ? Math.max(...runMeans) - Math.min(...runMeans) : undefined,
    judgeStdDev: spread ? standardDeviation(runMeans) : undefined,
  };
}
