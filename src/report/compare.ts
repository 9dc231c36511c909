/**
 * `troupe compare`: what got better or worse between two jobs, per model and per (model,
 * sequence) — check pass rate, mean judge score, failed turns — matching models and sequences
 * by id; those found in only one job are listed apart. Pure: the command reads the store.
 */
import { oneLine, renderTable } from '../results/text-table.js';
import type { TextColumn } from '../results/text-table.js';
import { pairedChangeIsSignificant, summarizeScores } from '../scoring/statistics.js';
import type { JobRecord, TurnRecord } from '../store/records.js';
import type { Suite } from '../suite/types.js';

/** One figure in both jobs, and how it moved (null where a job has no such figure). */
export interface Change {
  readonly before: number | null;
  readonly after: number | null;
  /** after − before, when both exist. */
  readonly delta: number | null;
  /**
   * For a whole model: whether the change differs from zero at 95 %, by a paired t-test over
   * the sequences both jobs have (each sequence's figure in both jobs is a pair). Null for a
   * (model, sequence) row, and when fewer than two sequences have the figure in both jobs.
   */
  readonly significant: boolean | null;
}

/** How a model or a (model, sequence) moved overall. */
export type Verdict = 'better' | 'worse' | 'mixed' | 'unchanged';

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
   * `better` when every figure that moved moved the right way (pass rate or judge up, failures
   * down), `worse` when every one moved the wrong way, `mixed` otherwise, `unchanged` when none moved.
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

function change(before: number | null, after: number | null, significant: boolean | null = null): Change {
  return { before, after, delta: before === null || after === null ? null : after - before, significant };
}

/** Whether a model's figure moved significantly, from the changes of its sequences. */
function significanceOver(sequences: readonly ScoreChange[], figure: keyof Figures): boolean | null {
  return pairedChangeIsSignificant(
    sequences.flatMap((c) => (c[figure].delta === null ? [] : [c[figure].delta])),
  );
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

/**
 * The change of `model` from figures `a` to `b`: of one of its sequences, or of the whole model,
 * given the changes of its sequences (`perSequence`), which the significance tests read.
 */
function scoreChange(
  model: string,
  sequence: string | undefined,
  a: Figures,
  b: Figures,
  perSequence: readonly ScoreChange[] = [],
): ScoreChange {
  const significance = (figure: keyof Figures): boolean | null =>
    sequence === undefined ? significanceOver(perSequence, figure) : null;
  const passRate = change(a.passRate, b.passRate, significance('passRate'));
  const judgeMean = change(a.judgeMean, b.judgeMean, significance('judgeMean'));
  const failedTurns = change(a.failedTurns, b.failedTurns, significance('failedTurns'));
  return {
    model,
    ...(sequence === undefined ? {} : { sequence }),
    passRate,
    judgeMean,
    failedTurns,
    verdict: verdictOf(passRate, judgeMean, failedTurns),
  };
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
      scoreChange(
        model,
        sequence,
        of(before, turnsA, model, [sequence]),
        of(after, turnsB, model, [sequence]),
      ),
    ),
  );
  return {
    before: before.job.id,
    after: after.job.id,
    models: models.map((model) =>
      scoreChange(
        model,
        undefined,
        of(before, turnsA, model, sequences),
        of(after, turnsB, model, sequences),
        perSequence.filter((c) => c.model === model),
      ),
    ),
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

/** Marks a model's change that is significant at 95 %. */
const SIGNIFICANT_MARK = '*';

/** `before → after (+delta)`, `*` after a significant change; `–` stands for a figure a job does not have. */
function show(c: Change, format: (n: number) => string): string {
  const side = (n: number | null): string => (n === null ? '–' : format(n));
  const delta = c.delta === null ? '' : ` (${signed(c.delta, format)})`;
  return `${side(c.before)} → ${side(c.after)}${delta}${c.significant === true ? SIGNIFICANT_MARK : ''}`;
}

/**
 * The comparison for a terminal: a header line, one row per model, then one row per (model,
 * sequence) that changed, then the ids found in one job only. No final newline.
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
  const figures = comparison.models.flatMap((c) => [c.passRate, c.judgeMean, c.failedTurns]);
  if (figures.some((c) => c.significant === true)) {
    lines.push(`${SIGNIFICANT_MARK} significant at 95 % (paired t-test over the sequences both jobs have)`);
  }
  if (unchanged > 0) {
    lines.push(
      changed.length === 0
        ? 'no sequence changed'
        : `${unchanged} (model, sequence) pair${unchanged === 1 ? '' : 's'} unchanged`,
    );
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
