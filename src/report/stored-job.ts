/** Reading a job for a report: the job and its turns, or a message naming the jobs that exist. */
import { InputError } from '../errors.js';
import type { LmdbCheckpointStore } from '../store/lmdb-store.js';
import type { JobRecord, TurnRecord } from '../store/records.js';

/** Job ids listed when the one asked for does not exist. */
const KNOWN_JOBS_LISTED = 5;

/** A job and its turns as stored, or an `InputError` naming the latest jobs when it is unknown. */
export function storedJob(
  store: LmdbCheckpointStore,
  id: string,
  dataDir: string,
): { job: JobRecord; turns: TurnRecord[] } {
  const job = store.getJob(id);
  if (!job) {
    const latest = store
      .listJobs()
      .slice(-KNOWN_JOBS_LISTED)
      .map((j) => j.id);
    const hint = latest.length > 0 ? `latest: ${latest.join(', ')}` : 'it holds no jobs';
    throw new InputError(`no job "${id}" in ${dataDir} (${hint})`);
  }
  return { job, turns: store.turnsOf(id) };
}
