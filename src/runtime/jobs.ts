import { forecastSuite } from '../planning/forecast.js';
import { readHistory } from '../planning/history.js';
import type { ReusePlan } from '../planning/reuse.js';
import { newJobId } from '../store/job-id.js';
import type { CheckpointStore, JobRecord } from '../store/records.js';
import { collectSuite, sourceOfSuite } from '../suite/load.js';
import type { SuiteSource } from '../suite/load.js';
import type { Suite } from '../suite/types.js';

/** Sequences written to the store per transaction while a job is created. */
export const SEQUENCE_WRITE_BATCH = 1000;

/**
 * Sequences up to which a new job gets a forecast: the forecast needs every sequence in memory,
 * which a job of a million sequences must never have.
 */
export const FORECAST_MAX_SEQUENCES = 10_000;

/**
 * Creates a job for `suite` and commits it, with the turns `reuse` copies from earlier jobs;
 * returns the record. The suite's sequences are streamed into the store in batches (a
 * `SuiteSource` of a million sequences is never held), then the copies, then the job record (the
 * suite's settings, the sequences' sizes, and its forecast from the store's earlier jobs when it
 * has at most `FORECAST_MAX_SEQUENCES`) is written last, so a job that exists has all its
 * sequences and every turn it starts from. If writing the sequences fails (the sequences file
 * changed since it was validated, a store error), those written are removed and the error is
 * rethrown.
 */
export async function createJob(
  store: CheckpointStore,
  suite: Suite | SuiteSource,
  suitePath: string,
  now = new Date(),
  reuse?: ReusePlan,
): Promise<JobRecord> {
  const source = isSuite(suite) ? sourceOfSuite(suite) : suite;
  const id = newJobId(now);
  let forecastable: Suite | undefined;
  try {
    let index = 0;
    for await (const batch of source.sequences(SEQUENCE_WRITE_BATCH)) {
      await store.putSequences(
        id,
        batch.map((sequence) => ({ ...sequence, index: index++ })),
      );
    }
    if (source.stats.count <= FORECAST_MAX_SEQUENCES) {
      forecastable = isSuite(suite) ? suite : (await collectSuite(source)).suite;
    }
  } catch (error) {
    await store.deleteSequences(id).catch(() => undefined);
    throw error;
  }
  const job: JobRecord = {
    id,
    suite: source.settings,
    sequences: source.stats,
    suitePath,
    state: 'running',
    createdAt: now.toISOString(),
    finishedAt: null,
    // Kept with the job so that its outcome can be shown beside what was expected.
    ...(forecastable && {
      forecast: forecastSuite(forecastable, readHistory(store, now.toISOString()), reuse?.reused),
    }),
  };
  // The copies first: a job is visible with every turn it starts from.
  await reuse?.apply(store, job.id);
  await store.putJob(job);
  return job;
}

function isSuite(suite: Suite | SuiteSource): suite is Suite {
  return Array.isArray((suite as Suite).sequences);
}
