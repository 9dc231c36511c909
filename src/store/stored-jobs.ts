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
  /**
   * Read every record of these jobs (`checkJob`), and of every job still `running` when `'running'`.
   * `{ resumePageSize }`: of every job still `running`, what its resume reads before its first
   * request (each model's progress record, the page of sequences its walk resumes in, pages of
   * `resumePageSize`, and the turns of the conversation it resumes at): bounded by a page, where a
   * whole job's records are not (a daemon's start).
   */
  readonly check?: 'running' | readonly string[] | { readonly resumePageSize: number };
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
  const check = query.check ?? [];
  if (isResumeCheck(check)) {
    for (const job of jobs) if (job.state === 'running') readResume(store, job, check.resumePageSize);
  } else {
    const checked =
      check === 'running' ? jobs.filter((job) => job.state === 'running').map((job) => job.id) : check;
    for (const id of checked) store.checkJob(id);
  }
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

function isResumeCheck(
  check: NonNullable<StoredJobsQuery['check']>,
): check is { readonly resumePageSize: number } {
  return typeof check === 'object' && 'resumePageSize' in check;
}

/**
 * Reads what `job`'s resume reads first: each model's progress, the sequence page its walk resumes
 * in, and the turns of the conversation it resumes at (a read through the turns' index from its
 * root, as every restore of a conversation makes).
 */
function readResume(store: LmdbCheckpointStore, job: JobRecord, pageSize: number): void {
  for (const model of job.suite.models) {
    const resumeAt = store.getModelProgress(job.id, model.id)?.resumeAt;
    if (resumeAt === null) continue;
    const after = resumeAt?.pageAfter;
    const page = store
      .sequencePages(job.id, { ...(after !== undefined && { after }), pageSize })
      .next().value;
    const sequence = resumeAt?.sequence ?? page?.[0]?.id;
    const run = resumeAt?.firstRun ?? 1;
    if (sequence !== undefined) store.turnsOfRuns(job.id, model.id, sequence, run, run);
  }
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
