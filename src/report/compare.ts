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
import type { TurnRecord } from '../store/records.js';
import { memoryJobReader, mergeIds, pairedSequences } from './job-reader.js';
import type { JobReader, StoredJob } from './job-reader.js';

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
  /** The first `MAX_LISTED_ONLY_IDS` sequence ids, in key order. */
  readonly sequences: readonly string[];
  /** Sequence ids beyond those listed. */
  readonly moreSequences: number;
}

/** The comparison of job `before` with job `after`. */
export interface Comparison {
  readonly before: string;
  readonly after: string;
  /** One per model of both jobs, over the sequences of both jobs, in the after job's order. */
  readonly models: readonly ScoreChange[];
  /**
   * One per (model, sequence) of both jobs when there are at most `MAX_LISTED_SEQUENCE_ROWS`;
   * beyond, only those that changed, the first `MAX_LISTED_SEQUENCE_ROWS` of them in key order
   * (`sequenceCounts` says how many there are).
   */
  readonly sequences: readonly ScoreChange[];
  /** The (model, sequence) pairs of both jobs: compared, changed, and listed in `sequences`. */
  readonly sequenceCounts: { readonly compared: number; readonly changed: number; readonly listed: number };
  readonly onlyBefore: OnlyIn;
  readonly onlyAfter: OnlyIn;
}

/** (model, sequence) rows a comparison lists at most; a bigger comparison lists its changed ones up to this. */
export const MAX_LISTED_SEQUENCE_ROWS = 1000;

/** Sequence ids listed at most as found in one job only (the rest are counted). */
export const MAX_LISTED_ONLY_IDS = 1000;

export type { StoredJob } from './job-reader.js';

/** Differences smaller than this (rounding of means) are no change. */
const EPSILON = 1e-9;

interface Figures {
  readonly passRate: number | null;
  readonly judgeMean: number | null;
  readonly failedTurns: number;
}

/** Sums of one model's or one (model, sequence)'s turns, from which its figures follow. */
interface Tally {
  checksPassed: number;
  checksRun: number;
  failedTurns: number;
  /** Sum and count of the judged sequences' means (a model), or of the grades (a sequence). */
  judgeSum: number;
  judged: number;
}

const emptyTally = (): Tally => ({ checksPassed: 0, checksRun: 0, failedTurns: 0, judgeSum: 0, judged: 0 });

/** The figures of one (model, sequence) from its turns, as `troupe report` computes them. */
function tallyOf(turns: readonly TurnRecord[]): Tally {
  const tally = emptyTally();
  for (const turn of turns) {
    if (turn.status === 'failed') tally.failedTurns += 1;
    for (const check of turn.checks ?? []) {
      if (check.passed === null) continue;
      tally.checksRun += 1;
      if (check.passed) tally.checksPassed += 1;
    }
    if (typeof turn.judge?.score === 'number') {
      tally.judgeSum += turn.judge.score;
      tally.judged += 1;
    }
  }
  return tally;
}

/** Adds a sequence's tally into its model's (the judge: one mean per judged sequence). */
function addSequence(model: Tally, sequence: Tally): void {
  model.checksPassed += sequence.checksPassed;
  model.checksRun += sequence.checksRun;
  model.failedTurns += sequence.failedTurns;
  if (sequence.judged > 0) {
    model.judgeSum += sequence.judgeSum / sequence.judged;
    model.judged += 1;
  }
}

function figuresOf(tally: Tally): Figures {
  return {
    passRate: tally.checksRun === 0 ? null : tally.checksPassed / tally.checksRun,
    judgeMean: tally.judged === 0 ? null : tally.judgeSum / tally.judged,
    failedTurns: tally.failedTurns,
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
function pendingTests(pairs: ModelPairs, judgeDifferences: readonly number[]): PendingTest[] {
  return [
    { kind: 'mcnemar', counts: pairs.checks, higherIsBetter: true },
    { kind: 'wilcoxon', differences: judgeDifferences },
    { kind: 'mcnemar', counts: pairs.failures, higherIsBetter: false },
  ];
}

/** Compares job `before` with job `after`, both in memory. */
export function compareJobs(before: StoredJob, after: StoredJob): Comparison {
  return compareJobReaders(memoryJobReader(before), memoryJobReader(after));
}

/** Model and sequence ids found in one job only, the sequences listed up to `MAX_LISTED_ONLY_IDS`. */
interface OnlyList {
  readonly models: string[];
  readonly sequences: string[];
  moreSequences: number;
}

/**
 * Compares job `before` with job `after`, read in key order: per model, a merge-join of both
 * jobs' turns by sequence holds one (model, sequence) of each job at a time, and each model keeps
 * counters and one judge difference per sequence; memory does not grow with the turns.
 */
export function compareJobReaders(before: JobReader, after: JobReader): Comparison {
  const modelsA = before.job.suite.models.map((m) => m.id);
  const modelsB = after.job.suite.models.map((m) => m.id);
  const models = modelsB.filter((m) => modelsA.includes(m));
  const onlyBefore: OnlyList = {
    models: modelsA.filter((m) => !modelsB.includes(m)),
    sequences: [],
    moreSequences: 0,
  };
  const onlyAfter: OnlyList = {
    models: modelsB.filter((m) => !modelsA.includes(m)),
    sequences: [],
    moreSequences: 0,
  };
  const listOnly = (side: OnlyList, id: string): void => {
    if (side.sequences.length < MAX_LISTED_ONLY_IDS) side.sequences.push(id);
    else side.moreSequences += 1;
  };
  for (const { id, in: where } of mergeIds(before.sequenceIds(), after.sequenceIds())) {
    if (where === 'first') listOnly(onlyBefore, id);
    else if (where === 'second') listOnly(onlyAfter, id);
  }
  const common = function* (): Generator<string, void, undefined> {
    for (const { id, in: where } of mergeIds(before.sequenceIds(), after.sequenceIds())) {
      if (where === 'both') yield id;
    }
  };

  let rows: ScoreChange[] = [];
  let compared = 0;
  let changed = 0;
  const pending: PendingTest[] = [];
  const totals: { a: Tally; b: Tally }[] = [];
  for (const model of models) {
    const pairs: ModelPairs = { checks: binaryPairCounts(), failures: binaryPairCounts() };
    const judgeDifferences: number[] = [];
    const a = emptyTally();
    const b = emptyTally();
    for (const paired of pairedSequences(model, common(), before.turns(model), after.turns(model))) {
      const tallyA = tallyOf(paired.before);
      const tallyB = tallyOf(paired.after);
      addSequence(a, tallyA);
      addSequence(b, tallyB);
      addPairs(pairs, paired.before, paired.after);
      const row = sequenceChange(model, paired.sequence, figuresOf(tallyA), figuresOf(tallyB));
      if (row.judgeMean.delta !== null) judgeDifferences.push(row.judgeMean.delta);
      compared += 1;
      if (row.verdict !== 'unchanged') changed += 1;
      if (compared <= MAX_LISTED_SEQUENCE_ROWS) rows.push(row);
      else {
        // Past the cap, only the changed rows are kept, and only up to the cap.
        if (compared === MAX_LISTED_SEQUENCE_ROWS + 1) rows = rows.filter((r) => r.verdict !== 'unchanged');
        if (row.verdict !== 'unchanged' && rows.length < MAX_LISTED_SEQUENCE_ROWS) rows.push(row);
      }
    }
    totals.push({ a, b });
    pending.push(...pendingTests(pairs, judgeDifferences));
  }
  // One correction over every test of the comparison.
  const tests = finishTests(pending);
  const testsOf = (index: number): (SignificanceTest | null)[] =>
    tests.slice(index * TESTS_PER_MODEL, (index + 1) * TESTS_PER_MODEL);
  return {
    before: before.job.id,
    after: after.job.id,
    models: models.map((model, index): ScoreChange => {
      const total = totals[index] ?? { a: emptyTally(), b: emptyTally() };
      const a = figuresOf(total.a);
      const b = figuresOf(total.b);
      const [passTest = null, judgeTest = null, failureTest = null] = testsOf(index);
      return {
        model,
        passRate: change(a.passRate, b.passRate, passTest),
        judgeMean: change(a.judgeMean, b.judgeMean, judgeTest),
        failedTurns: change(a.failedTurns, b.failedTurns, failureTest),
        verdict: testedVerdict([passTest, judgeTest, failureTest]),
      };
    }),
    sequences: rows,
    sequenceCounts: { compared, changed, listed: rows.length },
    onlyBefore,
    onlyAfter,
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

/**
 * `before → after (+delta)`, `*` after a significant change; `–` stands for a figure a job does not
 * have. The delta has its own format: a change of a rate is in percentage points, not percent.
 */
function show(c: Change, format: (n: number) => string, deltaFormat = format): string {
  const side = (n: number | null): string => (n === null ? '–' : format(n));
  const delta = c.delta === null ? '' : ` (${signed(c.delta, deltaFormat)})`;
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
    show(c.passRate, pct, points),
    show(c.judgeMean, score),
    show(c.failedTurns, String),
    c.verdict,
  ];
  const changed = comparison.sequences.filter((c) => c.verdict !== 'unchanged');
  const counts = comparison.sequenceCounts;
  const unchanged = counts.compared - counts.changed;
  const lines = [
    `${comparison.before} → ${comparison.after}`,
    ...renderTable(COLUMNS, [...comparison.models.map(row), ...changed.map(row)]),
  ];
  if (comparison.models.length === 0) lines.push('no model in both jobs');
  if (unchanged > 0) {
    lines.push(
      counts.changed === 0
        ? 'no sequence changed'
        : `${unchanged} (model, sequence) pair${unchanged === 1 ? '' : 's'} unchanged`,
    );
  }
  if (counts.changed > changed.length) {
    lines.push(
      `${counts.changed - changed.length} more changed (model, sequence) pairs not listed (the first ${changed.length} in key order are)`,
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
    const more = side.moreSequences > 0 ? ` and ${side.moreSequences} more` : '';
    if (side.sequences.length > 0) lines.push(`sequences only in ${label}: ${list(side.sequences)}${more}`);
  };
  only(comparison.before, comparison.onlyBefore);
  only(comparison.after, comparison.onlyAfter);
  return lines.join('\n');
}
