/**
 * Reads the simulator's records for where the time went: 429s, requests per status, and the
 * client's own gap between a turn's answer and the next turn's request of the same conversation.
 */
import { estimateOutputTokens } from '../../src/providers/token-estimate.js';
import { estimateInputTokens } from '../../src/resilience/token-estimate.js';
import type { RecordedRequest } from '../../src/simulator/server.js';

const STATUS_TOO_MANY_REQUESTS = 429;
const STATUS_OK = 200;

/** Records whose request arrived in `[fromMs, toMs]`. */
export function recordsBetween(
  records: readonly RecordedRequest[],
  fromMs: number,
  toMs: number,
): RecordedRequest[] {
  return records.filter((record) => record.receivedAt >= fromMs && record.receivedAt <= toMs);
}

/** 429 answers among `records`. */
export function count429(records: readonly RecordedRequest[]): number {
  return records.filter((record) => record.status === STATUS_TOO_MANY_REQUESTS).length;
}

/** When the first 429 was answered, in ms after `startedAtMs`; undefined when none was. */
export function first429Ms(records: readonly RecordedRequest[], startedAtMs: number): number | undefined {
  const first = records.find((record) => record.status === STATUS_TOO_MANY_REQUESTS);
  return first === undefined ? undefined : first.receivedAt - startedAtMs;
}

/**
 * Tokens the simulator charged its tokens-per-minute bucket for `records`: input and output of
 * every answered request, counted as it counts them (a request it refused took none).
 */
export function chargedTokens(records: readonly RecordedRequest[]): number {
  return records
    .filter((record) => record.status === STATUS_OK && record.response !== null)
    .reduce(
      (sum, record) =>
        sum + estimateInputTokens(record.messages) + estimateOutputTokens(record.response ?? ''),
      0,
    );
}

/** Answered (200) requests among `records`. */
export function countOk(records: readonly RecordedRequest[]): number {
  return records.filter((record) => record.status === STATUS_OK).length;
}

/**
 * For every request that continues a conversation, ms between the end of the exchange that
 * produced its last assistant message and its own arrival. Answers are unique (they quote
 * the request's serial number), so the previous turn is found by its text.
 */
export function turnGaps(records: readonly RecordedRequest[]): number[] {
  const byAnswer = new Map<string, RecordedRequest>();
  for (const record of records) {
    if (record.status === STATUS_OK && record.response !== null) byAnswer.set(record.response, record);
  }
  const gaps: number[] = [];
  for (const record of records) {
    const lastAssistant = record.messages.findLast((message) => message.role === 'assistant');
    if (lastAssistant === undefined) continue;
    const previous = byAnswer.get(lastAssistant.content);
    if (previous === undefined) continue;
    gaps.push(record.receivedAt - previous.finishedAt);
  }
  return gaps;
}

/** The value below which `q` of `values` lie (nearest rank); NaN when empty. */
export function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[index] as number;
}

/** Where a job's time went by the simulator's clock, in ms. */
export interface TimeBreakdown {
  /** From the start of the work to the first request's arrival. */
  readonly firstRequestMs: number;
  /** From the last exchange's end to the end of the work. */
  readonly tailMs: number;
  /** Gaps between a turn's answer and the next turn's request: median, 95th percentile, largest. */
  readonly gapP50Ms: number;
  readonly gapP95Ms: number;
  readonly gapMaxMs: number;
  /** Time the server spent on the requests (arrival to end): median. */
  readonly serverP50Ms: number;
}

/** The breakdown of one piece of work that started at `startedAtMs` and ended at `endedAtMs`. */
export function timeBreakdown(
  records: readonly RecordedRequest[],
  startedAtMs: number,
  endedAtMs: number,
): TimeBreakdown {
  const gaps = turnGaps(records);
  const firstArrival = Math.min(...records.map((record) => record.receivedAt));
  const lastEnd = Math.max(...records.map((record) => record.finishedAt));
  const server = records.filter((r) => r.status === STATUS_OK).map((r) => r.finishedAt - r.receivedAt);
  return {
    firstRequestMs: firstArrival - startedAtMs,
    tailMs: endedAtMs - lastEnd,
    gapP50Ms: quantile(gaps, 0.5),
    gapP95Ms: quantile(gaps, 0.95),
    gapMaxMs: gaps.length === 0 ? Number.NaN : Math.max(...gaps),
    serverP50Ms: quantile(server, 0.5),
  };
}

/** The breakdown as report details. */
export function breakdownDetails(breakdown: TimeBreakdown): Record<string, number> {
  return {
    'first request ms': Math.round(breakdown.firstRequestMs),
    'turn gap p50 ms': breakdown.gapP50Ms,
    'turn gap p95 ms': breakdown.gapP95Ms,
    'turn gap max ms': breakdown.gapMaxMs,
    'tail ms': Math.round(breakdown.tailMs),
  };
}
