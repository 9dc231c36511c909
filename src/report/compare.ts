/**
 * `troupe compare`: what got better or worse between two jobs, per model and per
 * sequence — check pass rate, mean judge score, failed turns — matching models
 * and sequences by id; those in only one job are listed apart.
 */
import { renderTable } from '../results/text-table.js';
import type { JobRecord, TurnRecord } from '../store/records.js';

/** One figure in both jobs, and how it moved. */
export interface Change {
  readonly before: number | undefined;
  readonly after: number | undefined;
  /** after − before, when both exist. */
  readonly delta: number | undefined;
}

/** The scores of one model (or one model's sequence) in both jobs. */
export interface ScoreChange {
  readonly model: string;
  /** Absent for a whole model. */
  readonly sequence?: string;
  readonly passRate: Change;
  readonly judgeMean: Change;
  readonly failedTurns: Change;
  /** `better`, `worse`, `mixed` or `unchanged`: judge and pass rate up is better, failures up is worse. */
  readonly verdict: 'better' | 'worse' | 'mixed' | 'unchanged';
}

/** The comparison of job A (before) with job B (after). */
export interface Comparison {
  readonly before: string;
  readonly after: string;
  readonly models: readonly ScoreChange[];
  readonly sequences: readonly ScoreChange[];
  readonly onlyBefore: { readonly models: readonly string[]; readonly sequences: readonly string[] };
  readonly onlyAfter: { readonly models: readonly string[]; readonly sequences: readonly string[] };
}

interface Figures {
  readonly passRate: number | undefined;
  readonly judgeMean: number | undefined;
  readonly failedTurns: number;
}

function figuresOf(turns: readonly TurnRecord[]): Figures {
  let passed = 0;
  let ran = 0;
  const scores: number[] = [];
  for (const turn of turns) {
    for (const check of turn.checks ?? []) {
      if (check.passed === null) continue;
      ran += 1;
      if (check.passed) passed += 1;
    }
    if (typeof turn.judge?.score === 'number') scores.push(turn.judge.score);
  }
  return {
    passRate: ran === 0 ? undefined : passed / ran,
    judgeMean: scores.length === 0 ? undefined : scores.reduce((sum, s) => sum + s, 0) / scores.length,
    failedTurns: turns.filter((t) => t.status === 'failed').length,
  };
}

function change(before: number | undefined, after: number | undefined): Change {
  return { before, after, delta: before === undefined || after === undefined ? undefined : after - before };
}

/** Small differences (rounding of means) are not a change. */
const EPSILON = 1e-9;

function verdictOf(passRate: Change, judgeMean: Change, failed: Change): ScoreChange['verdict'] {
  const signs = [passRate.delta ?? 0, judgeMean.delta ?? 0, -(failed.delta ?? 0)]
    .filter((d) => Math.abs(d) > EPSILON)
    .map(Math.sign);
  if (signs.length === 0) return 'unchanged';
  if (signs.every((s) => s > 0)) return 'better';
  if (signs.every((s) => s < 0)) return 'worse';
  return 'mixed';
}

function scoreChange(
  model: string,
  sequence: string | undefined,
  a: readonly TurnRecord[],
  b: readonly TurnRecord[],
): ScoreChange {
  const before = figuresOf(a);
  const after = figuresOf(b);
  const passRate = change(before.passRate, after.passRate);
  const judgeMean = change(before.judgeMean, after.judgeMean);
  const failedTurns = change(before.failedTurns, after.failedTurns);
  return {
    model,
    ...(sequence === undefined ? {} : { sequence }),
    passRate,
    judgeMean,
    failedTurns,
    verdict: verdictOf(passRate, judgeMean, failedTurns),
  };
}

/** Compares job `a` (before) with job `b` (after). */
export function compareJobs(
  a: { readonly job: JobRecord; readonly turns: readonly TurnRecord[] },
  b: { readonly job: JobRecord; readonly turns: readonly TurnRecord[] },
): Comparison {
  const ids = (job: JobRecord) => ({
    models: job.suite.models.map((m) => m.id),
    sequences: job.suite.sequences.map((s) => s.id),
  });
  const idsA = ids(a.job);
  const idsB = ids(b.job);
  const models = idsA.models.filter((m) => idsB.models.includes(m));
  const sequences = idsA.sequences.filter((s) => idsB.sequences.includes(s));
  return {
    before: a.job.id,
    after: b.job.id,
    models: models.map((model) =>
      scoreChange(
        model,
        undefined,
        a.turns.filter((t) => t.model === model && sequences.includes(t.sequence)),
        b.turns.filter((t) => t.model === model && sequences.includes(t.sequence)),
      ),
    ),
    sequences: models.flatMap((model) =>
      sequences.map((sequence) =>
        scoreChange(
          model,
          sequence,
          a.turns.filter((t) => t.model === model && t.sequence === sequence),
          b.turns.filter((t) => t.model === model && t.sequence === sequence),
        ),
      ),
    ),
    onlyBefore: {
      models: idsA.models.filter((m) => !idsB.models.includes(m)),
      sequences: idsA.sequences.filter((s) => !idsB.sequences.includes(s)),
    },
    onlyAfter: {
      models: idsB.models.filter((m) => !idsA.models.includes(m)),
      sequences: idsB.sequences.filter((s) => !idsA.sequences.includes(s)),
    },
  };
}

const show = (c: Change, format: (n: number) => string): string =>
  `${c.before === undefined ? '–' : format(c.before)} → ${c.after === undefined ? '–' : format(c.after)}`;
const pct = (n: number): string => `${(n * 100).toFixed(1)} %`;
const score = (n: number): string => n.toFixed(2);

/** The comparison for a terminal: models, then the sequences that changed. */
export function formatComparison(comparison: Comparison): string {
  const columns = ['MODEL', 'SEQUENCE', 'CHECKS PASSED', 'JUDGE', 'FAILED', 'VERDICT'].map((header) => ({
    header,
  }));
  const row = (c: ScoreChange): string[] => [
    c.model,
    c.sequence ?? '(all)',
    show(c.passRate, pct),
    show(c.judgeMean, score),
    show(c.failedTurns, String),
    c.verdict,
  ];
  const changed = comparison.sequences.filter((c) => c.verdict !== 'unchanged');
  const lines = [
    `${comparison.before} → ${comparison.after}`,
    ...renderTable(columns, [...comparison.models.map(row), ...changed.map(row)]),
  ];
  if (changed.length === 0) lines.push('no sequence changed');
  const only = (label: string, side: Comparison['onlyBefore']) => {
    if (side.models.length > 0) lines.push(`models only in ${label}: ${side.models.join(', ')}`);
    if (side.sequences.length > 0) lines.push(`sequences only in ${label}: ${side.sequences.join(', ')}`);
  };
  only(comparison.before, comparison.onlyBefore);
  only(comparison.after, comparison.onlyAfter);
  return lines.join('\n');
}
