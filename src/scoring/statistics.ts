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
  /** Consistency across runs, one entry per sequence of the suite, in its order (empty unless kept). */
  readonly consistency: readonly SequenceConsistency[];
  /** Mean over the sequences of their check agreement across runs; undefined when none had any. */
  readonly meanAgreement: number | undefined;
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
  const models = suite.models.map((model) => {
    const scores = new ModelScoreAccumulator(model.id, true);
    const bySequence = grouped.get(model.id);
    for (const sequence of suite.sequences)
      scores.addSequence(sequence.id, bySequence?.get(sequence.id) ?? []);
    return scores.result();
  });
  return { models, hasChecks, hasJudge };
}

/**
 * The scores of one model, added one sequence at a time (its turns of every run), so a job of a
 * million sequences is summarized in constant memory: counters, and the judge's sequence means
 * folded into a running mean and variance (Welford). With `keepConsistency`, each sequence's
 * consistency is kept too (one entry per sequence); without it, only their mean agreement.
 */
export class ModelScoreAccumulator {
  private checksPassed = 0;
  private checksRun = 0;
  private checkErrors = 0;
  private ungraded = 0;
  private judged = 0;
  private judgeMean = 0;
  private judgeM2 = 0;
  private agreementSum = 0;
  private agreements = 0;
  private readonly consistency: SequenceConsistency[] = [];

  constructor(
    readonly model: string,
    private readonly keepConsistency: boolean,
  ) {}

  /** Adds one sequence's turns (all of this model's runs); returns its consistency across runs. */
  addSequence(sequence: string, turns: readonly TurnRecord[]): SequenceConsistency {
    let gradeSum = 0;
    let grades = 0;
    for (const turn of turns) {
      for (const check of turn.checks ?? []) {
        if (check.passed === null) this.checkErrors += 1;
        else {
          this.checksRun += 1;
          if (check.passed) this.checksPassed += 1;
        }
      }
      if (turn.judge !== undefined && turn.judge.score === null) this.ungraded += 1;
      if (typeof turn.judge?.score === 'number') {
        gradeSum += turn.judge.score;
        grades += 1;
      }
    }
    if (grades > 0) {
      const value = gradeSum / grades;
      this.judged += 1;
      const delta = value - this.judgeMean;
      this.judgeMean += delta / this.judged;
      this.judgeM2 += delta * (value - this.judgeMean);
    }
    const consistency = consistencyOf(sequence, turns);
    if (consistency.checkAgreement !== undefined) {
      this.agreementSum += consistency.checkAgreement;
      this.agreements += 1;
    }
    if (this.keepConsistency) this.consistency.push(consistency);
    return consistency;
  }

  /** Mean over the sequences of their check agreement across runs; undefined when none had any. */
  get meanAgreement(): number | undefined {
    return this.agreements === 0 ? undefined : this.agreementSum / this.agreements;
  }

  /** The model's scores so far (`consistency` is empty unless kept). */
  result(): ModelScores {
    const n = this.judged;
    const sd = n < 2 ? 0 : Math.sqrt(this.judgeM2 / (n - 1));
    return {
      model: this.model,
      passRate: this.checksRun === 0 ? undefined : this.checksPassed / this.checksRun,
      checksPassed: this.checksPassed,
      checksRun: this.checksRun,
      checkErrors: this.checkErrors,
      judge:
        n === 0
          ? undefined
          : {
              mean: this.judgeMean,
              halfWidth: n < 2 ? undefined : (tCritical95(n - 1) * sd) / Math.sqrt(n),
              n,
            },
      ungraded: this.ungraded,
      consistency: [...this.consistency],
      meanAgreement: this.meanAgreement,
    };
  }
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
