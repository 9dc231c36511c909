import { ExitCode, ExitError } from '../errors.js';

/**
 * Why the checkpoint store failed, as a namespaced code that survives a process boundary:
 * - `troupe:store-missing`: a read-only open found no store in the directory.
 * - `troupe:store-not-a-directory`: the data directory path names a file.
 * - `troupe:store-inaccessible`: the directory or its files cannot be read or written (permissions).
 * - `troupe:store-unrecognized`: the directory holds something that is not a troupe store, or a damaged one.
 * - `troupe:store-newer-format`: the store was written by a newer troupe.
 * - `troupe:store-busy`: this process already has the store open in a mode that cannot be shared.
 * - `troupe:store-read-only`: a write to a store opened read-only.
 * - `troupe:store-closed`: a call after `close()`.
 * - `troupe:store-write-failed`: a write was not committed (disk full, I/O error, a key too long…).
 * - `troupe:store-read-failed`: LMDB failed a read of a store that did open.
 * - `troupe:store-damaged`: a record failed its checksum, or the data file is truncated, empty or
 *   missing beside troupe's other files: the store is refused for writing, damaged records are
 *   never returned as data (`troupe verify` lists them, `verify --salvage` copies the rest).
 * - `troupe:store-older-format`: the store was written by an older troupe, in a format this one no longer reads.
 * - `troupe:store-disk-full`: a write was not committed because the disk is full.
 * - `troupe:job-leased`: the job is being run by another live process (its lease names it).
 */
export type StoreErrorCode =
  | 'troupe:store-missing'
  | 'troupe:store-not-a-directory'
  | 'troupe:store-inaccessible'
  | 'troupe:store-unrecognized'
  | 'troupe:store-newer-format'
  | 'troupe:store-busy'
  | 'troupe:store-read-only'
  | 'troupe:store-closed'
  | 'troupe:store-write-failed'
  | 'troupe:store-read-failed'
  | 'troupe:store-damaged'
  | 'troupe:store-older-format'
  | 'troupe:store-disk-full'
  | 'troupe:job-leased';

/**
 * Refusals to open, where nothing was written and the user must point `--data-dir` elsewhere
 * or fix the directory: these exit with `badInput`. Everything else is troupe's own failure.
 */
const USER_PATH_CODES: ReadonlySet<StoreErrorCode> = new Set([
  'troupe:store-missing',
  'troupe:store-not-a-directory',
  'troupe:store-inaccessible',
  'troupe:store-unrecognized',
  'troupe:store-newer-format',
  'troupe:store-older-format',
  'troupe:job-leased',
]);

/**
 * A checkpoint store failure. The message names the data directory and what was found.
 * Exit code: `ExitCode.badInput` when the store refused to open because of the directory the
 * user gave (missing, a file, permissions, foreign, older or newer data — nothing was modified)
 * and when another live process owns the job; `ExitCode.internal` for a damaged store and for
 * failures of a store that did open (a write not committed, a full disk, use after close).
 */
export class StoreError extends ExitError {
  constructor(
    /** What went wrong, matched by value (never by `instanceof` across processes). */
    readonly code: StoreErrorCode,
    message: string,
    /** The data directory the store lives in. */
    readonly dataDir: string,
    cause?: unknown,
  ) {
    super(message, USER_PATH_CODES.has(code) ? ExitCode.badInput : ExitCode.internal);
    this.name = 'StoreError';
    if (cause !== undefined) this.cause = cause;
  }
}
