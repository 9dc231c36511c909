/**
 * `troupe report`: one self-contained HTML file for a job. Inline CSS, inline SVG charts and a
 * small inline script; nothing is fetched when it is viewed (its Content-Security-Policy forbids
 * it), so it opens the same offline, from a mail, in years. The whole job is embedded as JSON.
 * Every text from a model or a suite is escaped: answers are untrusted input.
 */
import type { Comparison } from './compare.js';
import { comparisonSection } from './compare-html.js';
import { actualsOf, forecastBesideActual } from '../planning/outcome.js';
import { turnJson } from '../results/format.js';
import type { TurnJson } from '../results/format.js';
import { MAX_RATING } from '../scoring/judge-prompt.js';
import type { JobRecord } from '../store/records.js';
import { barChart, fixedAxis, niceAxis, pairedBarChart } from './charts.js';
import { sequenceView } from './conversations.js';
import { escapeHtml, fixed, jsonForScript, percent } from './html.js';
import { digestJob } from './job-digest.js';
import type { JobDigest } from './job-digest.js';
import { compareKeys, memoryJobReader } from './job-reader.js';
import type { JobReader, StoredJob } from './job-reader.js';
import type { ModelRow } from './model-rows.js';
import { REPORT_DATA_ID, REPORT_SCRIPT, REPORT_STYLE, contentSecurityPolicy } from './page-assets.js';
import type { ScoreSummary } from '../scoring/statistics.js';

export { escapeHtml, jsonForScript } from './html.js';
export { REPORT_DATA_ID } from './page-assets.js';

/** What the report embeds in its JSON block: the job as stored, and the turns of the sequences it shows (as `troupe results` prints them). */
export interface ReportData {
  readonly job: JobRecord;
  /** The turns of every sequence shown, in key order. */
  readonly turns: readonly TurnJson[];
  /** True when every sequence of the job is shown (and so every stored turn is here). */
  readonly complete: boolean;
}

/** Ticks of the judge axis (its scale is 1 to `MAX_RATING`). */
const JUDGE_TICKS = [0, 2, 4, 6, 8, 10].filter((t) => t <= MAX_RATING);
const PASS_RATE_TICKS = [0, 0.25, 0.5, 0.75, 1];

/** A job of at most this many sequences is shown whole (within `MAX_CONVERSATION_BYTES`). */
export const FULL_REPORT_SEQUENCES = 1000;

/**
 * Bytes of conversations (their HTML and their turns' JSON) a report holds at most: with the
 * aggregates, the page stays under 25 MB, whatever the job's size. Sequences past it are left out.
 */
export const MAX_CONVERSATION_BYTES = 20 * 1024 * 1024;

/**
 * The report of a job held in memory (its record, sequences and turns), as one HTML document;
 * with `comparison` (of a baseline with this job), a section of the paired tests too.
 */
export function renderReport(stored: StoredJob, comparison?: Comparison): string {
  return renderJobReport(memoryJobReader(stored), comparison);
}

/**
 * The report of a job read from the store, as one HTML document. The aggregates are over every
 * stored turn, read once in key order with memory bounded by one (model, sequence) at a time. A
 * job of at most `FULL_REPORT_SEQUENCES` sequences is shown whole; a bigger one shows in full the
 * sequences with a failed turn or check and those whose runs disagree most, and says how to get
 * the rest (`troupe results <job> --sequence <id>`). Conversations stop at
 * `MAX_CONVERSATION_BYTES` either way.
 */
export function renderJobReport(reader: JobReader, comparison?: Comparison, now = Date.now()): string {
  const { job } = reader;
  const suite = job.suite;
  const digest = digestJob(reader);
  const whole = job.sequences.count <= FULL_REPORT_SEQUENCES;
  const chosen = whole
    ? wholeJobOrder(reader)
    : [...digest.failing, ...digest.divergent.map((d) => d.sequence)].sort(compareKeys);
  const views: string[] = [];
  const turns: TurnJson[] = [];
  let bytes = 0;
  let shown = 0;
  let sequenceChecks = false;
  for (const id of chosen) {
    const sequence = reader.sequence(id);
    if (!sequence) continue;
    const own = suite.models.flatMap((model) => [...reader.turns(model.id, id)]);
    const view = sequenceView(suite, sequence, own);
    const json = own.map(turnJson);
    const size = view.length + JSON.stringify(json).length;
    if (bytes + size > MAX_CONVERSATION_BYTES && shown > 0) break;
    bytes += size;
    shown += 1;
    views.push(view);
    turns.push(...json);
    if (sequence.checks?.some((list) => list.length > 0)) sequenceChecks = true;
  }
  const complete = whole && shown === job.sequences.count;
  const scores: ScoreSummary = {
    models: digest.rows.flatMap((row) => (row.scores ? [row.scores] : [])),
    // What the suite asks for, or what the turns carry.
    hasChecks: digest.hasChecks || sequenceChecks,
    hasJudge: digest.hasJudge || suite.judge !== undefined,
  };
  const data: ReportData = { job, turns, complete };
  const body = [
    header(reader, digest, now),
    '<section id="scores"><h2>Models</h2>',
    modelTable(digest.rows, scores),
    scoreChart(digest.rows, scores),
    latencyChart(digest.rows),
    '</section>',
    comparison === undefined ? '' : comparisonSection(comparison),
    '<section id="sequences"><h2>Sequences</h2>',
    complete ? '' : partialNote(job, digest, shown, chosen.length),
    scoreNote(scores),
    filters(),
    ...views,
    '</section>',
  ];
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${contentSecurityPolicy()}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="troupe">
<title>troupe report · ${escapeHtml(suite.name)} · ${escapeHtml(job.id)}</title>
<style>${REPORT_STYLE}</style></head>
<body>
${body.join('\n')}
<script type="application/json" id="${REPORT_DATA_ID}">${jsonForScript(data)}</script>
<script>${REPORT_SCRIPT}</script>
</body></html>
`;
}

/** Every sequence id of a (small) job, in the suite's order. */
function wholeJobOrder(reader: JobReader): string[] {
  return [...reader.sequenceIds()]
    .map((id) => ({ id, index: reader.sequence(id)?.index ?? 0 }))
    .sort((a, b) => a.index - b.index)
    .map((entry) => entry.id);
}

function partialNote(job: JobRecord, digest: JobDigest, shown: number, chosen: number): string {
  const id = escapeHtml(job.id);
  const cut =
    shown < chosen
      ? ` Only ${shown} of those ${chosen} fit in the report's ${MAX_CONVERSATION_BYTES / 1024 / 1024} MB of conversations.`
      : '';
  return (
    `<p class="note" id="partial">This job has ${job.sequences.count} sequences: every figure above is over all of them, ` +
    `and below are in full the ${shown} that matter most: those with a failed turn or check ` +
    `(${digest.failingCount} (model, sequence) pairs have one; the first ${digest.failing.length} sequences in id order are shown) ` +
    `and the ${digest.divergent.length} whose runs disagree most.${cut} ` +
    `Get any other sequence with <code>troupe results ${id} --sequence &lt;id&gt;</code>, ` +
    `or every turn with <code>troupe results ${id} --format jsonl</code>.</p>`
  );
}

function header(reader: JobReader, digest: JobDigest, now: number): string {
  const { job } = reader;
  const suite = job.suite;
  const planned = suite.models.length * suite.runs * job.sequences.prompts;
  const { ok, failed, skipped } = digest.counts;
  const facts = [
    `job <code>${escapeHtml(job.id)}</code>`,
    `state ${escapeHtml(job.state)}`,
    `suite <code>${escapeHtml(job.suitePath)}</code>`,
    `created ${escapeHtml(job.createdAt)}`,
    `finished ${job.finishedAt ? escapeHtml(job.finishedAt) : '–'}`,
  ];
  const shape = `${suite.models.length} models × ${job.sequences.count} sequences × ${suite.runs} runs`;
  const judge = suite.judge ? ` · judged by <code>${escapeHtml(suite.judge.model)}</code>` : '';
  // Only a job with a forecast (at most a few thousand sequences) has one more pass over its turns.
  const forecast =
    job.forecast === undefined ? [] : forecastBesideActual(job, actualsOf(job, reader.turns(), now));
  return (
    `<header><h1>${escapeHtml(suite.name)}</h1><p class="facts">${facts.map((f) => `<span>${f}</span>`).join('')}</p>` +
    `<p>${ok + failed + skipped} of ${planned} turns recorded (${shape}): <b>${ok}</b> ok, <b>${failed}</b> failed, <b>${skipped}</b> skipped${judge}</p>` +
    forecast.map((line) => `<p class="forecast">${escapeHtml(line)}</p>`).join('') +
    '</header>'
  );
}

/** A column of the model table: its header, its cell, and whether the suite has what it shows. */
interface ModelColumn {
  readonly header: string;
  readonly cell: (row: ModelRow) => string | number;
  readonly shown?: (has: Present) => boolean;
}

/** What a job has to show. */
interface Present {
  readonly checks: boolean;
  readonly judge: boolean;
  readonly prices: boolean;
}

const hasChecks = (has: Present): boolean => has.checks;
const hasJudge = (has: Present): boolean => has.judge;

const MODEL_COLUMNS: readonly ModelColumn[] = [
  { header: 'ok', cell: (r) => r.summary.ok },
  { header: 'failed', cell: (r) => r.summary.failed },
  { header: 'skipped', cell: (r) => r.summary.skipped },
  { header: 'checks passed', cell: (r) => percent(r.scores?.passRate), shown: hasChecks },
  { header: 'check errors', cell: (r) => r.scores?.checkErrors ?? '–', shown: hasChecks },
  { header: 'runs agree', cell: (r) => percent(r.runAgreement), shown: hasChecks },
  {
    header: 'judge mean (95 % CI)',
    cell: ({ scores: s }) =>
      s?.judge
        ? `${s.judge.mean.toFixed(2)}${s.judge.halfWidth === undefined ? '' : ` ± ${s.judge.halfWidth.toFixed(2)}`} <span class="muted">(${s.judge.n} seq.)</span>`
        : '–',
    shown: hasJudge,
  },
  { header: 'ungraded', cell: (r) => r.scores?.ungraded ?? '–', shown: hasJudge },
  { header: 'p50 ms', cell: (r) => fixed(r.summary.latencyP50Ms, 0) },
  { header: 'p95 ms', cell: (r) => fixed(r.summary.latencyP95Ms, 0) },
  { header: 'tokens in', cell: (r) => r.summary.inputTokens },
  { header: 'tokens out', cell: (r) => r.summary.outputTokens },
  {
    header: 'est. cost',
    cell: (r) => (r.costUsd === undefined ? '–' : `$${r.costUsd.toFixed(4)}`),
    shown: (has) => has.prices,
  },
];

function modelTable(rows: readonly ModelRow[], scores: ScoreSummary): string {
  const has = {
    checks: scores.hasChecks,
    judge: scores.hasJudge,
    prices: rows.some((r) => r.costUsd !== undefined),
  };
  const columns = MODEL_COLUMNS.filter((c) => c.shown?.(has) ?? true);
  const headers = ['model', ...columns.map((c) => c.header)];
  const body = rows.map((row) => {
    const cells = columns.map((c) => `<td class="num">${c.cell(row)}</td>`).join('');
    return `<tr data-model="${escapeHtml(row.summary.model)}"><th scope="row">${escapeHtml(row.summary.model)}</th>${cells}</tr>`;
  });
  const notes = [
    scores.hasChecks ? '' : 'This suite has no checks.',
    scores.hasJudge ? '' : 'This suite has no judge.',
    has.prices ? '' : 'No model has prices (models[].pricePerMillionTokens): no cost.',
  ].filter((n) => n !== '');
  return (
    `<table id="models"><thead><tr>${headers.map((h) => `<th>${h}</th>`).join('')}</tr></thead><tbody>${body.join('')}</tbody></table>` +
    (notes.length > 0 ? `<p class="note">${notes.join(' ')}</p>` : '')
  );
}

function scoreChart(rows: readonly ModelRow[], scores: ScoreSummary): string {
  if (scores.hasJudge) {
    const bars = rows.map(({ summary, scores: s }) => {
      const judge = s?.judge;
      const half = judge?.halfWidth;
      return {
        label: summary.model,
        value: judge?.mean,
        ...(judge && half !== undefined ? { low: judge.mean - half, high: judge.mean + half } : {}),
        text: judge
          ? `${judge.mean.toFixed(2)}${half === undefined ? '' : ` ± ${half.toFixed(2)}`}`
          : 'no grades',
      };
    });
    return (
      '<h3>Mean judge score per model, with its 95 % confidence interval over sequences</h3>' +
      barChart(bars, fixedAxis(MAX_RATING, JUDGE_TICKS, String), 'Mean judge score per model')
    );
  }
  if (scores.hasChecks) {
    const bars = rows.map(({ summary, scores: s }) => ({
      label: summary.model,
      value: s?.passRate,
      text: s?.passRate === undefined ? 'no checks ran' : percent(s.passRate),
    }));
    return (
      '<h3>Checks passed per model</h3><p class="note">No judge in this suite: the chart shows the check pass rate.</p>' +
      barChart(
        bars,
        fixedAxis(1, PASS_RATE_TICKS, (v) => `${Math.round(v * 100)} %`),
        'Check pass rate per model',
      )
    );
  }
  return '<h3>Scores</h3><p class="note">This suite has no checks and no judge: there are no scores to chart.</p>';
}

function latencyChart(rows: readonly ModelRow[]): string {
  const max = Math.max(0, ...rows.map((r) => r.summary.latencyP95Ms ?? 0));
  const bars = rows.map(({ summary }) => ({
    label: summary.model,
    centre: summary.latencyP50Ms ?? undefined,
    tail: summary.latencyP95Ms ?? undefined,
    text:
      summary.latencyP50Ms === null
        ? 'no answers'
        : `p50 ${fixed(summary.latencyP50Ms, 0)} · p95 ${fixed(summary.latencyP95Ms, 0)} ms`,
  }));
  return (
    '<h3>Latency per model (answered turns)</h3>' +
    '<p class="legend"><span class="swatch centre"></span>p50<span class="swatch tail"></span>p95</p>' +
    pairedBarChart(
      bars,
      niceAxis(max, (v) => `${v} ms`),
      'Latency p50 and p95 per model, in ms',
    )
  );
}

function scoreNote(scores: ScoreSummary): string {
  if (scores.hasChecks && scores.hasJudge) return '';
  const missing = [scores.hasChecks ? '' : 'no checks', scores.hasJudge ? '' : 'no judge'].filter(Boolean);
  return `<p class="note">This suite has ${missing.join(' and ')}: the answers below carry ${scores.hasChecks || scores.hasJudge ? 'only what it has' : 'no scores'}.</p>`;
}

function filters(): string {
  return (
    '<div id="filters" hidden>' +
    '<label>model <select id="filter-model"><option value="">all</option></select></label>' +
    '<label>sequence <select id="filter-sequence"><option value="">all</option></select></label>' +
    '<label><input type="checkbox" id="filter-problems"> only failed turns or checks</label>' +
    '<button type="button" id="expand-all">expand all</button><button type="button" id="collapse-all">collapse all</button>' +
    '<span id="filter-count" class="muted"></span></div>'
  );
}
