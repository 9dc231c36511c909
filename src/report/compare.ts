/**
 * `troupe compare`: what got better or worse between two jobs, per model and per (model,
 * sequence) — check pass rate, mean judge score, failed turns — matching models and sequences
 * by id; those found in only one job are listed apart. Pure: the command reads the store.
 */
import { oneLine, renderTable } from '../results/text-table.js';
import type { TextColumn } from '../results/text-table.js';
import {
  addBinaryPair,
  binaryPairCounts,
  finishTests,
  type BinaryPairCounts,
  type PendingTest,
  type SignificanceTest,
} from '../scoring/paired-comparison.js';
import { summarizeScores } from '../scoring/statistics.js';
import type { JobRecord, TurnRecord } from '../store/records.js';
import type { Suite } from '../suite/types.js';

/** One figure in both jobs, and how it moved (null where a job has no such figure). */
export interface Change {
  readonly before: number | null;
  readonly after: number | null;
  /** after − before, when both exist. */
  readonly delta: number | null;
  /**
   * For a whole model: whether the paired test found a difference at 95 % after the correction
   * for the number of tests (`test.verdict` is not `no significant difference`). Null for a
   * (model, sequence) row, and where nothing could be tested.
   */
  readonly significant: boolean | null;
  /**
   * For a whole model: the paired test of the figure over the (model, sequence, run) pairs of both
   * jobs — McNemar's exact test on each check's pass/fail (pass rate) or each turn's failure
   * (failed turns), Wilcoxon's signed-rank test on the sequences' mean judge scores. Null for a
   * (model, sequence) row, and where nothing could be tested (no pair; fewer than two sequences
   * graded in both jobs).
   */
  readonly test: SignificanceTest | null;
}

/**
 * How a model or a (model, sequence) moved overall. A (model, sequence) row only describes the
 * figures; a model's verdict comes from its tests: `better` or `worse` when a test says so (and
 * none says the opposite), `mixed` when tests disagree, `no significant difference` otherwise.
 */
export type Verdict = 'better' | 'worse' | 'mixed' | 'unchanged' | 'no significant difference';

/** The scores of one model (over the sequences both jobs have), or of one model on one sequence. */
export interface ScoreChange {
  readonly model: string;
  /** Absent for a whole model. */
  readonly sequence?: string;
  /** Checks passed ÷ checks run (checks that could not run excluded), 0–1. */
  readonly passRate: Change;
  /** Mean judge score (for a model: the mean of its sequences' means, as in `troupe report`). */
  readonly judgeMean: Change;
  /** Turns that failed for good. */
  readonly failedTurns: Change;
  /**
   * For a (model, sequence): `better` when every figure that moved moved the right way (pass
   * rate or judge up, failures down), `worse` when every one moved the wrong way, `mixed`
   * otherwise, `unchanged` when none moved. For a model: from its tests (see `Verdict`).
   */
  readonly verdict: Verdict;
}

/** Model and sequence ids found in one job only. */
export interface OnlyIn {
  readonly models: readonly string[];
  readonly sequences: readonly string[];
}

/** The comparison of job `before` with job `after`. */
export interface Comparison {
  readonly before: string;
  readonly after: string;
  /** One per model of both jobs, over the sequences of both jobs, in the after job's order. */
  readonly models: readonly ScoreChange[];
  /** One per (model, sequence) of both jobs. */
  readonly sequences: readonly ScoreChange[];
  readonly onlyBefore: OnlyIn;
  readonly onlyAfter: OnlyIn;
}

/** A job and its stored turns. */
export interface StoredJob {
  readonly job: JobRecord;
  readonly turns: readonly TurnRecord[];
}

/** Differences smaller than this (rounding of means) are no change. */
const EPSILON = 1e-9;

interface Figures {
  readonly passRate: number | null;
  readonly judgeMean: number | null;
  readonly failedTurns: number;
}

/** Turns grouped by model, then by sequence. */
function grouped(turns: readonly TurnRecord[]): Map<string, Map<string, TurnRecord[]>> {
  const byModel = new Map<string, Map<string, TurnRecord[]>>();
  for (const turn of turns) {
    let bySequence = byModel.get(turn.model);
    if (!bySequence) byModel.set(turn.model, (bySequence = new Map()));
    const list = bySequence.get(turn.sequence);
    if (list) list.push(turn);
    else bySequence.set(turn.sequence, [turn]);
  }
  return byModel;
}

function figuresOf(suite: Suite, model: string, sequences: readonly string[], turns: TurnRecord[]): Figures {
  const narrowed: Suite = {
    ...suite,
    models: suite.models.filter((m) => m.id === model),
    sequences: suite.sequences.filter((s) => sequences.includes(s.id)),
  };
  const scores = summarizeScores(turns, narrowed).models[0];
  return {
    passRate: scores?.passRate ?? null,
    judgeMean: scores?.judge?.mean ?? null,
    failedTurns: turns.filter((t) => t.status === 'failed').length,
  };
}

function change(before: number | null, after: number | null, test: SignificanceTest | null = null): Change {
  return {
    before,
    after,
    delta: before === null || after === null ? null : after - before,
    significant: test === null ? null : test.verdict !== 'no significant difference',
    test,
  };
}

/** The pairs of one model's turns in both jobs: checks' pass/fail and turns' failure. */
interface ModelPairs {
  readonly checks: BinaryPairCounts;
  readonly failures: BinaryPairCounts;
}

/** Pairs the turns of one (model, sequence) by (run, turn), and their checks by position. */
function addPairs(pairs: ModelPairs, before: readonly TurnRecord[], after: readonly TurnRecord[]): void {
  const earlier = new Map(before.map((t) => [`${t.run}/${t.turn}`, t]));
  for (const b of after) {
    const a = earlier.get(`${b.run}/${b.turn}`);
    if (a === undefined) continue;
    addBinaryPair(pairs.failures, a.status === 'failed', b.status === 'failed');
    const checksA = a.checks ?? [];
    (b.checks ?? []).forEach((check, index) => {
      const passedA = checksA[index]?.passed;
      if (check.passed !== null && passedA !== undefined && passedA !== null) {
        addBinaryPair(pairs.checks, passedA, check.passed);
      }
    });
  }
}

/** A model's verdict from its tests. */
function testedVerdict(tests: readonly (SignificanceTest | null)[]): Verdict {
  const said = new Set(tests.map((t) => t?.verdict ?? 'no significant difference'));
  if (said.has('better') && said.has('worse')) return 'mixed';
  if (said.has('better')) return 'better';
  if (said.has('worse')) return 'worse';
  return 'no significant difference';
}

function verdictOf(passRate: Change, judgeMean: Change, failedTurns: Change): Verdict {
  const signs = [passRate.delta ?? 0, judgeMean.delta ?? 0, -(failedTurns.delta ?? 0)]
    .filter((d) => Math.abs(d) > EPSILON)
    .map(Math.sign);
  if (signs.length === 0) return 'unchanged';
  if (signs.every((s) => s > 0)) return 'better';
  if (signs.every((s) => s < 0)) return 'worse';
  return 'mixed';
}

/** The change of `model` on one of its sequences, from figures `a` to `b`. */
function sequenceChange(model: string, sequence: string, a: Figures, b: Figures): ScoreChange {
  const passRate = change(a.passRate, b.passRate);
  const judgeMean = change(a.judgeMean, b.judgeMean);
  const failedTurns = change(a.failedTurns, b.failedTurns);
  return {
    model,
    sequence,
    passRate,
    judgeMean,
    failedTurns,
    verdict: verdictOf(passRate, judgeMean, failedTurns),
  };
}

/** Figures tested per model: pass rate, judge score, failed turns. */
const TESTS_PER_MODEL = 3;

/** The tests of one model before the correction, in the order pass rate, judge, failed turns. */
function pendingTests(pairs: ModelPairs, perSequence: readonly ScoreChange[]): PendingTest[] {
  return [
    { kind: 'mcnemar', counts: pairs.checks, higherIsBetter: true },
    {
      kind: 'wilcoxon',
      differences: perSequence.flatMap((c) => (c.judgeMean.delta === null ? [] : [c.judgeMean.delta])),
    },
    { kind: 'mcnemar', counts: pairs.failures, higherIsBetter: false },
  ];
}

/** Compares job `before` with job `after`. */
export function compareJobs(before: StoredJob, after: StoredJob): Comparison {
  const modelsA = before.job.suite.models.map((m) => m.id);
  const modelsB = after.job.suite.models.map((m) => m.id);
  const sequencesA = before.job.suite.sequences.map((s) => s.id);
  const sequencesB = after.job.suite.sequences.map((s) => s.id);
  const models = modelsB.filter((m) => modelsA.includes(m));
  const sequences = sequencesB.filter((s) => sequencesA.includes(s));
  const turnsA = grouped(before.turns);
  const turnsB = grouped(after.turns);
  const of = (
    job: StoredJob,
    turns: Map<string, Map<string, TurnRecord[]>>,
    model: string,
    only: readonly string[],
  ): Figures =>
    figuresOf(
      job.job.suite,
      model,
      only,
      only.flatMap((s) => turns.get(model)?.get(s) ?? []),
    );
  const perSequence = models.flatMap((model) =>
    sequences.map((sequence) =>
      sequenceChange(
        model,
        sequence,
        of(before, turnsA, model, [sequence]),
        of(after, turnsB, model, [sequence]),
      ),
    ),
  );
  const pending = models.flatMap((model) => {
    const pairs: ModelPairs = { checks: binaryPairCounts(), failures: binaryPairCounts() };
    for (const sequence of sequences) {
      addPairs(pairs, turnsA.get(model)?.get(sequence) ?? [], turnsB.get(model)?.get(sequence) ?? []);
    }
    return pendingTests(
      pairs,
      perSequence.filter((c) => c.model === model),
    );
  });
  // One correction over every test of the comparison.
  const tests = finishTests(pending);
  const testsOf = (index: number): (SignificanceTest | null)[] =>
    tests.slice(index * TESTS_PER_MODEL, (index + 1) * TESTS_PER_MODEL);
  return {
    before: before.job.id,
    after: after.job.id,
    models: models.map((model, index): ScoreChange => {
      const a = of(before, turnsA, model, sequences);
      const b = of(after, turnsB, model, sequences);
      const [passTest = null, judgeTest = null, failureTest = null] = testsOf(index);
      return {
        model,
        passRate: change(a.passRate, b.passRate, passTest),
        judgeMean: change(a.judgeMean, b.judgeMean, judgeTest),
        failedTurns: change(a.failedTurns, b.failedTurns, failureTest),
        verdict: testedVerdict([passTest, judgeTest, failureTest]),
      };
    }),
    sequences: perSequence,
    onlyBefore: {
      models: modelsA.filter((m) => !modelsB.includes(m)),
      sequences: sequencesA.filter((s) => !sequencesB.includes(s)),
    },
    onlyAfter: {
      models: modelsB.filter((m) => !modelsA.includes(m)),
      sequences: sequencesB.filter((s) => !sequencesA.includes(s)),
    },
  };
}

/** Ids are cut in the table beyond this many code points. */
const ID_CHARS = 40;

const COLUMNS: readonly TextColumn[] = [
  { header: 'MODEL' },
  { header: 'SEQUENCE' },
  { header: 'CHECKS PASSED', align: 'right' },
  { header: 'JUDGE', align: 'right' },
  { header: 'FAILED TURNS', align: 'right' },
  { header: 'VERDICT' },
];

const pct = (n: number): string => `${(n * 100).toFixed(1)} %`;
const score = (n: number): string => n.toFixed(2);
const signed = (n: number, format: (n: number) => string): string =>
  Math.abs(n) <= EPSILON ? '±0' : `${n > 0 ? '+' : '−'}${format(Math.abs(n))}`;

/** Marks a model's change that is significant at 95 % after the correction. */
const SIGNIFICANT_MARK = '*';

/** `before → after (+delta)`, `*` after a significant change; `–` stands for a figure a job does not have. */
function show(c: Change, format: (n: number) => string): string {
  const side = (n: number | null): string => (n === null ? '–' : format(n));
  const delta = c.delta === null ? '' : ` (${signed(c.delta, format)})`;
  return `${side(c.before)} → ${side(c.after)}${delta}${c.significant === true ? SIGNIFICANT_MARK : ''}`;
}

const TEST_COLUMNS: readonly TextColumn[] = [
  { header: 'MODEL' },
  { header: 'FIGURE' },
  { header: 'EFFECT [INTERVAL]', align: 'right' },
  { header: 'P (CORRECTED)', align: 'right' },
  { header: 'TEST' },
  { header: 'VERDICT' },
];

/** Percentage points, for a change of a proportion. */
const points = (n: number): string => `${(n * 100).toFixed(1)} pts`;

/** A p-value to three significant digits, or `< 0.0001`. */
function pValue(p: number): string {
  const SMALLEST_SHOWN = 1e-4;
  return p < SMALLEST_SHOWN ? '< 0.0001' : p.toPrecision(3);
}

/** `+17.5 pts [−2.1 pts, +37.1 pts]`. */
function effect(test: SignificanceTest, format: (n: number) => string): string {
  return `${signed(test.effect, format)} [${signed(test.low, format)}, ${signed(test.high, format)}]`;
}

function testRows(c: ScoreChange): string[][] {
  const rows: string[][] = [];
  const add = (figure: string, test: SignificanceTest | null, format: (n: number) => string): void => {
    if (test === null) return;
    const what =
      test.method === 'mcnemar-exact'
        ? `McNemar exact, ${test.pairs} pairs`
        : `Wilcoxon signed-rank, ${test.pairs} sequences`;
    rows.push([
      oneLine(c.model, ID_CHARS),
      figure,
      effect(test, format),
      pValue(test.adjustedPValue),
      what,
      test.verdict,
    ]);
  };
  add('check pass rate', c.passRate.test, points);
  add('judge score', c.judgeMean.test, score);
  add('failed turns (share)', c.failedTurns.test, points);
  return rows;
}

/**
 * The comparison for a terminal: a header line, one row per model, then one row per (model,
 * sequence) that changed, then each model's tests (effect, interval, corrected p-value, verdict),
 * then the ids found in one job only. No final newline.
 */
export function formatComparison(comparison: Comparison): string {
  const row = (c: ScoreChange): string[] => [
    oneLine(c.model, ID_CHARS),
    c.sequence === undefined ? '(all)' : oneLine(c.sequence, ID_CHARS),
    show(c.passRate, pct),
    show(c.judgeMean, score),
    show(c.failedTurns, String),
    c.verdict,
  ];
  const changed = comparison.sequences.filter((c) => c.verdict !== 'unchanged');
  const unchanged = comparison.sequences.length - changed.length;
  const lines = [
    `${comparison.before} → ${comparison.after}`,
    ...renderTable(COLUMNS, [...comparison.models.map(row), ...changed.map(row)]),
  ];
  if (comparison.models.length === 0) lines.push('no model in both jobs');
  if (unchanged > 0) {
    lines.push(
      changed.length === 0
        ? 'no sequence changed'
        : `${unchanged} (model, sequence) pair${unchanged === 1 ? '' : 's'} unchanged`,
    );
  }
  const tested = comparison.models.flatMap(testRows);
  const anyTest = comparison.models
    .flatMap((c) => [c.passRate.test, c.judgeMean.test, c.failedTurns.test])
    .find((t) => t !== null);
  if (anyTest !== undefined) {
    lines.push('', ...renderTable(TEST_COLUMNS, tested));
    lines.push(
      `${SIGNIFICANT_MARK} significant at 95 % after a correction for ${anyTest.comparisons} test` +
        `${anyTest.comparisons === 1 ? '' : 's'} (Bonferroni: p × ${anyTest.comparisons}; intervals at ` +
        `${(anyTest.level * 100).toFixed(1)} %)`,
    );
  } else if (comparison.models.length > 0) {
    lines.push('nothing to test: no check, turn or graded sequence in both jobs');
  }
  const only = (label: string, side: OnlyIn): void => {
    const list = (ids: readonly string[]): string => ids.map((id) => oneLine(id, ID_CHARS)).join(', ');
    if (side.models.length > 0) lines.push(`models only in ${label}: ${list(side.models)}`);
    if (side.sequences.length > 0) lines.push(`sequences only in ${label}: ${list(side.sequences)}`);
  };
  only(comparison.before, comparison.onlyBefore);
  only(comparison.after, comparison.onlyAfter);
  return lines.join('\n');
}
