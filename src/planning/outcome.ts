/** A job's forecast beside what happened, for the summary of `troupe run`, `status` and `report`. */
import type { Usage } from '../providers/types.js';
import type { JobRecord, TurnRecord } from '../store/records.js';
import type { TokenPrices } from '../suite/types.js';
import { forecastLine, formatCount, formatUsd, formatWallTime } from './format.js';

/** What a job really did so far. */
export interface JobActuals {
  /** Turns recorded (ok, failed or skipped), those copied from earlier jobs included. */
  readonly turns: number;
  /** Of those, turns copied from earlier jobs (`--reuse`); undefined where not counted. */
  readonly reused?: number;
  /** Grades given in this job (a judged suite's; copied ones not counted); undefined where not counted. */
  readonly grades?: number;
  /**
   * Tokens the providers reported, the judge's calls included; undefined where not counted
   * (`troupe status` reads counts only).
   */
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

/** Sums the job's recorded `turns` (one pass: any iterable, never held). */
export function actualsOf(job: JobRecord, turns: Iterable<TurnRecord>, now: number): JobActuals {
  const prices = new Map(job.suite.models.map((m) => [m.id, m.pricePerMillionTokens]));
  const judgePrices = job.suite.models.find((m) => m.id === job.suite.judge?.model)?.pricePerMillionTokens;
  const priced = job.suite.models.some((m) => m.pricePerMillionTokens !== undefined);
  let count = 0;
  let reused = 0;
  let grades = 0;
  let inputTokens = 0;
  let outputTokens = 0;
  let cost = 0;
  const add = (usage: Usage, price: TokenPrices | undefined): void => {
    inputTokens += usage.inputTokens;
    outputTokens += usage.outputTokens;
    if (price !== undefined) {
      cost += (usage.inputTokens * price.input + usage.outputTokens * price.output) / TOKENS_PER_MILLION;
    }
  };
  for (const turn of turns) {
    count += 1;
    if (turn.reusedFrom !== undefined) reused += 1;
    // A copied answer was paid for in the job it came from; a grade copied with it carries no
    // usage (see reuse), while a grade given here does.
    if (turn.usage !== null && turn.reusedFrom === undefined) add(turn.usage, prices.get(turn.model));
    if (turn.judge?.usage !== undefined) {
      grades += 1;
      add(turn.judge.usage, judgePrices);
    }
  }
  return {
    turns: count,
    reused,
    ...(job.suite.judge !== undefined && { grades }),
    inputTokens,
    outputTokens,
    costUsd: priced ? cost : null,
    wallMs: wallTimeOf(job, now),
  };
}

/** `24 turns`, or `20 turns requested + 200 000 copied` when some were copied: the forecast counts the requested. */
function requested(actual: JobActuals): string {
  const copied = actual.reused ?? 0;
  return copied === 0
    ? `${formatCount(actual.turns)} turns`
    : `${formatCount(actual.turns - copied)} turns requested + ${formatCount(copied)} copied`;
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
    `actual:   ${requested(actual)}${actual.grades === undefined ? '' : ` + ${formatCount(actual.grades)} grades`}${tokens}${cost}, ${formatWallTime(actual.wallMs)}${running}`,
  ];
}
