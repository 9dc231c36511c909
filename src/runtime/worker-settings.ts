/**
 * How many worker processes a command starts, and which jobs run on them (`--workers`). Apart from
 * the engine so that the command line reads its defaults without loading the actors.
 */
import { DEFAULT_LIVE_CONVERSATIONS_PER_MODEL } from '../actors/placement-steps.js';
import type { JobRecord } from '../store/records.js';

/**
 * Conversations of the biggest job troupe's default settings run in the command's own process
 * (`troupe run`, the daemon) rather than on its workers: a job whose conversations all fit in one
 * model's window (`DEFAULT_LIVE_CONVERSATIONS_PER_MODEL`). Such a job asks little CPU of the
 * process, and on workers each of its attempts would cross to the primary's gates and back over
 * ZeroMQ, and its first conversations would wait for the workers to boot: the seed workload (405
 * turns, 200 ms) took 2.8 times as long as a plain loop of SDK calls on two workers, and about as
 * long as the loop in one process.
 */
export const DEFAULT_IN_PROCESS_JOB_MAX_CONVERSATIONS = DEFAULT_LIVE_CONVERSATIONS_PER_MODEL;

/** A job's conversations: models × sequences × runs. */
export function conversationsOfJob(job: JobRecord): number {
  return job.suite.models.length * job.sequences.count * job.suite.runs;
}

/** Which workers a command starts, and which of its jobs run on them. */
export interface WorkerSettings {
  /** Worker processes for the jobs that run on workers. */
  readonly workers: number;
  /** Jobs of at most this many conversations run in the command's own process (0: none). */
  readonly inProcessJobMaxConversations: number;
}

/**
 * `--workers` as troupe reads it: a number given runs every job on that many workers (0: every
 * job in the command's own process); left out, a worker per CPU for jobs of more than
 * `DEFAULT_IN_PROCESS_JOB_MAX_CONVERSATIONS` conversations, and the smaller jobs in the process.
 */
export function workerSettings(requested: number | undefined, cpus: number): WorkerSettings {
  if (requested !== undefined) return { workers: requested, inProcessJobMaxConversations: 0 };
  return { workers: cpus, inProcessJobMaxConversations: DEFAULT_IN_PROCESS_JOB_MAX_CONVERSATIONS };
}

/** Workers a command runs a job of `conversations` on: none when it is small enough (see `WorkerSettings`). */
export function workersForJob(settings: WorkerSettings, conversations: number): number {
  return conversations <= settings.inProcessJobMaxConversations ? 0 : settings.workers;
}
