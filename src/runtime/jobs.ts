import { forecastSuite } from '../planning/forecast.js';
import { readHistory } from '../planning/history.js';
import type { ReusePlan } from '../planning/reuse.js';
import { newJobId } from '../store/job-id.js';
import type { CheckpointStore, JobRecord } from '../store/records.js';
import type { Suite } from '../suite/types.js';

/**
 * Creates a job for `suite` (frozen into the record, with its forecast from the store's earlier
 * jobs) and commits it, with the turns `reuse` copies from earlier jobs; returns the record.
 */
export async function createJob(
  store: CheckpointStore,
  suite: Suite,
  suitePath: string,
  now = new Date(),
  reuse?: ReusePlan,
): Promise<JobRecord> {
  const job: JobRecord = {
    id: newJobId(now),
    suite,
    suitePath,
    state: 'running',
    createdAt: now.toISOString(),
    finishedAt: null,
    // Kept with the job so that its outcome can be shown beside what was expected.
    forecast: forecastSuite(suite, readHistory(store, now.toISOString()), reuse?.reused),
  };
  // The copies first: a job is visible with every turn it starts from.
  await reuse?.apply(store, job.id);
  await store.putJob(job);
  return job;
}
