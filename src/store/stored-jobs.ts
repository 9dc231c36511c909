/**
 * What a daemon (or `troupe run`) reads of its store before it trusts it, read in a reader process
 * (see src/cli/reader-process.ts): the jobs and their stored counts for `status` and `jobs`, every
 * record of the jobs it is about to resume or copy from, and what a new job's forecast reads. A
 * damaged branch page can crash the process reading it; read here, it crashes a reader instead.
 */
import { InputError } from '../errors.js';
import { readHistory } from '../planning/history.js';
import type { LmdbCheckpointStore, TurnCounts } from './lmdb-store.js';
import type { JobRecord } from './records.js';

/** What to read. */
export interface StoredJobsQuery {
  /** Only this job (an unknown id is an `InputError` naming the latest jobs); default every job. */
  readonly only?: string;
  /** Count every listed job's stored turns, per model, but for the jobs in `uncounted`. */
  readonly count: boolean;
  /** Jobs whose turns are not counted (a daemon has live counts of the jobs it runs). */
  readonly uncounted?: readonly string[];
  /** Read every record of these jobs (`checkJob`), and of every job still `running` when `'running'`. */
  readonly check?: 'running' | readonly string[];
  /** Read what a new job's forecast reads (the history of the latest jobs before this ISO time). */
  readonly historyBefore?: string;
}

/** A stored job as the reader found it. */
export interface StoredJobView {
  readonly record: JobRecord;
  /** Stored turns per model id (absent when not counted). */
  readonly counts?: Readonly<Record<string, TurnCounts>>;
  /** For a job with a spend cap, what its ledger counts as spent (reservations included), in USD. */
  readonly spentUsd?: number;
}

/** Job ids listed when the one asked for does not exist. */
const KNOWN_JOBS_LISTED = 5;

/** Reads `query` of `store`; throws `troupe:store-damaged` (a `StoreError`) on damage met. */
export function readStoredJobs(store: LmdbCheckpointStore, query: StoredJobsQuery): StoredJobView[] {
  const jobs = query.only === undefined ? store.listJobs() : [knownJob(store, query.only)];
  const checked =
    query.check === 'running'
      ? jobs.filter((job) => job.state === 'running').map((job) => job.id)
      : (query.check ?? []);
  for (const id of checked) store.checkJob(id);
  if (query.historyBefore !== undefined) readHistory(store, query.historyBefore);
  const uncounted = new Set(query.uncounted ?? []);
  return jobs.map((record) => {
    const spend = store.getSpend(record.id);
    const spentUsd =
      spend === undefined
        ? undefined
        : [...Object.values(spend.spentUsd), ...Object.values(spend.reservedUsd)].reduce((a, b) => a + b, 0);
    const counts =
      query.count && !uncounted.has(record.id)
        ? Object.fromEntries(
            record.suite.models.map((model) => [model.id, store.countTurns(record.id, model.id)]),
          )
        : undefined;
    return { record, ...(counts !== undefined && { counts }), ...(spentUsd !== undefined && { spentUsd }) };
  });
}

function knownJob(store: LmdbCheckpointStore, id: string): JobRecord {
  const job = store.getJob(id);
  if (job !== undefined) return job;
  const latest = store
    .listJobs()
    .slice(-KNOWN_JOBS_LISTED)
    .map((j) => j.id);
  throw new InputError(`no job "${id}"${latest.length > 0 ? ` (latest: ${latest.join(', ')})` : ''}`);
}
