import { ForecastBuilder } from '../planning/forecast.js';
import { readHistory } from '../planning/history.js';
import type { ReuseFinder } from '../planning/reuse.js';
import { newJobId } from '../store/job-id.js';
import type { CheckpointStore, JobRecord } from '../store/records.js';
import type { SuiteSource } from '../suite/load.js';
import type { Suite } from '../suite/types.js';

/** Sequences written to the store per transaction while a job is created. */
export const SEQUENCE_WRITE_BATCH = 1000;

/**
 * Creates a job for `suite` and commits it, with the turns `reuse` copies from earlier jobs;
 * returns the record. The suite's sequences are streamed into the store in batches (a
 * `SuiteSource` of a million sequences is never held), then the copies (found a page of stored
 * sequences at a time), then the job record (the suite's settings, the sequences' sizes, and its
 * forecast from the store's earlier jobs, summed over the same batches) is written last, so a job that exists has all its
 * sequences and every turn it starts from. If writing the sequences fails (the sequences file
 * changed since it was validated, a store error), those written are removed and the error is
 * rethrown.
 */
export async function createJob(
  store: CheckpointStore,
  suite: Suite | SuiteSource,
  suitePath: string,
  now = new Date(),
  reuse?: ReuseFinder,
): Promise<JobRecord> {
  // The suite reader (yaml, the schema checks) is loaded only here: a daemon resuming its jobs at
  // a restart does not need it before its first request.
  const source = isSuite(suite) ? (await import('../suite/load.js')).sourceOfSuite(suite) : suite;
  const id = newJobId(now);
  // Kept with the job so that its outcome can be shown beside what was expected.
  const forecast = new ForecastBuilder(source.settings, readHistory(store, now.toISOString()));
  try {
    let index = 0;
    for await (const batch of source.sequences(SEQUENCE_WRITE_BATCH)) {
      await store.putSequences(
        id,
        batch.map((sequence) => ({ ...sequence, index: index++ })),
      );
      if (reuse === undefined) forecast.add(batch);
    }
    if (reuse !== undefined) {
      // The copies are found from the stored sequences, once all are in: a sequences file that
      // changes on the way fails above, before anything is copied.
      for (const page of store.sequencePages(id, { pageSize: SEQUENCE_WRITE_BATCH })) {
        const found = reuse.find(page);
        if (found.turns.length > 0) await store.putTurns(found.turns.map((turn) => ({ ...turn, job: id })));
        forecast.add(page, found.reused);
      }
    }
  } catch (error) {
    // Copied turns already written stay unreachable: no job record will ever name them.
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
    forecast: forecast.result(),
  };
  await store.putJob(job);
  return job;
}

function isSuite(suite: Suite | SuiteSource): suite is Suite {
  return Array.isArray((suite as Suite).sequences);
}
