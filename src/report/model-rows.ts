/** The figures of one model in the report: turns, scores, latency, tokens and cost, in one row. */
import { summarizeByModel } from '../results/summary.js';
import type { ModelSummary } from '../results/summary.js';
import { summarizeScores } from '../scoring/statistics.js';
import type { ModelScores, ScoreSummary } from '../scoring/statistics.js';
import type { TurnRecord } from '../store/records.js';
import type { Suite } from '../suite/types.js';

/** Prices are per this many tokens. */
const TOKENS_PER_PRICE_UNIT = 1_000_000;

/** One model's row of the report. */
export interface ModelRow {
  readonly summary: ModelSummary;
  readonly scores: ModelScores | undefined;
  /** Mean over the sequences of the share of checks that agree across runs (0–1); undefined without checks. */
  readonly runAgreement: number | undefined;
  /** Estimated cost in US dollars of the tokens the model reported; undefined without prices. */
  readonly costUsd: number | undefined;
}

/** The rows of every model of the suite, in its order, and the score summary they come from. */
export function modelRows(
  turns: readonly TurnRecord[],
  suite: Suite,
): { rows: ModelRow[]; scores: ScoreSummary } {
  const scores = summarizeScores(turns, suite);
  const summaries = summarizeByModel(
    turns,
    suite.models.map((m) => m.id),
  );
  const rows = summaries.map((summary) => {
    const prices = suite.models.find((m) => m.id === summary.model)?.pricePerMillionTokens;
    const modelScores = scores.models.find((s) => s.model === summary.model);
    return {
      summary,
      scores: modelScores,
      runAgreement: meanOf(
        (modelScores?.consistency ?? [])
          .map((c) => c.checkAgreement)
          .filter((v): v is number => v !== undefined),
      ),
      costUsd: prices
        ? (summary.inputTokens * prices.input + summary.outputTokens * prices.output) / TOKENS_PER_PRICE_UNIT
        : undefined,
    };
  });
  return { rows, scores };
}

function meanOf(values: readonly number[]): number | undefined {
  return values.length === 0 ? undefined : values.reduce((sum, v) => sum + v, 0) / values.length;
}
