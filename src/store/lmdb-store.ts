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

import type { SpendState } from '../planning/spend-ledger.js';
import type {
  CheckpointStore,
  JobLease,
  JobRecord,
  ModelProgress,
  SequencePageOptions,
  SequenceRecord,
  TurnKey,
  TurnRecord,
  TurnStatus,
} from './records.js';
import { acquireEnvironment, releaseEnvironment } from './lmdb-environment.js';
import type { LmdbEnvironment } from './lmdb-environment.js';
import { IndexDamage } from './record-database.js';
import type { DamagedRecord } from './record-database.js';
import { describeDamage, failedForSpace, isDiskFull } from './store-damage.js';
import { StoreError } from './store-error.js';
import { spaceBelowReserve } from './space-reserve.js';
import { formatBytes } from '../suite/line-reader.js';

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

/** Sequences per page of `sequencePages`, by default. */
export const DEFAULT_SEQUENCE_PAGE_SIZE = 1000;

/** Turns per page of `turnPages`, by default. */
export const DEFAULT_TURN_PAGE_SIZE = 1000;

/** Damaged records named in one error message; the rest are counted. */
const DAMAGED_LISTED_MAX = 10;

/** Keys read past the end of a range walk to tell a damaged, out-of-order key from the range's true end. */
const STRAY_LOOKAHEAD = 3;

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

  /** The job with this id, or undefined. Throws `troupe:store-damaged` when its record fails its check. */
  getJob(id: string): JobRecord | undefined {
    const decoded = this.read(`job ${id}`, () => this.env.jobs.get(id));
    if (decoded === undefined) return undefined;
    if (!decoded.ok)
      throw this.damagedError([{ database: 'jobs', key: id, reason: decoded.reason }], 0, 'job');
    return decoded.value;
  }

  /**
   * Every job, oldest first (by `createdAt`, then id). Throws `troupe:store-damaged`, naming every
   * damaged job record and how many are intact, when any job record fails its check.
   */
  listJobs(): JobRecord[] {
    const jobs: JobRecord[] = [];
    const damaged: DamagedRecord[] = [];
    this.read('the jobs', () => {
      for (const entry of this.env.jobs.entries()) {
        if (entry.ok) jobs.push(entry.value);
        else damaged.push(entry.damaged);
      }
    });
    if (damaged.length > 0) throw this.damagedError(damaged, jobs.length, 'job');
    return jobs.sort((a, b) => compareStrings(a.createdAt, b.createdAt) || compareStrings(a.id, b.id));
  }

  /**
   * Writes a batch of a job's sequences; resolves once committed. A job's sequences are written
   * before its record (see `createJob`), so a job that exists has them all.
   */
  putSequences(job: string, sequences: readonly SequenceRecord[]): Promise<void> {
    const what = `${sequences.length} sequence${sequences.length === 1 ? '' : 's'} of job ${job}`;
    return this.write(what, () =>
      sequences.map((sequence) => this.env.sequences.put([job, sequence.id], sequence)),
    );
  }

  /** Removes every sequence of a job; resolves once committed. */
  async deleteSequences(job: string): Promise<void> {
    const end = [job, AFTER_ALL_KEYS];
    while (true) {
      const keys = this.read(`the sequences of job ${job}`, () =>
        Array.from(this.env.sequences.keys({ start: [job], end, limit: DEFAULT_SEQUENCE_PAGE_SIZE })),
      );
      if (keys.length === 0) return;
      await this.write(`the sequences of job ${job}`, () =>
        keys.map((key) => this.env.sequences.remove(key)),
      );
    }
  }

  /** One sequence of a job by id, or undefined. Throws `troupe:store-damaged` when its record fails its check. */
  getSequence(job: string, id: string): SequenceRecord | undefined {
    const decoded = this.read(`sequence ${id} of job ${job}`, () => this.env.sequences.get([job, id]));
    if (decoded === undefined) return undefined;
    if (!decoded.ok) {
      throw this.damagedError(
        [{ database: 'sequences', key: [job, id], reason: decoded.reason }],
        0,
        'sequence',
      );
    }
    return decoded.value;
  }

  /**
   * A job's sequences in key (id) order, in pages of at most `pageSize`, each page read from the
   * latest committed state. A damaged sequence record ends the pages with `troupe:store-damaged`.
   */
  *sequencePages(
    job: string,
    options: SequencePageOptions = {},
  ): Generator<SequenceRecord[], void, undefined> {
    const pageSize = options.pageSize ?? DEFAULT_SEQUENCE_PAGE_SIZE;
    const end = [job, AFTER_ALL_KEYS];
    let from: { key: Key; exclusive: boolean } =
      options.after === undefined
        ? { key: [job], exclusive: false }
        : { key: [job, options.after], exclusive: true };
    let intact = 0;
    while (true) {
      const entries = this.read(`the sequences of job ${job}`, () =>
        Array.from(
          this.env.sequences.entries({
            start: from.key,
            exclusiveStart: from.exclusive,
            end,
            limit: pageSize,
          }),
        ),
      );
      const last = entries.at(-1);
      if (last) from = { key: last.key, exclusive: true };
      const page: SequenceRecord[] = [];
      for (const entry of entries) {
        if (!entry.ok) throw this.damagedError([entry.damaged], intact, 'sequence');
        page.push(entry.value);
      }
      intact += page.length;
      if (page.length > 0) yield page;
      if (entries.length < pageSize) break;
    }
    if (options.after === undefined) this.checkSequenceCount(job, intact);
  }

  /**
   * A walk of all of a job's sequences must meet as many as its record says it has: the check of
   * completeness that catches a walk that lost records without noticing. (A job's sequences are
   * written before its record, so a job with no record yet has nothing to compare with.)
   */
  private checkSequenceCount(job: string, walked: number): void {
    const expected = this.getJob(job)?.sequences.count;
    if (expected === undefined || expected === walked) return;
    const what = `the sequences of job ${job}`;
    const reason = `its record says ${expected} sequences, a walk of them met ${walked}`;
    this.env.reportDamage({ database: 'sequences', key: [job], reason });
    this.throwUnreadable(what, reason, undefined);
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

  /** The stored turns of runs `firstRun`…`lastRun` of one sequence of a model, in key order. */
  turnsOfRuns(job: string, model: string, sequence: string, firstRun: number, lastRun: number): TurnRecord[] {
    const entries = this.read(`the turns of job ${job}`, () =>
      Array.from(
        this.env.turns.entries({
          start: [job, model, sequence, firstRun],
          end: [job, model, sequence, lastRun, AFTER_ALL_KEYS],
        }),
      ),
    );
    const turns: TurnRecord[] = [];
    const damaged: DamagedRecord[] = [];
    for (const entry of entries) {
      if (entry.ok) turns.push(entry.value);
      else damaged.push(entry.damaged);
    }
    if (damaged.length > 0) throw this.damagedError(damaged, turns.length, 'turn');
    return turns;
  }

  /** Writes (replaces) where a (job, model) stands; resolves once committed. */
  putModelProgress(progress: ModelProgress): Promise<void> {
    return this.write(`the progress of job ${progress.job}`, () => [
      this.env.progress.put([progress.job, progress.model], progress),
    ]);
  }

  /** Where a (job, model) stood when last written; undefined if never. */
  getModelProgress(job: string, model: string): ModelProgress | undefined {
    const decoded = this.read(`the progress of job ${job}`, () => this.env.progress.get([job, model]));
    if (decoded === undefined) return undefined;
    if (!decoded.ok)
      throw this.damagedError(
        [{ database: 'progress', key: [job, model], reason: decoded.reason }],
        0,
        'progress',
      );
    return decoded.value;
  }

  /**
   * The same turns as `turnsOf`, in pages of at most `pageSize`, each read from the latest
   * committed state: for big jobs, and for readers that pause between pages (a slow pipe).
   * A damaged turn record is never yielded: once every intact page is out, the generator throws
   * `troupe:store-damaged` naming each damaged turn and how many turns were intact.
   */
  *turnPages(
    job: string,
    model?: string,
    sequence?: string,
    pageSize: number = DEFAULT_TURN_PAGE_SIZE,
    /** When given, damaged records are added here instead of ending the pages with a throw. */
    damagedSink?: DamagedRecord[],
  ): Generator<TurnRecord[], void, undefined> {
    const prefix: Key[] = [job];
    if (model !== undefined) {
      prefix.push(model);
      if (sequence !== undefined) prefix.push(sequence);
    }
    const sequenceFilter = model === undefined ? sequence : undefined;
    const end = [...prefix, AFTER_ALL_KEYS];
    const damaged: DamagedRecord[] = damagedSink ?? [];
    let intact = 0;
    let from: { key: Key; exclusive: boolean } = { key: prefix, exclusive: false };
    const strays = new OnceSet();
    while (true) {
      const entries = this.read(`the turns of job ${job}`, () =>
        Array.from(
          this.env.turns.entries({ start: from.key, exclusiveStart: from.exclusive, end, limit: pageSize }),
        ),
      );
      const last = entries.at(-1);
      if (last) from = { key: last.key, exclusive: true };
      const page: TurnRecord[] = [];
      for (const entry of entries) {
        if (!entry.ok) damaged.push(entry.damaged);
        else if (sequenceFilter === undefined || entry.value.sequence === sequenceFilter)
          page.push(entry.value);
      }
      intact += page.length;
      if (page.length > 0) yield page;
      if (entries.length < pageSize) {
        const stray = this.read(`the turns of job ${job}`, () => this.strayKey(prefix, from));
        // Each stray key once: a walk that meets one again is going round in a damaged tree.
        if (stray === undefined || !strays.add(JSON.stringify(stray.key))) break;
        // A key damaged on disk to sort past the range would end the walk early, silently
        // dropping every turn stored after it: that record is damaged, and the walk goes on
        // from the next key of the range.
        damaged.push({ database: 'turns', key: stray.key, reason: 'its key is out of order (damaged)' });
        from = { key: stray.resume, exclusive: false };
      }
    }
    if (damaged.length > 0 && damagedSink === undefined) throw this.damagedError(damaged, intact, 'turn');
  }

  /**
   * After a range walk of `prefix` stopped (after `after`), the key that stopped it when keys of the
   * range follow it (so it is out of order), else undefined: LMDB returns keys in page order, and a
   * range ends at the first key past its end.
   */
  private strayKey(
    prefix: readonly Key[],
    from: { key: Key; exclusive: boolean },
  ): { key: Key; resume: Key } | undefined {
    const next = Array.from(
      this.env.turns.keys({ start: from.key, exclusiveStart: from.exclusive, limit: STRAY_LOOKAHEAD }),
    );
    const [first, ...rest] = next;
    if (first === undefined || hasPrefix(first, prefix)) return undefined;
    const resume = rest.find((key) => hasPrefix(key, prefix));
    return resume === undefined ? undefined : { key: first, resume };
  }

  /** How many turns of a job are stored, by status (optionally narrowed like `turnsOf`). */
  countTurns(job: string, model?: string, sequence?: string): TurnCounts {
    const counts: Record<TurnStatus, number> = { ok: 0, failed: 0, skipped: 0 };
    for (const page of this.turnPages(job, model, sequence)) {
      for (const turn of page) counts[turn.status] += 1;
    }
    return { ...counts, total: counts.ok + counts.failed + counts.skipped };
  }

  /**
   * Reads every record of a job (its record, sequences and turns) and throws `troupe:store-damaged`
   * if any fails its check, or if LMDB's index does not lead to it (a damaged branch page misdirects
   * lookups while a walk still passes): what `run --resume` does before it writes anything.
   */
  checkJob(job: string): TurnCounts {
    if (this.getJob(job) === undefined) return { ok: 0, failed: 0, skipped: 0, total: 0 };
    const counts: Record<TurnStatus, number> = { ok: 0, failed: 0, skipped: 0 };
    const misled: DamagedRecord[] = [];
    let sequences = 0;
    for (const page of this.sequencePages(job)) {
      sequences += page.length;
      this.read(`the sequences of job ${job}`, () => {
        for (const sequence of page) {
          if (!this.env.sequences.has([job, sequence.id]))
            misled.push({
              database: 'sequences',
              key: [job, sequence.id],
              reason: "LMDB's index does not lead to it",
            });
        }
      });
    }
    if (misled.length > 0) throw this.damagedError(misled, sequences - misled.length, 'sequence');
    for (const page of this.turnPages(job)) {
      for (const turn of page) counts[turn.status] += 1;
      this.read(`the turns of job ${job}`, () => {
        for (const key of page.map(keyOf)) {
          if (!this.env.turns.has(key))
            misled.push({ database: 'turns', key, reason: "LMDB's index does not lead to it" });
        }
      });
    }
    const total = counts.ok + counts.failed + counts.skipped;
    if (misled.length > 0) throw this.damagedError(misled, total - misled.length, 'turn');
    return { ...counts, total };
  }

  /** A capped job's checkpointed spend, if any (damaged: throws `troupe:store-damaged`). */
  getSpend(job: string): SpendState | undefined {
    const decoded = this.read(`the spend of job ${job}`, () => this.env.spend.get(job));
    if (decoded === undefined) return undefined;
    if (!decoded.ok)
      throw this.damagedError([{ database: 'spend', key: job, reason: decoded.reason }], 0, 'spend record');
    return decoded.value;
  }

  /** Writes a capped job's spend; resolves once committed (a request leaves only after its reservation is). */
  putSpend(job: string, spend: SpendState): Promise<void> {
    return this.write(`the spend of job ${job}`, () => [this.env.spend.put(job, spend)]);
  }

  /** The lease of a job, if any (damaged: throws `troupe:store-damaged`). */
  getLease(job: string): JobLease | undefined {
    const decoded = this.read(`the lease of job ${job}`, () => this.env.leases.get(job));
    if (decoded === undefined) return undefined;
    if (!decoded.ok)
      throw this.damagedError([{ database: 'leases', key: job, reason: decoded.reason }], 0, 'lease');
    return decoded.value;
  }

  /**
   * Takes the lease of `lease.job` for the caller, atomically across processes (inside LMDB's write
   * lock): refuses with `troupe:job-leased` (exit 2), naming the holder, when another holder's
   * lease is live (`isLive` says so); replaces a stale one.
   */
  acquireLease(lease: JobLease, isLive: (held: JobLease) => boolean): void {
    this.assertOpen();
    this.assertWritable(`the lease of job ${lease.job}`);
    let held: JobLease | undefined;
    try {
      this.env.root.transactionSync(() => {
        const current = this.env.leases.get(lease.job);
        if (current && !current.ok)
          throw this.damagedError(
            [{ database: 'leases', key: lease.job, reason: current.reason }],
            0,
            'lease',
          );
        if (current && current.value.token !== lease.token && isLive(current.value)) {
          held = current.value;
          return;
        }
        this.env.leases.putSync(lease.job, lease);
      });
    } catch (error) {
      if (error instanceof StoreError) throw error;
      throw this.leaseWriteFailed(lease.job, error);
    }
    if (held) {
      throw new StoreError(
        'troupe:job-leased',
        `job ${lease.job} is already being run by ${held.owner} (pid ${held.pid} on ${held.host}, since ${held.acquiredAt}, last heartbeat ${held.heartbeatAt}); stop it first, or wait until its lease is stale`,
        this.dataDir,
      );
    }
  }

  /**
   * Renews (or releases, with `next` undefined) a lease this holder took. Resolves false, writing
   * nothing, when the lease is no longer this holder's (another process took it over as stale).
   */
  async renewLease(lease: JobLease, next: JobLease | undefined): Promise<boolean> {
    this.assertOpen();
    this.assertWritable(`the lease of job ${lease.job}`);
    try {
      return await this.env.root.transaction(() => {
        const current = this.env.leases.get(lease.job);
        if (!current?.ok || current.value.token !== lease.token) return false;
        if (next) this.env.leases.putSync(lease.job, next);
        else this.env.leases.removeSync(lease.job);
        return true;
      });
    } catch (error) {
      throw this.leaseWriteFailed(lease.job, error);
    }
  }

  /**
   * From now on, refuses every write to this store in this process, as after meeting a damaged
   * record: a check made elsewhere (a reader process) found the store damaged, `reason` says how.
   */
  refuseWrites(reason: string): void {
    this.env.reportDamage({ database: 'lmdb', key: 'a check of the store', reason });
  }

  /** Waits until everything committed so far is on disk (fsync). Resolves at once when read-only. */
  async flush(): Promise<void> {
    this.assertOpen();
    if (this.readOnly) return;
    try {
      await this.env.root.flushed;
    } catch (error) {
      if (await failedForSpace(error, this.env.dir)) throw this.diskFull('what was committed to disk', error);
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
    this.assertWritable(what);
    const short = spaceBelowReserve(this.env.dir);
    if (short) {
      const detail = `${formatBytes(short.freeBytes)} free, under the ${formatBytes(short.reserveBytes)} troupe keeps in reserve`;
      throw this.diskFull(what, undefined, detail);
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
      const failure = (await failedForSpace(error, this.env.dir))
        ? this.diskFull(what, error)
        : this.failure('troupe:store-write-failed', `could not write ${what}`, error);
      this.env.reportWriteFailure(failure);
      throw failure;
    }
  }

  /** The error of a lease write that failed; from then on, this process writes nothing more. */
  private leaseWriteFailed(job: string, error: unknown): StoreError {
    const failure = this.failure(
      'troupe:store-write-failed',
      `could not write the lease of job ${job}`,
      error,
    );
    this.env.reportWriteFailure(failure);
    return failure;
  }

  private diskFull(what: string, cause: unknown, detail = ''): StoreError {
    return new StoreError(
      'troupe:store-disk-full',
      `could not write ${what}: no space left on ${this.dataDir}${detail === '' ? '' : ` (${detail})`}. What was committed before is intact; free some space and resume`,
      this.dataDir,
      cause,
    );
  }

  private read<T>(what: string, work: () => T): T {
    this.assertOpen();
    try {
      // Another process's commits become visible only to a fresh read transaction.
      this.env.root.resetReadTxn();
      return work();
    } catch (error) {
      if (error instanceof StoreError) throw error;
      // LMDB failing a read of a store that opened means its pages are damaged (a bad page
      // number, flags that contradict each other, an index that leads a walk astray): never
      // written again by this process.
      const message = error instanceof Error ? error.message : String(error);
      const reason = error instanceof IndexDamage ? message : `LMDB says ${message}`;
      this.env.reportDamage({ database: 'lmdb', key: what, reason });
      return this.throwUnreadable(what, reason, error);
    }
  }

  private throwUnreadable(what: string, reason: string, cause: unknown): never {
    throw new StoreError(
      'troupe:store-damaged',
      `could not read ${what} in the store in ${this.dataDir}: ${reason}. The store is damaged; troupe verify reports what is intact and verify --salvage copies it`,
      this.dataDir,
      cause,
    );
  }

  /** Refuses a write to a read-only store, and to one in which a damaged record was met: never written again by this process. */
  private assertWritable(what: string): void {
    if (this.readOnly) {
      throw new StoreError(
        'troupe:store-read-only',
        `cannot write ${what}: the store in ${this.dataDir} is open read-only`,
        this.dataDir,
      );
    }
    // LMDB (lmdb-js) has been seen to corrupt its own heap and abort the process when it commits
    // again after a commit failed for want of space: after one failed write, none is tried.
    const failed = this.env.writeFailure();
    if (failed) {
      throw new StoreError(
        failed.code,
        `refusing to write ${what}: an earlier write to the store failed (${failed.message})`,
        this.dataDir,
        failed,
      );
    }
    const damage = this.env.damage();
    if (damage) {
      throw new StoreError(
        'troupe:store-damaged',
        `refusing to write ${what}: the store in ${this.dataDir} is damaged (${describeDamage(damage)}); check it with troupe verify`,
        this.dataDir,
      );
    }
  }

  /** The error that names damaged records (and how many of their kind read intact). */
  damagedError(records: readonly DamagedRecord[], intact: number, noun: string): StoreError {
    const shown = records.slice(0, DAMAGED_LISTED_MAX).map(describeDamage);
    const more = records.length > shown.length ? `; and ${records.length - shown.length} more` : '';
    return new StoreError(
      'troupe:store-damaged',
      `the store in ${this.dataDir} is damaged: ${records.length} ${noun} record${records.length === 1 ? '' : 's'} failed ${records.length === 1 ? 'its' : 'their'} check (${shown.join('; ')}${more}); ${intact} ${noun}${intact === 1 ? '' : 's'} read intact. Nothing damaged was returned; troupe verify lists every damaged record and verify --salvage copies the intact ones`,
      this.dataDir,
    );
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
    if (code === 'troupe:store-write-failed' && isDiskFull(error)) return this.diskFull(what, error);
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

/** A set whose `add` says whether the value was new. */
class OnceSet {
  private readonly seen = new Set<string>();
  add(value: string): boolean {
    if (this.seen.has(value)) return false;
    this.seen.add(value);
    return true;
  }
}

function hasPrefix(key: Key, prefix: readonly Key[]): boolean {
  return Array.isArray(key) && prefix.every((part, index) => key[index] === part);
}

function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
