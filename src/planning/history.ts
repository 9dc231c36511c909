/**
 * What earlier jobs of a data directory tell about a model, for `troupe plan` and each new job's
 * forecast: its mean answer length, its median latency, and (as a judge) the mean length of its
 * grading replies, over the answered turns of the latest jobs that ran it. Bounded in cost: a
 * sample of at most `HISTORY_TURNS` answers per model, read a sequence at a time.
 */
import { nearestRankOfCounts } from '../results/summary.js';
import type { CheckpointStore, JobRecord, TurnRecord } from '../store/records.js';

/** Earlier jobs read for the history, the latest first: enough to know a model, bounded in cost. */
export const HISTORY_JOBS = 10;

/** Answered turns per model the history is taken over, at most: a sample, not every turn of a huge job. */
export const HISTORY_TURNS = 10_000;

/** Sequences of one job read for the history, at most (a job's turns are read a sequence at a time). */
export const HISTORY_SEQUENCES_PER_JOB = 10_000;

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
  /** Grades this model gave as a judge with their usage recorded (0 when none). */
  readonly judgeGrades?: number;
  /** Their mean output tokens (all passes of a grade together). */
  readonly meanJudgeOutputTokens?: number;
}

interface Tally {
  outputTurns: number;
  outputTokens: number;
  /** Latency in whole ms → how many answers took it. */
  latencies: Map<number, number>;
  latencyCount: number;
  judgeGrades: number;
  judgeOutputTokens: number;
}

const newTally = (): Tally => ({
  outputTurns: 0,
  outputTokens: 0,
  latencies: new Map(),
  latencyCount: 0,
  judgeGrades: 0,
  judgeOutputTokens: 0,
});

/**
 * The history of every model (by provider type and model name) over the latest `HISTORY_JOBS`
 * jobs of `store` created before `before` (ISO time; all when undefined), the latest first.
 */
export function readHistory(store: CheckpointStore, before?: string): HistoryIndex {
  const jobs = store
    .listJobs()
    .filter((job) => before === undefined || job.createdAt < before)
    .slice(-HISTORY_JOBS)
    .reverse();
  const tallies = new Map<string, Tally>();
  for (const job of jobs) addJob(tallies, job, store);
  const index = new Map<string, ModelHistory>();
  for (const [key, tally] of tallies) {
    index.set(key, {
      outputTurns: tally.outputTurns,
      meanOutputTokens: tally.outputTurns === 0 ? 0 : tally.outputTokens / tally.outputTurns,
      p50LatencyMs: nearestRankOfCounts(tally.latencies, tally.latencyCount, P50) ?? undefined,
      judgeGrades: tally.judgeGrades,
      meanJudgeOutputTokens: tally.judgeGrades === 0 ? 0 : tally.judgeOutputTokens / tally.judgeGrades,
    });
  }
  return index;
}

function addJob(tallies: Map<string, Tally>, job: JobRecord, store: CheckpointStore): void {
  const keyOf = (id: string | undefined): string | undefined => {
    const model = job.suite.models.find((m) => m.id === id);
    return model && historyKey(job.suite.providers[model.provider]?.type ?? '', model.model);
  };
  const judgeKey = keyOf(job.suite.judge?.model);
  const tallyOf = (key: string): Tally => {
    const found = tallies.get(key);
    if (found !== undefined) return found;
    const tally = newTally();
    tallies.set(key, tally);
    return tally;
  };
  for (const model of job.suite.models) {
    const key = keyOf(model.id);
    if (key === undefined) continue;
    const tally = tallyOf(key);
    const judge = judgeKey === undefined ? undefined : tallyOf(judgeKey);
    let sequences = 0;
    // Bounded: at most HISTORY_SEQUENCES_PER_JOB sequences, and no further once the sample is full.
    pages: for (const page of store.sequencePages(job.id)) {
      for (const sequence of page) {
        if (sequences >= HISTORY_SEQUENCES_PER_JOB || sampled(tally, judge)) break pages;
        sequences += 1;
        for (const turn of store.turnsOf(job.id, model.id, sequence.id)) addTurn(tally, judge, turn);
      }
    }
  }
}

/** True once a model's sample and its judge's are both full. */
function sampled(tally: Tally, judge: Tally | undefined): boolean {
  return tally.outputTurns >= HISTORY_TURNS && (judge === undefined || judge.judgeGrades >= HISTORY_TURNS);
}

function addTurn(tally: Tally, judge: Tally | undefined, turn: TurnRecord): void {
  // A copied answer (`--reuse`) was measured in the job it came from: counted there, once.
  if (turn.status !== 'ok' || turn.reusedFrom !== undefined) return;
  if (turn.usage !== null && tally.outputTurns < HISTORY_TURNS) {
    tally.outputTurns += 1;
    tally.outputTokens += turn.usage.outputTokens;
    if (turn.latencyMs !== null) {
      const ms = Math.round(turn.latencyMs);
      tally.latencies.set(ms, (tally.latencies.get(ms) ?? 0) + 1);
      tally.latencyCount += 1;
    }
  }
  const usage = turn.judge?.usage;
  if (judge !== undefined && usage !== undefined && judge.judgeGrades < HISTORY_TURNS) {
    judge.judgeGrades += 1;
    judge.judgeOutputTokens += usage.outputTokens;
  }
}

/** What earlier jobs tell about each model, by `historyKey`. */
export type HistoryIndex = ReadonlyMap<string, ModelHistory>;

/** The key of a model in the history: its provider type and the provider's model name. */
export function historyKey(providerType: string, modelName: string): string {
  return `${providerType}\u0000${modelName}`;
}
