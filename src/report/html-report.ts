/**
 * `troupe report`: one self-contained HTML file for a job — inline CSS and SVG, no
 * script or font from anywhere, so it opens the same offline, in a mail, in years.
 * Every text from a model is escaped: answers are untrusted input.
 */
import { summarizeByModel } from '../results/summary.js';
import type { ModelSummary } from '../results/summary.js';
import { summarizeScores } from '../scoring/statistics.js';
import type { ModelScores } from '../scoring/statistics.js';
import type { JobRecord, TurnRecord } from '../store/records.js';

/** Width and bar height of the SVG charts, in px. */
const CHART_WIDTH = 560;
const BAR_HEIGHT = 22;
const LABEL_WIDTH = 140;
/** The judge's scale. */
const MAX_SCORE = 10;

/** Escapes text for HTML content and attribute values. */
export function escapeHtml(text: string): string {
  return text
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;')
    .replaceAll("'", '&#39;');
}

const percent = (value: number | undefined): string =>
  value === undefined ? '–' : `${(value * 100).toFixed(1)} %`;

/** The report of `job` from its stored `turns`. */
export function renderReport(job: JobRecord, turns: readonly TurnRecord[]): string {
  const suite = job.suite;
  const summaries = summarizeByModel(
    turns,
    suite.models.map((m) => m.id),
  );
  const scores = summarizeScores(turns, suite);
  const ok = turns.filter((t) => t.status === 'ok').length;
  const failed = turns.filter((t) => t.status === 'failed').length;
  const skipped = turns.filter((t) => t.status === 'skipped').length;
  const body = [
    `<header><h1>${escapeHtml(suite.name)}</h1>`,
    `<p>job <code>${escapeHtml(job.id)}</code> · ${escapeHtml(job.state)} · created ${escapeHtml(job.createdAt)}${job.finishedAt ? ` · finished ${escapeHtml(job.finishedAt)}` : ''}</p>`,
    `<p>${turns.length} turns recorded: ${ok} ok, ${failed} failed, ${skipped} skipped</p></header>`,
    '<section><h2>Models</h2>',
    modelTable(job, summaries, scores.models),
    scores.hasJudge
      ? `<h3>Mean judge score (95 % interval over sequences)</h3>${judgeChart(scores.models)}`
      : scores.hasChecks
        ? `<h3>Checks passed</h3>${passRateChart(scores.models)}`
        : '<p class="note">This suite has no checks and no judge: no scores.</p>',
    `<h3>Latency (p50 and p95)</h3>${latencyChart(summaries)}`,
    '</section>',
    '<section><h2>Sequences</h2>',
    ...suite.sequences.map((sequence) => sequenceView(job, sequence.id, turns)),
    '</section>',
  ];
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>troupe report · ${escapeHtml(suite.name)} · ${escapeHtml(job.id)}</title>
<style>${STYLE}</style></head>
<body>${body.join('\n')}</body></html>
`;
}

function modelTable(
  job: JobRecord,
  summaries: readonly ModelSummary[],
  scores: readonly ModelScores[],
): string {
  const rows = summaries.map((summary) => {
    const score = scores.find((s) => s.model === summary.model);
    const model = job.suite.models.find((m) => m.id === summary.model);
    const prices = model?.pricePerMillionTokens;
    const cost = prices
      ? `$${((summary.inputTokens * prices.input + summary.outputTokens * prices.output) / 1_000_000).toFixed(4)}`
      : '–';
    const judge = score?.judge
      ? `${score.judge.mean.toFixed(2)}${score.judge.halfWidth === undefined ? '' : ` ± ${score.judge.halfWidth.toFixed(2)}`}`
      : '–';
    return `<tr><th>${escapeHtml(summary.model)}</th><td>${summary.ok}</td><td>${summary.failed}</td><td>${summary.skipped}</td><td>${percent(score?.passRate)}</td><td>${judge}</td><td>${summary.latencyP50Ms ?? '–'}</td><td>${summary.latencyP95Ms ?? '–'}</td><td>${summary.inputTokens}</td><td>${summary.outputTokens}</td><td>${cost}</td></tr>`;
  });
  return `<table><thead><tr><th>model</th><th>ok</th><th>failed</th><th>skipped</th><th>checks passed</th><th>judge</th><th>p50 ms</th><th>p95 ms</th><th>tokens in</th><th>tokens out</th><th>est. cost</th></tr></thead><tbody>${rows.join('')}</tbody></table>`;
}

/** Horizontal bars, one per model, with an optional whisker (the interval). */
function barChart(
  bars: readonly { label: string; value: number; whisker?: number; text: string }[],
  max: number,
): string {
  const plot = CHART_WIDTH - LABEL_WIDTH - 80;
  const x = (value: number): number => LABEL_WIDTH + (Math.max(0, Math.min(value, max)) / max) * plot;
  const rows = bars.map((bar, index) => {
    const y = index * (BAR_HEIGHT + 8) + 4;
    const whisker =
      bar.whisker === undefined
        ? ''
        : `<line class="whisker" x1="${x(bar.value - bar.whisker)}" x2="${x(bar.value + bar.whisker)}" y1="${y + BAR_HEIGHT / 2}" y2="${y + BAR_HEIGHT / 2}"/>`;
    return `<text x="0" y="${y + BAR_HEIGHT * 0.7}">${escapeHtml(bar.label)}</text><rect x="${LABEL_WIDTH}" y="${y}" width="${x(bar.value) - LABEL_WIDTH}" height="${BAR_HEIGHT}"/>${whisker}<text x="${x(bar.value) + 6}" y="${y + BAR_HEIGHT * 0.7}">${escapeHtml(bar.text)}</text>`;
  });
  const height = bars.length * (BAR_HEIGHT + 8) + 8;
  return `<svg class="chart" width="${CHART_WIDTH}" height="${height}" viewBox="0 0 ${CHART_WIDTH} ${height}" role="img">${rows.join('')}</svg>`;
}

function judgeChart(scores: readonly ModelScores[]): string {
  return barChart(
    scores.map((s) => ({
      label: s.model,
      value: s.judge?.mean ?? 0,
      whisker: s.judge?.halfWidth,
      text: s.judge ? s.judge.mean.toFixed(2) : 'no grades',
    })),
    MAX_SCORE,
  );
}

function passRateChart(scores: readonly ModelScores[]): string {
  return barChart(
    scores.map((s) => ({ label: s.model, value: s.passRate ?? 0, text: percent(s.passRate) })),
    1,
  );
}

function latencyChart(summaries: readonly ModelSummary[]): string {
  const max = Math.max(1, ...summaries.map((s) => s.latencyP95Ms ?? 0));
  return barChart(
    summaries.flatMap((s) => [
      { label: `${s.model} p50`, value: s.latencyP50Ms ?? 0, text: `${s.latencyP50Ms ?? '–'} ms` },
      { label: `${s.model} p95`, value: s.latencyP95Ms ?? 0, text: `${s.latencyP95Ms ?? '–'} ms` },
    ]),
    max,
  );
}

/** One sequence: per turn, every model's and run's answer side by side, failed checks marked. */
function sequenceView(job: JobRecord, sequenceId: string, turns: readonly TurnRecord[]): string {
  const sequence = job.suite.sequences.find((s) => s.id === sequenceId);
  if (!sequence) return '';
  const own = turns.filter((t) => t.sequence === sequenceId);
  const columns = job.suite.models.flatMap((model) =>
    Array.from({ length: job.suite.runs }, (_, i) => ({ model: model.id, run: i + 1 })),
  );
  const header = columns.map((c) => `<th>${escapeHtml(c.model)} · run ${c.run}</th>`).join('');
  const rows = sequence.prompts.map((prompt, index) => {
    const cells = columns.map(({ model, run }) => {
      const turn = own.find((t) => t.model === model && t.run === run && t.turn === index + 1);
      return `<td>${turn ? turnCell(turn) : '<span class="missing">not recorded</span>'}</td>`;
    });
    return `<tr><th class="prompt">${index + 1}. ${escapeHtml(prompt)}</th>${cells.join('')}</tr>`;
  });
  const failedChecks = own.filter((t) => t.checks?.some((c) => c.passed === false)).length;
  const summary = `${escapeHtml(sequence.id)} — ${sequence.prompts.length} prompts${failedChecks > 0 ? `, ${failedChecks} answers with failed checks` : ''}`;
  return `<details class="sequence" data-sequence="${escapeHtml(sequence.id)}"><summary>${summary}</summary><div class="scroll"><table class="conversation"><thead><tr><th>prompt</th>${header}</tr></thead><tbody>${rows.join('')}</tbody></table></div></details>`;
}

function turnCell(turn: TurnRecord): string {
  if (turn.status !== 'ok') {
    return `<div class="${turn.status}">${escapeHtml(turn.status)}${turn.error ? `: ${escapeHtml(turn.error.message)}` : ''}</div>`;
  }
  const checks = (turn.checks ?? [])
    .map(
      (c) =>
        `<li class="${c.passed === null ? 'error' : c.passed ? 'pass' : 'fail'}">${escapeHtml(c.kind)}: ${escapeHtml(c.reason)}</li>`,
    )
    .join('');
  const judge = turn.judge
    ? `<details class="judge"><summary>judge: ${turn.judge.score ?? escapeHtml(turn.judge.status)}</summary><pre>${escapeHtml(turn.judge.explanation)}</pre></details>`
    : '';
  return `<pre class="answer">${escapeHtml(turn.response ?? '')}</pre>${checks ? `<ul class="checks">${checks}</ul>` : ''}${judge}`;
}

const STYLE = `
body{font:14px/1.45 system-ui,sans-serif;margin:2rem;color:#1d2330;background:#fff}
h1{margin:0 0 .3rem}h2{margin-top:2rem;border-bottom:1px solid #ccd}code{font-size:13px}
table{border-collapse:collapse;margin:.5rem 0}th,td{border:1px solid #dde;padding:.3rem .5rem;vertical-align:top;text-align:left}
thead th{background:#f3f4f8}.note{color:#667}
.chart text{font-size:12px;fill:#1d2330}.chart rect{fill:#5b7bd5}.chart .whisker{stroke:#1d2330;stroke-width:2}
.sequence{margin:.4rem 0}.sequence>summary{cursor:pointer;font-weight:600}.scroll{overflow-x:auto}
.conversation td{min-width:16rem;max-width:28rem}.prompt{max-width:18rem;font-weight:500}
pre{white-space:pre-wrap;word-break:break-word;margin:0;font:12px/1.4 ui-monospace,monospace}
.checks{margin:.3rem 0 0;padding-left:1.1rem;font-size:12px}.pass{color:#1f7a3a}.fail{color:#b3261e;font-weight:600}.error{color:#a05a00}
.failed{color:#b3261e}.skipped,.missing{color:#889}.judge summary{cursor:pointer;font-size:12px;color:#445}
`;
