import { renderTable } from '../results/text-table.js';
import type { ScoreSummary } from './statistics.js';

const percent = (value: number | undefined): string =>
  value === undefined ? '–' : `${(value * 100).toFixed(1)} %`;

/** The scores per model as a terminal table: check pass rate, judge mean ± 95 % interval, run consistency. */
export function formatScoreTable(summary: ScoreSummary): string {
  const columns = [
    { header: 'MODEL' },
    { header: 'CHECKS PASSED', align: 'right' as const },
    { header: 'CHECK ERRORS', align: 'right' as const },
    { header: 'JUDGE (95 % CI)', align: 'right' as const },
    { header: 'UNGRADED', align: 'right' as const },
    { header: 'RUNS AGREE', align: 'right' as const },
  ];
  const rows = summary.models.map((model) => {
    const judge = model.judge
      ? `${model.judge.mean.toFixed(2)}${model.judge.halfWidth === undefined ? '' : ` ± ${model.judge.halfWidth.toFixed(2)}`}`
      : '–';
    return [
      model.model,
      percent(model.passRate),
      String(model.checkErrors),
      judge,
      String(model.ungraded),
      percent(model.meanAgreement),
    ];
  });
  return renderTable(columns, rows).join('\n');
}
