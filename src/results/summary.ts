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

/**
 * The nearest-rank percentile `p` of the values counted in `histogram` (value → how many), as
 * `nearestRank` of the same values sorted. Null for no values.
 */
export function nearestRankOfCounts(
  histogram: ReadonlyMap<number, number>,
  total: number,
  p: number,
): number | null {
  if (total === 0) return null;
  const rank = Math.min(Math.max(Math.ceil((p / PERCENT) * total), 1), total);
  let seen = 0;
  for (const value of [...histogram.keys()].sort((x, y) => x - y)) {
    seen += histogram.get(value) ?? 0;
    if (seen >= rank) return value;
  }
  return null;
}

/** Latencies are counted in steps of 1 / this many ms (a finer one would not show in any output). */
const LATENCY_STEPS_PER_MS = 10;

interface Tally {
  ok: number;
  failed: number;
  skipped: number;
  inputTokens: number;
  outputTokens: number;
  /**
   * Latency (to 1 / `LATENCY_STEPS_PER_MS` ms) → answers that took it: exact percentiles in memory
   * bounded by the distinct latencies, not by the turns (a job of millions of turns).
   */
  latencies: Map<number, number>;
  answered: number;
}

/**
 * Per-model figures, added one turn at a time. Models come in the order given at construction
 * (listed even without turns), then any other model found, in order of first appearance.
 */
export class ModelSummaryTally {
  private readonly tallies = new Map<string, Tally>();

  constructor(models: readonly string[] = []) {
    for (const model of models) this.tallyOf(model);
  }

  /** Counts one turn. */
  add(turn: TurnRecord): void {
    const tally = this.tallyOf(turn.model);
    tally[turn.status] += 1;
    if (turn.status === 'ok' && turn.latencyMs !== null) {
      const latency = Math.round(turn.latencyMs * LATENCY_STEPS_PER_MS) / LATENCY_STEPS_PER_MS;
      tally.latencies.set(latency, (tally.latencies.get(latency) ?? 0) + 1);
      tally.answered += 1;
    }
    if (turn.usage) {
      tally.inputTokens += turn.usage.inputTokens;
      tally.outputTokens += turn.usage.outputTokens;
    }
  }

  /** The figures of every model so far. */
  summaries(): ModelSummary[] {
    return Array.from(this.tallies, ([model, tally]) => ({
      model,
      ok: tally.ok,
      failed: tally.failed,
      skipped: tally.skipped,
      total: tally.ok + tally.failed + tally.skipped,
      latencyP50Ms: nearestRankOfCounts(tally.latencies, tally.answered, MEDIAN),
      latencyP95Ms: nearestRankOfCounts(tally.latencies, tally.answered, TAIL),
      inputTokens: tally.inputTokens,
      outputTokens: tally.outputTokens,
    }));
  }

  private tallyOf(model: string): Tally {
    let tally = this.tallies.get(model);
    if (!tally) {
      tally = {
        ok: 0,
        failed: 0,
        skipped: 0,
        inputTokens: 0,
        outputTokens: 0,
        latencies: new Map(),
        answered: 0,
      };
      this.tallies.set(model, tally);
    }
    return tally;
  }
}

/**
 * Sums `turns` per model, streaming. Models come in the order of `models` (listed even without
 * turns), then any other model found, in order of first appearance.
 */
export function summarizeByModel(
  turns: Iterable<TurnRecord>,
  models: readonly string[] = [],
): ModelSummary[] {
  const tally = new ModelSummaryTally(models);
  for (const turn of turns) tally.add(turn);
  return tally.summaries();
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
