import { newJobId } from '../store/job-id.js';
import type { CheckpointStore, JobRecord } from '../store/records.js';
import type { Suite } from '../suite/types.js';

/** Creates a job for `suite` (frozen into the record) and commits it; returns the record. */
export async function createJob(
  store: CheckpointStore,
  suite: Suite,
  suitePath: string,
  now = new Date(),
): Promise<JobRecord> {
  const job: JobRecord = {
    id: newJobId(now),
    suite,
    suitePath,
    state: 'running',
    createdAt: now.toISOString(),
    finishedAt: null,
  };
  await store.putJob(job);
  return job;
}
