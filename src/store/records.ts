import type { JobForecast } from '../planning/forecast-types.js';
import type { SpendState } from '../planning/spend-ledger.js';
import type { Usage } from '../providers/types.js';
import type { SequenceConfig, SequenceStats, SuiteSettings } from '../suite/types.js';
import type { CheckResult, JudgeResult } from '../scoring/types.js';

/** Where one turn sits: (job, model, sequence, run, turn). `run` and `turn` count from 1. */
export interface TurnKey {
  readonly job: string;
  readonly model: string;
  readonly sequence: string;
  readonly run: number;
  readonly turn: number;
}

/** A turn's outcome: answered, failed for good, or skipped because an earlier turn of its run failed. */
export type TurnStatus = 'ok' | 'failed' | 'skipped';

/** An error as plain data, with a namespaced code (`troupe:client-error`, …). */
export interface ErrorData {
  readonly code: string;
  readonly message: string;
}

/** One finished turn as stored and as printed by `troupe results` (one JSONL line). */
export interface TurnRecord extends TurnKey {
  readonly prompt: string;
  /** The answer; null unless `status` is `ok`. */
  readonly response: string | null;
  readonly status: TurnStatus;
  readonly error: ErrorData | null;
  readonly usage: Usage | null;
  /** Latency of the successful attempt in ms (null when none succeeded). */
  readonly latencyMs: number | null;
  /** Attempts made, the successful one included. */
  readonly attempts: number;
  /** ISO 8601 times of the first attempt and of the outcome. */
  readonly startedAt: string;
  readonly finishedAt: string;
  /** SHA-256 (hex) of the request's messages, to prove what context was sent. */
  readonly requestHash: string | null;
  /** The results of the suite's checks on the answer (absent when the suite has none). */
  readonly checks?: readonly CheckResult[];
  /** The judge's grade of the answer (absent until graded, or when the suite has no judge). */
  readonly judge?: JudgeResult;
  /** The job this answer was copied from instead of requested (`run --reuse`); absent when requested. */
  readonly reusedFrom?: string;
}

/** Life of a job. `budget-exhausted`: a spend cap stopped it; `run --resume <job> --max-cost <more>` continues it. */
export type JobState = 'running' | 'done' | 'cancelled' | 'budget-exhausted';

/**
 * A job as stored: its id, its frozen suite's settings and its state. Its sequences are stored
 * apart, one `SequenceRecord` each (a job may have a million), and written before the job record:
 * a job whose record exists has all its sequences stored.
 */
export interface JobRecord {
  readonly id: string;
  /** The resolved suite's settings (everything but its sequences), frozen at submission. */
  readonly suite: SuiteSettings;
  /** The sizes of the suite's sequences (stored apart; read them with `sequencePages` / `getSequence`). */
  readonly sequences: SequenceStats;
  /** Where the suite was read from (for display only). */
  readonly suitePath: string;
  readonly state: JobState;
  readonly createdAt: string;
  readonly finishedAt: string | null;
  /** What `troupe plan` forecast for the job when it was created (absent in older records). */
  readonly forecast?: JobForecast;
}

/** Turn counts by status, and the tokens of those turns. */
export interface TurnTally {
  readonly ok: number;
  readonly failed: number;
  readonly skipped: number;
  readonly inputTokens: number;
  readonly outputTokens: number;
}

/**
 * Where a (job, model) stands, so that a restarted daemon resumes from here instead of reading
 * every stored turn: every conversation its model actor starts before `resumeAt` (in the order it
 * starts them) has all its turns stored, and `done` counts those turns. A checkpoint of counters,
 * written as the model goes; the turn records stay the truth.
 */
export interface ModelProgress {
  readonly job: string;
  readonly model: string;
  /**
   * The first slice not known complete: a sequence, the first of its runs, and the id after which
   * its page of the model's walk starts (absent: the first page); null once all are complete.
   */
  readonly resumeAt: {
    readonly sequence: string;
    readonly firstRun: number;
    readonly pageAfter?: string;
  } | null;
  /** The turns of every slice before `resumeAt`. */
  readonly done: TurnTally;
}

/** One sequence of a job's suite as stored, under `[job, sequence id]`. */
export interface SequenceRecord extends SequenceConfig {
  /** Its position in the suite (the suite file's sequences, then its sequencesFile's lines), from 0. */
  readonly index: number;
}

/** Options of `sequencePages`. */
export interface SequencePageOptions {
  /** Sequences per page. Default `DEFAULT_SEQUENCE_PAGE_SIZE`. */
  readonly pageSize?: number;
  /** Start after this sequence id (key order); default: from the first. */
  readonly after?: string;
}

/** The checkpoint store: where jobs, their sequences and finished turns live. */
export interface CheckpointStore {
  /** Writes (creates or replaces) a job; resolves once committed. Its sequences must be stored first. */
  putJob(job: JobRecord): Promise<void>;
  getJob(id: string): JobRecord | undefined;
  /** Writes sequences of a job (a batch; call it as often as needed before `putJob`); resolves once committed. */
  putSequences(job: string, sequences: readonly SequenceRecord[]): Promise<void>;
  /** Removes every sequence of a job (undoing a creation that failed before its job record was written). */
  deleteSequences(job: string): Promise<void>;
  /** One sequence of a job by id, or undefined. */
  getSequence(job: string, id: string): SequenceRecord | undefined;
  /**
   * A job's sequences in key (id) order, in pages, each read from the latest committed state:
   * the order of the turns' `sequence` key, so turns and sequences can be merge-joined.
   */
  sequencePages(job: string, options?: SequencePageOptions): Generator<SequenceRecord[], void, undefined>;
  /** Every job, oldest first. */
  listJobs(): JobRecord[];
  /** Writes finished turns; resolves once committed. Concurrent calls are batched into one transaction. */
  putTurns(turns: readonly TurnRecord[]): Promise<void>;
  /** The stored turns of a job, optionally narrowed to a model and sequence, in key order. */
  turnsOf(job: string, model?: string, sequence?: string): TurnRecord[];
  /** A job's checkpointed spend (jobs with a spend cap), or undefined. */
  getSpend(job: string): SpendState | undefined;
  /** Writes a job's spend; resolves once committed (a request leaves only after its reservation did). */
  putSpend(job: string, spend: SpendState): Promise<void>;
  /**
   * The stored turns of runs `firstRun`…`lastRun` of one sequence of a model, in key order: what a
   * sequence actor hosting those runs reads at start, without reading the sequence's other runs.
   */
  turnsOfRuns(job: string, model: string, sequence: string, firstRun: number, lastRun: number): TurnRecord[];
  /** Writes (replaces) where a (job, model) stands; resolves once committed. */
  putModelProgress(progress: ModelProgress): Promise<void>;
  /** Where a (job, model) stood when last written; undefined if never. */
  getModelProgress(job: string, model: string): ModelProgress | undefined;
  /**
   * From now on refuses every write, as after reading a damaged record: a check made elsewhere
   * (a reader process, the daemon's) found the store damaged; `reason` says how.
   */
  refuseWrites(reason: string): void;
  /** Waits until everything committed so far is on disk (fsync). */
  flush(): Promise<void>;
  close(): Promise<void>;
}

/**
 * Who runs a job now: one owner per job. Written when a process starts running the job, renewed
 * by its heartbeat, removed when it stops. A lease whose heartbeat is older than its `staleAfterMs`
 * (or whose process is gone, on the same host) may be taken over.
 */
export interface JobLease {
  readonly job: string;
  /** What holds it, for messages: `troupe run`, `troupe daemon`. */
  readonly owner: string;
  readonly pid: number;
  readonly host: string;
  /** A random id of this holding, so a process never mistakes another's lease for its own. */
  readonly token: string;
  /** ISO 8601 times. */
  readonly acquiredAt: string;
  readonly heartbeatAt: string;
  /** After this many ms without a heartbeat the lease is stale. */
  readonly staleAfterMs: number;
}
