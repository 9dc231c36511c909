import { InputError } from '../errors.js';
import type { LmdbCheckpointStore } from '../store/lmdb-store.js';
import type { JobRecord, TurnRecord } from '../store/records.js';

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
      .slice(-5)
      .map((j) => j.id);
    throw new InputError(
      `no job "${id}" in ${dataDir}${latest.length > 0 ? ` (latest: ${latest.join(', ')})` : ''}`,
    );
  }
  return { job, turns: store.turnsOf(id) };
}
