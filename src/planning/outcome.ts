/** A job's forecast beside what happened, for the summary of `troupe run`, `status` and `report`. */
import type { JobRecord, TurnRecord } from '../store/records.js';
import { forecastLine, formatCount, formatUsd, formatWallTime } from './format.js';

/** What a job really did so far. */
export interface JobActuals {
  /** Turns recorded (ok, failed or skipped). */
  readonly turns: number;
  /** Tokens the provider reported; undefined where not counted (`troupe status` reads counts only). */
  readonly inputTokens?: number;
  readonly outputTokens?: number;
  /** Cost of the priced models' reported usage; null when no model has prices, undefined where not counted. */
  readonly costUsd?: number | null;
  /** From the job's creation to its end (or to `now` while it runs), in ms. */
  readonly wallMs: number;
}

const TOKENS_PER_MILLION = 1_000_000;

/** From the job's creation to its end, or to `now` while it runs, in ms. */
export function wallTimeOf(job: JobRecord, now: number): number {
  const end = job.finishedAt === null ? now : Date.parse(job.finishedAt);
  return Math.max(0, end - Date.parse(job.createdAt));
}

/** Sums the job's recorded `turns`. */
export function actualsOf(job: JobRecord, turns: Iterable<TurnRecord>, now: number): JobActuals {
  const prices = new Map(job.suite.models.map((m) => [m.id, m.pricePerMillionTokens]));
  const priced = job.suite.models.some((m) => m.pricePerMillionTokens !== undefined);
  let count = 0;
  let inputTokens = 0;
  let outputTokens = 0;
  let cost = 0;
  for (const turn of turns) {
    count += 1;
    if (turn.usage === null) continue;
    inputTokens += turn.usage.inputTokens;
    outputTokens += turn.usage.outputTokens;
    const price = prices.get(turn.model);
    if (price !== undefined) {
      cost +=
        (turn.usage.inputTokens * price.input + turn.usage.outputTokens * price.output) / TOKENS_PER_MILLION;
    }
  }
  return {
    turns: count,
    inputTokens,
    outputTokens,
    costUsd: priced ? cost : null,
    wallMs: wallTimeOf(job, now),
  };
}

/**
 * Two lines, the forecast and what happened (`actual: … tokens, $…, 42.0 s so far`); none for a job
 * stored without a forecast.
 */
export function forecastBesideActual(job: JobRecord, actual: JobActuals): string[] {
  if (job.forecast === undefined) return [];
  const tokens =
    actual.inputTokens === undefined || actual.outputTokens === undefined
      ? ''
      : `, ${formatCount(actual.inputTokens)} input + ${formatCount(actual.outputTokens)} output tokens`;
  const cost =
    actual.costUsd === null || actual.costUsd === undefined ? '' : `, ${formatUsd(actual.costUsd)}`;
  const running = job.finishedAt === null ? ' so far' : '';
  return [
    forecastLine(job.forecast),
    `actual:   ${formatCount(actual.turns)} turns${tokens}${cost}, ${formatWallTime(actual.wallMs)}${running}`,
  ];
}
