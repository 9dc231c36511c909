/**
 * The end-of-run summary of a stored job (per-model figures, scores, what it cost beside its
 * forecast), read in one pass over its turns in key order: memory bounded by one page of turns
 * and one (model, sequence) at a time, however many turns the job has.
 */
import type { JobActuals } from '../planning/outcome.js';
import { actualsOf } from '../planning/outcome.js';
import { groupBySequence } from '../report/job-reader.js';
import { ModelScoreAccumulator } from '../scoring/statistics.js';
import type { ScoreSummary } from '../scoring/statistics.js';
import type { JobRecord, TurnRecord } from '../store/records.js';
import { FailureCauseTally } from './failure-causes.js';
import type { FailureCause } from './failure-causes.js';
import { ModelSummaryTally } from './summary.js';
import type { ModelSummary } from './summary.js';

/** What `summarizeStoredJob` found. */
export interface StoredJobSummary {
  /** One per model of the suite, in its order. */
  readonly models: readonly ModelSummary[];
  readonly scores: ScoreSummary;
  readonly actual: JobActuals;
  /** Why turns failed, once per provider and error code. */
  readonly failures: readonly FailureCause[];
}

/** Summarizes `job` from its turns (`pages`: the store's pages of them, in key order). */
export function summarizeStoredJob(
  job: JobRecord,
  pages: Iterable<readonly TurnRecord[]>,
  now: number,
): StoredJobSummary {
  const tally = new ModelSummaryTally(job.suite.models.map((model) => model.id));
  const failures = new FailureCauseTally(
    (model) => job.suite.models.find((m) => m.id === model)?.provider ?? model,
  );
  const scores = new Map(job.suite.models.map((m) => [m.id, new ModelScoreAccumulator(m.id, false)]));
  let hasChecks = false;
  // One pass feeds all three: `actualsOf` walks the turns, and each (model, sequence) group is
  // tallied and scored on the way.
  function* turns(): Generator<TurnRecord, void, undefined> {
    for (const group of groupBySequence(flatten(pages))) {
      for (const turn of group.turns) {
        tally.add(turn);
        failures.add(turn);
        if ((turn.checks?.length ?? 0) > 0) hasChecks = true;
        yield turn;
      }
      // Turns of a model the suite lacks are left out of the scores, as everywhere.
      scores.get(group.model)?.addSequence(group.sequence, group.turns);
    }
  }
  const actual = actualsOf(job, turns(), now);
  return {
    models: tally.summaries(),
    scores: {
      models: [...scores.values()].map((accumulator) => accumulator.result()),
      hasChecks,
      // Only a suite with a judge has grades.
      hasJudge: job.suite.judge !== undefined,
    },
    actual,
    failures: failures.result(),
  };
}

function* flatten(pages: Iterable<readonly TurnRecord[]>): Generator<TurnRecord, void, undefined> {
  for (const page of pages) yield* page;
}
