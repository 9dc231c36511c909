/** The result row of one troupe job, read against the simulator's records of it. */
import type { Simulator } from '../../src/simulator/server.js';
import type { Suite } from '../../src/suite/types.js';
import { runTroupeJob } from './job-runner.js';
import type { TroupeJobRun } from './job-runner.js';
import { benchEnv, turnsOf } from './suite-text.js';
import type { BenchOptions } from './types.js';
import type { LowerBound } from './lower-bound.js';
import { breakdownDetails, count429, timeBreakdown } from './sim-records.js';
import { commitGapDetails } from './turn-records.js';
import type { CaseResult } from './types.js';

/**
 * Runs `suite` as one troupe job on a reset simulator (its bucket refilled, its faults renewed)
 * and returns its row, with the most attempts any turn took among its details.
 */
export async function measuredTroupeCase(
  sim: Simulator,
  options: BenchOptions,
  label: string,
  suite: Suite,
  bound: LowerBound,
  job: {
    readonly timeoutMs: number;
    readonly expectedNotOk?: number;
    /** Worker processes; default `--workers`, else none. */
    readonly workers?: number;
  },
): Promise<CaseResult> {
  sim.reset();
  const run = await runTroupeJob({
    suite,
    env: benchEnv(),
    logLevel: options.logLevel,
    ...job,
    workers: job.workers ?? options.workers ?? 0,
  });
  return troupeCaseRow(label, turnsOf(suite), bound, run, sim, {
    failed: run.turns.filter((turn) => turn.status === 'failed').length,
    skipped: run.turns.filter((turn) => turn.status === 'skipped').length,
    'attempts max': Math.max(...run.turns.map((turn) => turn.attempts)),
  });
}

/**
 * The row of `run`, a troupe job of `turns` turns: wall time against `bound`, the simulator's
 * 429s and peak in flight, and where the time went. `details` come first among the details.
 */
export function troupeCaseRow(
  label: string,
  turns: number,
  bound: LowerBound,
  run: TroupeJobRun,
  sim: Simulator,
  details: Readonly<Record<string, number>> = {},
): CaseResult {
  const records = sim.records;
  return {
    label,
    kind: 'troupe',
    turns,
    wallMs: run.wallMs,
    lowerBoundMs: bound.ms,
    boundTerm: bound.term,
    turnsPerSecond: turns / (run.wallMs / 1000),
    rateLimited: count429(records),
    maxInFlight: sim.maxInFlight,
    cpuMs: run.cpuMs,
    peakRssBytes: run.peakRssBytes,
    details: {
      requests: records.length,
      ...details,
      ...breakdownDetails(timeBreakdown(records, run.startedAtMs, run.endedAtMs)),
      ...commitGapDetails(run.turns),
    },
  };
}
