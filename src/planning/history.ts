/**
 * What earlier jobs of a data directory tell about a model, for `troupe plan`: its mean answer
 * length and its median latency, over the answered turns of the latest jobs that ran it.
 */
import { nearestRank } from '../results/summary.js';
import type { CheckpointStore, JobRecord } from '../store/records.js';
import { historyKey, type HistoryIndex } from './forecast.js';

/** Earlier jobs read for the history, the latest first: enough to know a model, bounded in cost. */
export const HISTORY_JOBS = 10;

/** Median, as a percentile. */
const P50 = 50;

/** One model's figures from earlier jobs. */
export interface ModelHistory {
  /** Answered turns with a reported output token count. */
  readonly outputTurns: number;
  /** Their mean output tokens (0 when none). */
  readonly meanOutputTokens: number;
  /** Median latency of the answered turns, in ms; undefined when none. */
  readonly p50LatencyMs: number | undefined;
}

interface Tally {
  outputTurns: number;
  outputTokens: number;
  latencies: number[];
}

/**
 * The history of every model (by provider type and model name) over the latest `HISTORY_JOBS`
 * jobs of `store` created before `before` (ISO time; all when undefined).
 */
export function readHistory(store: CheckpointStore, before?: string): HistoryIndex {
  const jobs = store
    .listJobs()
    .filter((job) => before === undefined || job.createdAt < before)
    .slice(-HISTORY_JOBS);
  const tallies = new Map<string, Tally>();
  for (const job of jobs) addJob(tallies, job, store);
  const index = new Map<string, ModelHistory>();
  for (const [key, tally] of tallies) {
    const sorted = tally.latencies.sort((a, b) => a - b);
    index.set(key, {
      outputTurns: tally.outputTurns,
      meanOutputTokens: tally.outputTurns === 0 ? 0 : tally.outputTokens / tally.outputTurns,
      p50LatencyMs: nearestRank(sorted, P50) ?? undefined,
    });
  }
  return index;
}

function addJob(tallies: Map<string, Tally>, job: JobRecord, store: CheckpointStore): void {
  const keys = new Map(
    job.suite.models.map((m) => [m.id, historyKey(job.suite.providers[m.provider]?.type ?? '', m.model)]),
  );
  for (const turn of store.turnsOf(job.id)) {
    const key = keys.get(turn.model);
    // A copied answer (`--reuse`) was measured in the job it came from: counted there, once.
    if (key === undefined || turn.status !== 'ok' || turn.reusedFrom !== undefined) continue;
    const tally = tallies.get(key) ?? { outputTurns: 0, outputTokens: 0, latencies: [] };
    tallies.set(key, tally);
    if (turn.usage !== null) {
      tally.outputTurns += 1;
      tally.outputTokens += turn.usage.outputTokens;
    }
    if (turn.latencyMs !== null) tally.latencies.push(turn.latencyMs);
  }
}
