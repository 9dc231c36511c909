/** `troupe plan`'s table, and the one-line forecast shown beside a job's outcome. */
import { oneLine, renderTable } from '../results/text-table.js';
import type { TextColumn } from '../results/text-table.js';
import type { JobForecast, JudgeForecast, LimitName, ModelForecast } from './forecast-types.js';

/** Ids are cut in the table beyond this many code points. */
const ID_CHARS = 32;
const MS_PER_SECOND = 1_000;
const SECONDS_PER_MINUTE = 60;
const MINUTES_PER_HOUR = 60;
/** Costs below this show with more decimals. */
const SMALL_COST_USD = 1;

/** How a limit reads in a sentence. */
export const LIMIT_WORDS: Readonly<Record<LimitName, string>> = {
  conversation: 'longest conversation (turns × latency)',
  requestsPerMinute: 'requests per minute',
  tokensPerMinute: 'tokens per minute',
  concurrency: 'concurrency',
};

/** `850 ms`, `12.5 s`, `38 min`, `2 h 05 min`. */
export function formatWallTime(ms: number): string {
  if (ms < MS_PER_SECOND) return `${Math.round(ms)} ms`;
  const seconds = ms / MS_PER_SECOND;
  if (seconds < SECONDS_PER_MINUTE) return `${seconds.toFixed(1)} s`;
  const minutes = Math.ceil(seconds / SECONDS_PER_MINUTE);
  if (minutes < MINUTES_PER_HOUR) return `${minutes} min`;
  const hours = Math.floor(minutes / MINUTES_PER_HOUR);
  return `${hours} h ${String(minutes % MINUTES_PER_HOUR).padStart(2, '0')} min`;
}

/** `$0.0123`, `$12.35`. */
export function formatUsd(usd: number): string {
  return usd < SMALL_COST_USD ? `$${usd.toFixed(4)}` : `$${usd.toFixed(2)}`;
}

/** `12 345`. */
export function formatCount(n: number): string {
  return Math.round(n)
    .toString()
    .replace(/\B(?=(\d{3})+(?!\d))/g, ' ');
}

function answerCell(m: ModelForecast): string {
  return m.answerSource === 'history'
    ? `${m.answerTokens} (mean of ${formatCount(m.historyTurns)} earlier answers)`
    : `${m.answerTokens} (maxTokens: no earlier answer)`;
}

function judgeAnswerCell(j: JudgeForecast): string {
  return j.answerSource === 'history'
    ? `${j.answerTokens} (mean of ${formatCount(j.historyGrades)} earlier grades)`
    : `${j.answerTokens} (maxTokens: no earlier grade)`;
}

function latencyCell(m: ModelForecast): string {
  switch (m.latencySource) {
    case 'history':
      return `${formatWallTime(m.latencyMs)} (p50 of earlier jobs)`;
    case 'simulated':
      return `${formatWallTime(m.latencyMs)} (simulated)`;
    case 'default':
      return `${formatWallTime(m.latencyMs)} (default: no earlier job)`;
    default: {
      const unknown: never = m.latencySource;
      return String(unknown);
    }
  }
}

const MODEL_COLUMNS: readonly TextColumn[] = [
  { header: 'MODEL' },
  { header: 'PROVIDER' },
  { header: 'REQUESTS', align: 'right' },
  { header: 'INPUT TOKENS', align: 'right' },
  { header: 'OUTPUT TOKENS', align: 'right' },
  { header: 'COST', align: 'right' },
  { header: 'ANSWER TOKENS' },
  { header: 'LATENCY' },
];

const PROVIDER_COLUMNS: readonly TextColumn[] = [
  { header: 'PROVIDER' },
  { header: 'T·L', align: 'right' },
  { header: 'N/R', align: 'right' },
  { header: 'TOKENS/TPM', align: 'right' },
  { header: 'N·L/C', align: 'right' },
  { header: 'LEAST WALL TIME' },
];

/** The sentence naming what binds the job: `bound by claude's tokens per minute: ≥ 38 min`. */
export function bindingSentence(forecast: JobForecast): string {
  if (forecast.binding === undefined) return 'nothing to send';
  const { provider, limit } = forecast.binding;
  return `bound by ${provider}'s ${LIMIT_WORDS[limit]}: ≥ ${formatWallTime(forecast.boundMs)}`;
}

/** What a row of requests shows, a model's or the judge's. */
interface RequestFigures {
  readonly provider: string;
  readonly inputTokens: number;
  readonly outputTokens: number;
  readonly costUsd: number | null;
}

function requestRow(
  name: string,
  f: RequestFigures,
  requests: number,
  answer: string,
  latency: string,
): string[] {
  return [
    oneLine(name, ID_CHARS),
    oneLine(f.provider, ID_CHARS),
    formatCount(requests),
    formatCount(f.inputTokens),
    formatCount(f.outputTokens),
    f.costUsd === null ? '– (no prices)' : formatUsd(f.costUsd),
    answer,
    latency,
  ];
}

/** The forecast for a terminal. No final newline. */
export function formatForecast(forecast: JobForecast): string {
  const rows = forecast.models.map((m) => requestRow(m.model, m, m.turns, answerCell(m), latencyCell(m)));
  const judge = forecast.judge;
  if (judge !== null) {
    rows.push(
      requestRow(
        `${judge.model} (grading)`,
        judge,
        judge.calls,
        judgeAnswerCell(judge),
        `${formatWallTime(judge.latencyMs)} (the judge model's)`,
      ),
    );
  }
  const unpriced = [
    ...forecast.models.filter((m) => m.costUsd === null).map((m) => m.model),
    ...(judge !== null && judge.costUsd === null ? [`${judge.model} (grading)`] : []),
  ];
  const totalCost =
    forecast.costUsd === null
      ? '–'
      : `${formatUsd(forecast.costUsd)}${unpriced.length > 0 ? ` (without ${unpriced.join(', ')})` : ''}`;
  rows.push([
    'TOTAL',
    '',
    formatCount(forecast.turns + (judge?.calls ?? 0)),
    formatCount(forecast.inputTokens),
    formatCount(forecast.outputTokens),
    totalCost,
    '',
    '',
  ]);
  const term = (terms: JobForecast['providers'][number]['terms'], limit: LimitName): string => {
    const found = terms.find((t) => t.limit === limit);
    return found === undefined ? '–' : formatWallTime(found.ms);
  };
  const providerRows = forecast.providers.map((p) => [
    oneLine(p.provider, ID_CHARS),
    term(p.terms, 'conversation'),
    term(p.terms, 'requestsPerMinute'),
    term(p.terms, 'tokensPerMinute'),
    term(p.terms, 'concurrency'),
    `≥ ${formatWallTime(p.boundMs)}, by ${LIMIT_WORDS[p.binding]}`,
  ]);
  const lines = [...renderTable(MODEL_COLUMNS, rows), '', ...renderTable(PROVIDER_COLUMNS, providerRows), ''];
  if (forecast.reusedTurns > 0) {
    lines.push(
      `${formatCount(forecast.reusedTurns)} turn${forecast.reusedTurns === 1 ? '' : 's'} reused from earlier jobs: not sent, not counted above`,
    );
  }
  if (judge !== null) {
    lines.push(
      `grading: one call to ${judge.model} per answer, ${formatCount(judge.calls)} in all (a reply without a rating, asked again, is not counted)`,
    );
  }
  lines.push(`least wall time: ${bindingSentence(forecast)}`);
  lines.push('estimates only: nothing was sent');
  return lines.map((line) => line.trimEnd()).join('\n');
}

/** One line: the forecast's turns, tokens, cost and wall time, for beside what happened. */
export function forecastLine(forecast: JobForecast): string {
  const cost = forecast.costUsd === null ? '' : `, ${formatUsd(forecast.costUsd)}`;
  // Forecasts stored before the judge was foreseen have no `judge` field.
  const judged = forecast.judge ? ` + ${formatCount(forecast.judge.calls)} judge calls` : '';
  return (
    `forecast: ${formatCount(forecast.turns)} turns${judged}, ${formatCount(forecast.inputTokens)} input + ` +
    `${formatCount(forecast.outputTokens)} output tokens${cost}, ${bindingSentence(forecast)}`
  );
}
