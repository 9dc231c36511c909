/**
 * The comparison of a job with a baseline as a section of its HTML report (`troupe report <job>
 * --compare-to <baseline>`): per model, each figure before → after and its paired test (effect,
 * interval, corrected p-value, verdict), as `troupe compare` prints them.
 */
import type { SignificanceTest } from '../scoring/paired-comparison.js';
import type { Change, Comparison, ScoreChange } from './compare.js';
import { escapeHtml, fixed, percent } from './html.js';

/** How one figure reads in a cell. */
interface Figure {
  readonly label: string;
  readonly change: (c: ScoreChange) => Change;
  readonly value: (n: number | null) => string;
  readonly effect: (n: number) => string;
}

const points = (n: number): string => `${n >= 0 ? '+' : '−'}${Math.abs(n * 100).toFixed(1)} pts`;
const signedScore = (n: number): string => `${n >= 0 ? '+' : '−'}${Math.abs(n).toFixed(2)}`;

const FIGURES: readonly Figure[] = [
  { label: 'check pass rate', change: (c) => c.passRate, value: percent, effect: points },
  { label: 'judge score', change: (c) => c.judgeMean, value: (n) => fixed(n, 2), effect: signedScore },
  { label: 'failed turns', change: (c) => c.failedTurns, value: (n) => fixed(n, 0), effect: points },
];

function testCells(test: SignificanceTest | null, format: (n: number) => string): string {
  if (test === null) return '<td colspan="4" class="muted">not tested</td>';
  const method =
    test.method === 'mcnemar-exact'
      ? `McNemar exact, ${test.pairs} pairs`
      : `Wilcoxon signed-rank, ${test.pairs} sequences`;
  return (
    `<td>${escapeHtml(format(test.effect))} [${escapeHtml(format(test.low))}, ${escapeHtml(format(test.high))}]</td>` +
    `<td>${test.adjustedPValue.toPrecision(3)}</td><td>${escapeHtml(method)}</td>` +
    `<td class="verdict-${test.verdict.replaceAll(' ', '-')}"><b>${escapeHtml(test.verdict)}</b></td>`
  );
}

/** The `<section>` comparing the report's job (after) with `comparison.before`. */
export function comparisonSection(comparison: Comparison): string {
  const rows = comparison.models.flatMap((model) =>
    FIGURES.map((figure) => {
      const c = figure.change(model);
      return (
        `<tr><td>${escapeHtml(model.model)}</td><td>${figure.label}</td>` +
        `<td>${escapeHtml(figure.value(c.before))} → ${escapeHtml(figure.value(c.after))}</td>` +
        `${testCells(c.test, figure.effect)}</tr>`
      );
    }),
  );
  const anyTest = comparison.models
    .flatMap((m) => [m.passRate.test, m.judgeMean.test, m.failedTurns.test])
    .find((t) => t !== null);
  const note =
    anyTest === undefined
      ? 'Nothing could be tested: no check, turn or graded sequence in both jobs.'
      : `Paired by (model, sequence, run): McNemar's exact test on each check's pass/fail and on each turn's failure, ` +
        `Wilcoxon's signed-rank test on the sequences' mean judge scores. p-values are multiplied by the ` +
        `${anyTest.comparisons} tests made (Bonferroni) and intervals are at ${(anyTest.level * 100).toFixed(1)} %; ` +
        `"better" or "worse" only when the corrected p-value is below 0.05.`;
  return (
    `<section id="comparison"><h2>Compared with <code>${escapeHtml(comparison.before)}</code></h2>` +
    `<table><thead><tr><th>model</th><th>figure</th><th>before → after</th><th>effect [interval]</th>` +
    `<th>p (corrected)</th><th>test</th><th>verdict</th></tr></thead><tbody>${rows.join('')}</tbody></table>` +
    `<p class="note">${escapeHtml(note)}</p></section>`
  );
}
