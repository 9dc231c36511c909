/** Per-model figures of a job's turns, and the table `troupe run` prints at the end. */
import type { TurnRecord } from '../store/records.js';
import { oneLine, renderTable } from './text-table.js';
import type { TextColumn } from './text-table.js';

/** The figures of one model. Latencies are over its `ok` turns; tokens over every turn that reported usage. */
export interface ModelSummary {
  readonly model: string;
  readonly ok: number;
  readonly failed: number;
  readonly skipped: number;
  /** Stored turns: ok + failed + skipped. */
  readonly total: number;
  /** Median latency in ms (nearest rank); null without an `ok` turn. */
  readonly latencyP50Ms: number | null;
  /** 95th percentile latency in ms (nearest rank); null without an `ok` turn. */
  readonly latencyP95Ms: number | null;
  readonly inputTokens: number;
  readonly outputTokens: number;
}

const MEDIAN = 50;
const TAIL = 95;
const PERCENT = 100;

/**
 * The nearest-rank percentile `p` (0 < p ≤ 100) of ascending `sorted` values: the smallest
 * value with at least p % of the values at or below it. Null for no values.
 */
export function nearestRank(sorted: readonly number[], p: number): number | null {
  if (sorted.length === 0) return null;
  const rank = Math.max(Math.ceil((p / PERCENT) * sorted.length), 1);
  return sorted[Math.min(rank, sorted.length) - 1] ?? null;
}

interface Tally {
  ok: number;
  failed: number;
  skipped: number;
  inputTokens: number;
  outputTokens: number;
  latencies: number[];
}

/**
 * Sums `turns` per model. Models come in the order of `models` (listed even without turns),
 * then any other model found, in order of first appearance.
 */
export function summarizeByModel(
  turns: Iterable<TurnRecord>,
  models: readonly string[] = [],
): ModelSummary[] {
  const tallies = new Map<string, Tally>();
  const tallyOf = (model: string): Tally => {
    let tally = tallies.get(model);
    if (!tally) {
      tally = { ok: 0, failed: 0, skipped: 0, inputTokens: 0, outputTokens: 0, latencies: [] };
      tallies.set(model, tally);
    }
    return tally;
  };
  for (const model of models) tallyOf(model);
  for (const turn of turns) {
    const tally = tallyOf(turn.model);
    tally[turn.status] += 1;
    if (turn.status === 'ok' && turn.latencyMs !== null) tally.latencies.push(turn.latencyMs);
    if (turn.usage) {
      tally.inputTokens += turn.usage.inputTokens;
      tally.outputTokens += turn.usage.outputTokens;
    }
  }
  return Array.from(tallies, ([model, tally]) => {
    const sorted = tally.latencies.sort((a, b) => a - b);
    return {
      model,
      ok: tally.ok,
      failed: tally.failed,
      skipped: tally.skipped,
      total: tally.ok + tally.failed + tally.skipped,
      latencyP50Ms: nearestRank(sorted, MEDIAN),
      latencyP95Ms: nearestRank(sorted, TAIL),
      inputTokens: tally.inputTokens,
      outputTokens: tally.outputTokens,
    };
  });
}

/** Model ids are cut in the table beyond this many code points. */
const MODEL_ID_CHARS = 40;

const SUMMARY_COLUMNS: readonly TextColumn[] = [
  { header: 'MODEL' },
  { header: 'OK', align: 'right' },
  { header: 'FAILED', align: 'right' },
  { header: 'SKIPPED', align: 'right' },
  { header: 'TOTAL', align: 'right' },
  { header: 'P50 MS', align: 'right' },
  { header: 'P95 MS', align: 'right' },
  { header: 'IN TOKENS', align: 'right' },
  { header: 'OUT TOKENS', align: 'right' },
];

/** The summary as an aligned table, one line per model after a header, without a final newline. */
export function formatSummaryTable(summary: readonly ModelSummary[]): string {
  const latency = (ms: number | null): string => (ms === null ? '-' : String(Math.round(ms)));
  const rows = summary.map((model) => [
    oneLine(model.model, MODEL_ID_CHARS),
    String(model.ok),
    String(model.failed),
    String(model.skipped),
    String(model.total),
    latency(model.latencyP50Ms),
    latency(model.latencyP95Ms),
    String(model.inputTokens),
    String(model.outputTokens),
  ]);
  return renderTable(SUMMARY_COLUMNS, rows).join('\n');
}
