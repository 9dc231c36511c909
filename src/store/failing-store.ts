import type { SpendState } from '../planning/spend-ledger.js';
import type {
  CheckpointStore,
  JobRecord,
  ModelProgress,
  SequencePageOptions,
  SequenceRecord,
  TurnRecord,
} from './records.js';
import { StoreError } from './store-error.js';

/**
 * A `CheckpointStore` that delegates to a real one but can be told to fail its writes, to prove
 * that a store error stops work instead of losing it. A refused write writes nothing and rejects
 * with a `StoreError` coded `troupe:store-write-failed`, as a transaction that never committed.
 * Reads always delegate.
 */
export class FailingStore implements CheckpointStore {
  /** Writes (`putJob`, `putTurns`) still allowed before every write fails; unlimited by default. */
  private writesLeft = Number.POSITIVE_INFINITY;
  private failOnce = false;
  private succeeded = 0;
  private refused = 0;

  constructor(
    private readonly inner: CheckpointStore,
    /** Named in the errors' messages, as a real store names its data directory. */
    private readonly dataDir = '(failing store)',
  ) {}

  /** Lets `n` more writes through, then fails every write and every `flush` until `heal()`. */
  failWritesAfter(n: number): void {
    this.writesLeft = n;
  }

  /** Fails the next write only; later writes go through. */
  failNextWrite(): void {
    this.failOnce = true;
  }

  /** Stops failing. */
  heal(): void {
    this.writesLeft = Number.POSITIVE_INFINITY;
    this.failOnce = false;
  }

  /** Writes that went through to the real store. */
  get writesSucceeded(): number {
    return this.succeeded;
  }

  /** Writes refused by this wrapper. */
  get writesRefused(): number {
    return this.refused;
  }

  /** Delegates unless told to fail. */
  putJob(job: JobRecord): Promise<void> {
    return this.write(`job ${job.id}`, () => this.inner.putJob(job));
  }

  /** Delegates unless told to fail. */
  putSpend(job: string, spend: SpendState): Promise<void> {
    return this.write(`the spend of job ${job}`, () => this.inner.putSpend(job, spend));
  }

  /** Delegates. */
  getSpend(job: string): SpendState | undefined {
    return this.inner.getSpend(job);
  }

  /** Delegates. */
  getJob(id: string): JobRecord | undefined {
    return this.inner.getJob(id);
  }

  /** Delegates. */
  listJobs(): JobRecord[] {
    return this.inner.listJobs();
  }

  /** Delegates unless told to fail. */
  putSequences(job: string, sequences: readonly SequenceRecord[]): Promise<void> {
    return this.write(`${sequences.length} sequences`, () => this.inner.putSequences(job, sequences));
  }

  /** Delegates. */
  deleteSequences(job: string): Promise<void> {
    return this.inner.deleteSequences(job);
  }

  /** Delegates. */
  getSequence(job: string, id: string): SequenceRecord | undefined {
    return this.inner.getSequence(job, id);
  }

  /** Delegates. */
  sequencePages(job: string, options?: SequencePageOptions): Generator<SequenceRecord[], void, undefined> {
    return this.inner.sequencePages(job, options);
  }

  /** Delegates unless told to fail; a refused call writes none of its turns. */
  putTurns(turns: readonly TurnRecord[]): Promise<void> {
    return this.write(`${turns.length} turns`, () => this.inner.putTurns(turns));
  }

  /** Delegates. */
  turnsOf(job: string, model?: string, sequence?: string): TurnRecord[] {
    return this.inner.turnsOf(job, model, sequence);
  }

  /** Delegates. */
  turnsOfRuns(job: string, model: string, sequence: string, firstRun: number, lastRun: number): TurnRecord[] {
    return this.inner.turnsOfRuns(job, model, sequence, firstRun, lastRun);
  }

  /** Delegates unless told to fail. */
  putModelProgress(progress: ModelProgress): Promise<void> {
    return this.write(`the progress of job ${progress.job}`, () => this.inner.putModelProgress(progress));
  }

  /** Delegates. */
  getModelProgress(job: string, model: string): ModelProgress | undefined {
    return this.inner.getModelProgress(job, model);
  }

  /** Delegates. */
  refuseWrites(reason: string): void {
    this.inner.refuseWrites(reason);
  }

  /** Delegates, or fails once `failWritesAfter` has run out. */
  flush(): Promise<void> {
    if (this.writesLeft <= 0) return Promise.reject(this.injected('flush'));
    return this.inner.flush();
  }

  /** Delegates. */
  close(): Promise<void> {
    return this.inner.close();
  }

  private write(what: string, delegate: () => Promise<void>): Promise<void> {
    if (this.failOnce || this.writesLeft <= 0) {
      this.failOnce = false;
      this.refused += 1;
      return Promise.reject(this.injected(`write ${what}`));
    }
    this.writesLeft -= 1;
    this.succeeded += 1;
    return delegate();
  }

  private injected(what: string): StoreError {
    return new StoreError(
      'troupe:store-write-failed',
      `could not ${what} in the store in ${this.dataDir}: injected failure`,
      this.dataDir,
    );
  }
}
