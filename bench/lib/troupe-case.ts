/** The result row of one troupe job, read against the simulator's records of it. */
import type { Simulator } from '../../src/simulator/server.js';
import type { TroupeJobRun } from './job-runner.js';
import type { LowerBound } from './lower-bound.js';
import { breakdownDetails, count429, timeBreakdown } from './sim-records.js';
import { commitGapDetails } from './turn-records.js';
import type { CaseResult } from './types.js';

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
