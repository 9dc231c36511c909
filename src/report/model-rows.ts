/** The figures of one model in the report: turns, scores, latency, tokens and cost, in one row. */
import { summarizeByModel } from '../results/summary.js';
import type { ModelSummary } from '../results/summary.js';
import { summarizeScores } from '../scoring/statistics.js';
import type { ModelScores, ScoreSummary } from '../scoring/statistics.js';
import type { TurnRecord } from '../store/records.js';
import type { Suite, SuiteSettings } from '../suite/types.js';

/** Prices are per this many tokens. */
const TOKENS_PER_PRICE_UNIT = 1_000_000;

/** One model's row of the report. */
export interface ModelRow {
  readonly summary: ModelSummary;
  /** Its scores (`consistency` may be empty: a big job keeps only `runAgreement`, their mean). */
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
    const modelScores = scores.models.find((s) => s.model === summary.model);
    const agreement = meanOf(
      (modelScores?.consistency ?? [])
        .map((c) => c.checkAgreement)
        .filter((v): v is number => v !== undefined),
    );
    return modelRowOf(summary, modelScores, agreement, suite);
  });
  return { rows, scores };
}

/** One model's row from its figures: `runAgreement` is the mean over its sequences of their check agreement. */
export function modelRowOf(
  summary: ModelSummary,
  scores: ModelScores | undefined,
  runAgreement: number | undefined,
  suite: SuiteSettings,
): ModelRow {
  const prices = suite.models.find((m) => m.id === summary.model)?.pricePerMillionTokens;
  return {
    summary,
    scores,
    runAgreement,
    costUsd: prices
      ? (summary.inputTokens * prices.input + summary.outputTokens * prices.output) / TOKENS_PER_PRICE_UNIT
      : undefined,
  };
}

function meanOf(values: readonly number[]): number | undefined {
  return values.length === 0 ? undefined : values.reduce((sum, v) => sum + v, 0) / values.length;
}
