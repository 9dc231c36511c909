/**
 * The checkpoint store on LMDB: one environment per data directory, with the named databases
 * `meta` (format version), `jobs` (by job id) and `turns` (by `[job, model, sequence, run, turn]`,
 * ordered-binary keys, so a range over a job/model/sequence prefix comes back in turn order).
 *
 * Who may write: any number of processes (the daemon's primary and its workers) may open the same
 * directory for writing; LMDB's write lock spans processes. Readers in other processes (`troupe
 * results`) open it read-only and see every transaction committed before each read.
 */
import type { Key } from 'lmdb';

import type { CheckpointStore, JobRecord, TurnKey, TurnRecord, TurnStatus } from './records.js';
import { acquireEnvironment, releaseEnvironment } from './lmdb-environment.js';
import type { LmdbEnvironment } from './lmdb-environment.js';
import { StoreError } from './store-error.js';

export { StoreError } from './store-error.js';
export type { StoreErrorCode } from './store-error.js';
export { STORE_FORMAT_VERSION } from './lmdb-environment.js';

/** Options of `openLmdbStore`. */
export interface OpenStoreOptions {
  /**
   * Open for reading only: never creates the directory or a store, never writes; writes reject
   * with `troupe:store-read-only`. Other processes may write meanwhile. Default false.
   */
  readonly readOnly?: boolean;
}

/** Turns of a job by status. */
export interface TurnCounts {
  readonly ok: number;
  readonly failed: number;
  readonly skipped: number;
  readonly total: number;
}

/** Turns per page of `turnPages`, by default. */
export const DEFAULT_TURN_PAGE_SIZE = 1000;

/** Sorts after every possible key part (ordered-binary never writes 0xff in a string or a number). */
const AFTER_ALL_KEYS = Uint8Array.of(0xff);

type TurnKeyTuple = [job: string, model: string, sequence: string, run: number, turn: number];

/**
 * Opens the checkpoint store in `dataDir`. Writable (the default): creates the directory (mode
 * 0700) and the store if missing. Read-only: the store must exist. Refuses with a `StoreError`
 * (exit code `badInput`, nothing modified) a path that is a file, a directory it cannot use, data
 * that is not a troupe store, or a store of a newer format.
 *
 * Within one process, every open of the same directory shares one LMDB environment; a read-only
 * open while a writable one is open shares it (and still refuses writes), but a writable open
 * while only read-only ones are open is refused with `troupe:store-busy`.
 */
export async function openLmdbStore(
  dataDir: string,
  options: OpenStoreOptions = {},
): Promise<LmdbCheckpointStore> {
  const readOnly = options.readOnly ?? false;
  const env = await acquireEnvironment(dataDir, readOnly);
  return new LmdbCheckpointStore(env, dataDir, readOnly);
}

/** The LMDB `CheckpointStore`. Create it with `openLmdbStore`. */
export class LmdbCheckpointStore implements CheckpointStore {
  private closed = false;

  /** Use `openLmdbStore`. */
  constructor(
    private readonly env: LmdbEnvironment,
    /** The data directory, as given to `openLmdbStore`. */
    readonly dataDir: string,
    /** Whether writes are refused. */
    readonly readOnly: boolean,
  ) {}

  /** Asynchronous write transactions this process has committed to this data directory (for metrics and tests). */
  get writeTransactions(): number {
    return this.env.writeTransactions();
  }

  /** Writes (creates or replaces) a job; resolves once committed. */
  putJob(job: JobRecord): Promise<void> {
    return this.write(`job ${job.id}`, () => [this.env.jobs.put(job.id, job)]);
  }

  /** The job with this id, or undefined. */
  getJob(id: string): JobRecord | undefined {
    return this.read(`job ${id}`, () => this.env.jobs.get(id));
  }

  /** Every job, oldest first (by `createdAt`, then id). */
  listJobs(): JobRecord[] {
    return this.read('the jobs', () =>
      Array.from(this.env.jobs.getRange(), (entry) => entry.value).sort(
        (a, b) => compareStrings(a.createdAt, b.createdAt) || compareStrings(a.id, b.id),
      ),
    );
  }

  /**
   * Writes finished turns; resolves once committed, rejects with a `StoreError` if not. The puts
   * are queued synchronously, so every call made in the same tick lands in one transaction.
   */
  putTurns(turns: readonly TurnRecord[]): Promise<void> {
    let keys: TurnKeyTuple[];
    try {
      keys = turns.map(keyOf);
    } catch (error) {
      return Promise.reject(this.failure('troupe:store-write-failed', 'could not write turns', error));
    }
    const what = turns.length === 1 ? 'a turn' : `${turns.length} turns`;
    return this.write(what, () =>
      turns.map((turn, index) => this.env.turns.put(keys[index] as TurnKeyTuple, turn)),
    );
  }

  /** The stored turns of a job, optionally narrowed to a model and a sequence, in key order. */
  turnsOf(job: string, model?: string, sequence?: string): TurnRecord[] {
    const turns: TurnRecord[] = [];
    for (const page of this.turnPages(job, model, sequence)) turns.push(...page);
    return turns;
  }

  /**
   * The same turns as `turnsOf`, in pages of at most `pageSize`, each read from the latest
   * committed state: for big jobs, and for readers that pause between pages (a slow pipe).
   */
  *turnPages(
    job: string,
    model?: string,
    sequence?: string,
    pageSize: number = DEFAULT_TURN_PAGE_SIZE,
  ): Generator<TurnRecord[], void, undefined> {
    const prefix: Key[] = [job];
    if (model !== undefined) {
      prefix.push(model);
      if (sequence !== undefined) prefix.push(sequence);
    }
    const sequenceFilter = model === undefined ? sequence : undefined;
    const end = [...prefix, AFTER_ALL_KEYS];
    let after: Key | undefined;
    while (true) {
      const entries = this.read(`the turns of job ${job}`, () =>
        Array.from(
          this.env.turns.getRange({
            start: after ?? prefix,
            exclusiveStart: after !== undefined,
            end,
            limit: pageSize,
          }),
        ),
      );
      const last = entries.at(-1);
      if (!last) return;
      after = last.key;
      const page = entries.map((entry) => entry.value);
      yield sequenceFilter === undefined ? page : page.filter((turn) => turn.sequence === sequenceFilter);
      if (entries.length < pageSize) return;
    }
  }

  /** How many turns of a job are stored, by status (optionally narrowed like `turnsOf`). */
  countTurns(job: string, model?: string, sequence?: string): TurnCounts {
    const counts: Record<TurnStatus, number> = { ok: 0, failed: 0, skipped: 0 };
    for (const page of this.turnPages(job, model, sequence)) {
      for (const turn of page) counts[turn.status] += 1;
    }
    return { ...counts, total: counts.ok + counts.failed + counts.skipped };
  }

  /** Waits until everything committed so far is on disk (fsync). Resolves at once when read-only. */
  async flush(): Promise<void> {
    this.assertOpen();
    if (this.readOnly) return;
    try {
      await this.env.root.flushed;
    } catch (error) {
      throw this.failure('troupe:store-write-failed', 'could not flush the store to disk', error);
    }
  }

  /** Closes this handle; the environment closes with the last handle of the process, after pending writes. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await releaseEnvironment(this.env);
  }

  private async write(what: string, start: () => Promise<boolean>[]): Promise<void> {
    this.assertOpen();
    if (this.readOnly) {
      throw new StoreError(
        'troupe:store-read-only',
        `cannot write ${what}: the store in ${this.dataDir} is open read-only`,
        this.dataDir,
      );
    }
    let pending: Promise<boolean>[];
    try {
      pending = start();
    } catch (error) {
      throw this.failure('troupe:store-write-failed', `could not write ${what}`, error);
    }
    try {
      await Promise.all(pending);
    } catch (error) {
      throw this.failure('troupe:store-write-failed', `could not write ${what}`, error);
    }
  }

  private read<T>(what: string, work: () => T): T {
    this.assertOpen();
    try {
      // Another process's commits become visible only to a fresh read transaction.
      this.env.root.resetReadTxn();
      return work();
    } catch (error) {
      throw this.failure('troupe:store-read-failed', `could not read ${what}`, error);
    }
  }

  private assertOpen(): void {
    if (this.closed) {
      throw new StoreError('troupe:store-closed', `the store in ${this.dataDir} is closed`, this.dataDir);
    }
  }

  private failure(
    code: 'troupe:store-write-failed' | 'troupe:store-read-failed',
    what: string,
    error: unknown,
  ) {
    const reason = error instanceof Error ? error.message : String(error);
    return new StoreError(code, `${what} in the store in ${this.dataDir}: ${reason}`, this.dataDir, error);
  }
}

function keyOf(turn: TurnKey): TurnKeyTuple {
  for (const field of ['job', 'model', 'sequence'] as const) {
    if (typeof turn[field] !== 'string') throw new Error(`turn ${field} must be a string`);
  }
  for (const field of ['run', 'turn'] as const) {
    if (!Number.isSafeInteger(turn[field]) || turn[field] < 1) {
      throw new Error(`turn ${field} must be an integer from 1, found ${String(turn[field])}`);
    }
  }
  return [turn.job, turn.model, turn.sequence, turn.run, turn.turn];
}

function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
