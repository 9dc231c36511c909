/**
 * Opening the LMDB environment of a data directory: checks that refuse anything that is not a
 * troupe store of a format this code understands (without modifying it), creation of a new
 * store, and sharing of one environment per directory within a process.
 */
import { constants as fsConstants } from 'node:fs';
import { access, link, lstat, mkdir, mkdtemp, readdir, realpath, rm, stat } from 'node:fs/promises';
import path from 'node:path';

import { Packr } from 'msgpackr';
import { open } from 'lmdb';
import type { Database, DatabaseOptions, Key, RootDatabase, RootDatabaseOptions } from 'lmdb';

import type { SpendState } from '../planning/spend-ledger.js';
import type { JobLease, JobRecord, ModelProgress, SequenceRecord, TurnRecord } from './records.js';
import { checkDataFile, LMDB_DATA_FILE, LMDB_LOCK_FILE } from './lmdb-file-check.js';
import { withOpenLock } from './open-lock.js';
import { decodeRecord, isEnveloped } from './record-codec.js';
import { RecordDatabase } from './record-database.js';
import type { DamagedRecord } from './record-database.js';
import { ignoreLmdbInternalCommitRejections } from './store-damage.js';
import { StoreError } from './store-error.js';
import type { StoreErrorCode } from './store-error.js';

/**
 * The store format this code reads and writes; kept under `formatVersion` in the `meta` database.
 * Version 2: every record carries a checksum (record-codec.ts). Version 1 had none.
 */
export const STORE_FORMAT_VERSION = 2;

/**
 * Files troupe keeps in a data directory beside LMDB's: finding one of them (or LMDB's lock file)
 * without a data file means the store was lost, not that the directory is new.
 */
export const TROUPE_SIDE_FILES: readonly string[] = [LMDB_LOCK_FILE, 'daemon.json'];

/** Mode of a data directory troupe creates: results may be sensitive, so only the owner may enter. */
export const DATA_DIR_MODE = 0o700;
/** Mode of the LMDB files troupe creates. */
export const DATA_FILE_MODE = 0o600;

const META_DB = 'meta';
const JOBS_DB = 'jobs';
const TURNS_DB = 'turns';
const LEASES_DB = 'leases';
const SPEND_DB = 'spend';
const PROGRESS_DB = 'progress';
const SEQUENCES_DB = 'sequences';
const FORMAT_VERSION_KEY = 'formatVersion';
/**
 * Every named database of the store. A new record type adds its database here and to
 * `LmdbEnvironment` (opened with `openRecordDatabase`): `troupe verify` checks, and
 * `verify --salvage` copies, exactly the databases listed here.
 */
export const DATABASE_NAMES: readonly string[] = [
  META_DB,
  JOBS_DB,
  TURNS_DB,
  LEASES_DB,
  SPEND_DB,
  PROGRESS_DB,
  SEQUENCES_DB,
];
const DATABASE_NAME_SET: ReadonlySet<string> = new Set(DATABASE_NAMES);
/** Reads the bare msgpack value a version-1 store keeps as its format version. */
const legacyPackr = new Packr({ useRecords: false });
/** Named databases seen in a foreign root are listed in the refusal up to this many. */
const LISTED_NAMES_MAX = 5;

/** lmdb-js accepts `create: false` (open only if it exists) but its typings do not declare it. */
const OPEN_EXISTING: DatabaseOptions & { create: boolean } = { create: false };

// Error codes of LMDB itself (lmdb.h) that mean "this file is not an environment we can use".
const MDB_VERSION_MISMATCH = -30794;
const MDB_INVALID = -30793;
const MDB_INCOMPATIBLE = -30784;

/** One open LMDB environment of a data directory, shared by every store object of the process on it. */
export interface LmdbEnvironment {
  /** The data directory, resolved (symlinks followed). */
  readonly dir: string;
  readonly root: RootDatabase;
  readonly meta: RecordDatabase<unknown, string>;
  /** Job records by job id. */
  readonly jobs: RecordDatabase<JobRecord, string>;
  /** Turn records by `[job, model, sequence, run, turn]`. */
  readonly turns: RecordDatabase<TurnRecord, Key>;
  /** The lease of each job being run, by job id (one owner per job). */
  readonly leases: RecordDatabase<JobLease, string>;
  /** The spend of each job with a spend cap (spent and reserved per provider), by job id. */
  readonly spend: RecordDatabase<SpendState, string>;
  /** Where each (job, model) stands (`ModelProgress`), by `[job, model]`. */
  readonly progress: RecordDatabase<ModelProgress, Key>;
  /** A job's sequences by `[job, sequence id]`. */
  readonly sequences: RecordDatabase<SequenceRecord, Key>;
  /** Whether LMDB was opened for writing (a read-only open shares a writable one already open). */
  readonly writable: boolean;
  /** Asynchronous write transactions this process has committed in this environment. */
  readonly writeTransactions: () => number;
  /** The first damaged record a read of this process met: from then on, writes are refused. */
  readonly damage: () => DamagedRecord | undefined;
  /** Records damage found outside a record's check (LMDB failing a read of its own structure). */
  readonly reportDamage: (damaged: DamagedRecord) => void;
  /** The first write of this process that failed (a full disk, an I/O error): from then on, writes are refused. */
  readonly writeFailure: () => StoreError | undefined;
  /** Records a failed write. */
  readonly reportWriteFailure: (failure: StoreError) => void;
}

interface Shared {
  readonly env: LmdbEnvironment;
  refs: number;
}

const shared = new Map<string, Shared>();
/**
 * Opens and closes of one directory run one after the other: lmdb-js silently shares one native
 * environment per file within a process, with the flags of whoever opened it first, so a second
 * open racing a close would inherit a closing (or read-only) environment.
 */
const directoryQueues = new Map<string, Promise<unknown>>();

function serialized<T>(dir: string, work: () => Promise<T>): Promise<T> {
  const previous = directoryQueues.get(dir) ?? Promise.resolve();
  const result = previous.then(work, work);
  const settled = result.then(
    () => undefined,
    () => undefined,
  );
  directoryQueues.set(dir, settled);
  void settled.then(() => {
    if (directoryQueues.get(dir) === settled) directoryQueues.delete(dir);
  });
  return result;
}

/**
 * Opens (or shares) the environment of `dataDir`. A writable open creates the directory
 * (mode 0700) and a new store if there is none; a read-only open never creates anything.
 * Refuses, with a `StoreError` and without modifying anything, a directory holding data that is
 * not a troupe store, a damaged one, or one written by a newer format.
 */
export async function acquireEnvironment(dataDir: string, readOnly: boolean): Promise<LmdbEnvironment> {
  if (!readOnly) ignoreLmdbInternalCommitRejections();
  const dir = await prepareDirectory(dataDir, readOnly);
  return serialized(dir, async () => {
    const existing = shared.get(dir);
    if (existing) {
      if (!readOnly && !existing.env.writable) {
        throw new StoreError(
          'troupe:store-busy',
          `the store in ${dataDir} is already open read-only in this process; close it before opening it for writing`,
          dataDir,
        );
      }
      existing.refs += 1;
      return existing.env;
    }
    const env = await withOpenLock(dir, dataDir, () => openEnvironment(dir, dataDir, readOnly));
    shared.set(dir, { env, refs: 1 });
    return env;
  });
}

/** Gives back an environment from `acquireEnvironment`; the last release closes it (after pending writes). */
export function releaseEnvironment(env: LmdbEnvironment): Promise<void> {
  return serialized(env.dir, async () => {
    const entry = shared.get(env.dir);
    if (!entry || entry.env !== env) return;
    entry.refs -= 1;
    if (entry.refs > 0) return;
    shared.delete(env.dir);
    await withOpenLock(env.dir, env.dir, () => env.root.close());
  });
}

async function prepareDirectory(dataDir: string, readOnly: boolean): Promise<string> {
  try {
    const stats = await stat(dataDir);
    if (!stats.isDirectory()) {
      throw new StoreError(
        'troupe:store-not-a-directory',
        `the data directory ${dataDir} is a file, not a directory`,
        dataDir,
      );
    }
  } catch (error) {
    if (error instanceof StoreError) throw error;
    if (errnoCode(error) !== 'ENOENT') throw fileSystemError(dataDir, error, 'cannot read');
    if (readOnly) {
      throw new StoreError(
        'troupe:store-missing',
        `there is no troupe store in ${dataDir} (no such directory)`,
        dataDir,
      );
    }
    try {
      await mkdir(dataDir, { recursive: true, mode: DATA_DIR_MODE });
    } catch (mkdirError) {
      throw fileSystemError(dataDir, mkdirError, 'cannot create');
    }
  }
  // LMDB needs to write its lock file even to read.
  const needed = fsConstants.R_OK | fsConstants.W_OK | fsConstants.X_OK;
  try {
    await access(dataDir, needed);
    return await realpath(dataDir);
  } catch (error) {
    throw fileSystemError(dataDir, error, readOnly ? 'cannot read' : 'cannot write');
  }
}

function fileSystemError(dataDir: string, error: unknown, what: string): StoreError {
  const code = errnoCode(error);
  const storeCode: StoreErrorCode =
    code === 'ENOTDIR' ? 'troupe:store-not-a-directory' : 'troupe:store-inaccessible';
  const reason = code === 'EACCES' || code === 'EPERM' ? 'permission denied' : describe(error);
  return new StoreError(storeCode, `${what} the data directory ${dataDir}: ${reason}`, dataDir, error);
}

async function openEnvironment(dir: string, dataDir: string, readOnly: boolean): Promise<LmdbEnvironment> {
  const dataFile = path.join(dir, LMDB_DATA_FILE);
  const dataFileState = await inspectDataFile(dataFile, dataDir);
  if (dataFileState === 'none') {
    const sideFiles = await troupeFilesIn(dir);
    if (sideFiles.length > 0) {
      throw refusal(
        dataDir,
        'troupe:store-damaged',
        `${LMDB_DATA_FILE} is missing or empty, yet ${sideFiles.join(' and ')} ${sideFiles.length > 1 ? 'are' : 'is'} there: the store was lost or damaged, it is not a new one. Move the directory aside to start afresh`,
      );
    }
    if (readOnly) {
      throw new StoreError('troupe:store-missing', `there is no troupe store in ${dataDir}`, dataDir);
    }
    await createStore(dir, dataDir);
    return openWritable(dir, dataDir);
  }

  // Probe read-only first, so that a refused store is never opened for writing at all.
  const probe = openRoot(dir, dataDir, true);
  let verdict: Verdict;
  try {
    verdict = inspectRoot(probe);
  } catch (error) {
    await probe.close();
    throw refusal(
      dataDir,
      'troupe:store-unrecognized',
      `it cannot be read as a troupe store (${describe(error)})`,
      error,
    );
  }
  if (verdict.kind === 'refused') {
    await probe.close();
    throw refusal(dataDir, verdict.code, verdict.reason);
  }
  if (readOnly) {
    try {
      return environmentOf(dir, probe, false);
    } catch (error) {
      await probe.close();
      throw refusal(dataDir, 'troupe:store-unrecognized', describe(error), error);
    }
  }
  await probe.close();
  return openWritable(dir, dataDir);
}

/** The troupe files (other than the data file) present in `dir`. */
async function troupeFilesIn(dir: string): Promise<string[]> {
  const names = new Set(await readdir(dir).catch(() => [] as string[]));
  return TROUPE_SIDE_FILES.filter((name) => names.has(name));
}

/**
 * Creates a new store beside the data directory's final place and moves its data file in with a
 * link that never replaces: a data file only ever appears whole (meta database written), so an
 * empty or missing one always means a damaged store. Of two processes creating at once, the first
 * link wins and the other opens what it made.
 */
async function createStore(dir: string, dataDir: string): Promise<void> {
  let scratch: string | undefined;
  try {
    scratch = await mkdtemp(path.join(dir, '.creating-'));
    const root = openRoot(scratch, dataDir, false);
    try {
      const env = environmentOf(scratch, root, true);
      root.transactionSync(() => env.meta.putSync(FORMAT_VERSION_KEY, STORE_FORMAT_VERSION));
      await root.flushed;
    } finally {
      await root.close();
    }
    try {
      await link(path.join(scratch, LMDB_DATA_FILE), path.join(dir, LMDB_DATA_FILE));
    } catch (error) {
      if (errnoCode(error) !== 'EEXIST') throw error;
    }
  } catch (error) {
    if (error instanceof StoreError) throw error;
    throw fileSystemError(dataDir, error, 'cannot create a store in');
  } finally {
    if (scratch !== undefined) await rm(scratch, { recursive: true, force: true });
  }
}

async function inspectDataFile(dataFile: string, dataDir: string): Promise<'none' | 'lmdb'> {
  try {
    const stats = await lstat(dataFile);
    if (!stats.isFile()) {
      throw refusal(dataDir, 'troupe:store-unrecognized', `${LMDB_DATA_FILE} is not a regular file`);
    }
    const check = await checkDataFile(dataFile);
    if (check.kind === 'invalid') {
      throw refusal(
        dataDir,
        'troupe:store-unrecognized',
        `${LMDB_DATA_FILE} is not an LMDB file: ${check.reason}`,
      );
    }
    if (check.kind === 'truncated') {
      throw refusal(dataDir, 'troupe:store-damaged', `${LMDB_DATA_FILE} is damaged: ${check.reason}`);
    }
    return check.kind === 'empty' ? 'none' : 'lmdb';
  } catch (error) {
    if (error instanceof StoreError) throw error;
    if (errnoCode(error) === 'ENOENT') return 'none';
    throw fileSystemError(dataDir, error, 'cannot read');
  }
}

function refusal(dataDir: string, code: StoreErrorCode, reason: string, cause?: unknown): StoreError {
  const what = code === 'troupe:store-newer-format' ? 'refusing the store in' : 'refusing to use';
  return new StoreError(code, `${what} ${dataDir}: ${reason}. Nothing was changed.`, dataDir, cause);
}

type Verdict =
  | { readonly kind: 'current' }
  | { readonly kind: 'refused'; readonly code: StoreErrorCode; readonly reason: string };

/** Reads the meta database of an open root and says whether this code may use the store. */
function inspectRoot(root: RootDatabase): Verdict {
  const meta = root.openDB<Buffer, string>(META_DB, { ...OPEN_EXISTING, encoding: 'binary' });
  if (meta) {
    const bytes = meta.get(FORMAT_VERSION_KEY);
    if (bytes === undefined) return judgeVersion(undefined);
    if (!isEnveloped(bytes)) {
      let legacy: unknown;
      try {
        legacy = legacyPackr.unpack(bytes);
      } catch {
        legacy = undefined;
      }
      if (legacy === 1) {
        return {
          kind: 'refused',
          code: 'troupe:store-older-format',
          reason: `it has format version 1 (written by an older troupe, without record checksums), and this troupe reads version ${STORE_FORMAT_VERSION}; read it with the troupe that wrote it`,
        };
      }
      return judgeVersion(legacy);
    }
    const decoded = decodeRecord<unknown>(FORMAT_VERSION_KEY, bytes);
    if (!decoded.ok) {
      return {
        kind: 'refused',
        code: 'troupe:store-damaged',
        reason: `its format version record is damaged (${decoded.reason})`,
      };
    }
    return judgeVersion(decoded.value);
  }

  const names = [...root.getKeys()].map((key) => String(key));
  const foreign = names.filter((name) => !DATABASE_NAME_SET.has(name));
  if (foreign.length > 0) {
    const listed = foreign.slice(0, LISTED_NAMES_MAX).join(', ');
    return {
      kind: 'refused',
      code: 'troupe:store-unrecognized',
      reason: `it holds data (${listed}${foreign.length > LISTED_NAMES_MAX ? ', …' : ''}) but no troupe meta database`,
    };
  }
  // A data file appears only once its meta database is written (createStore): without it, it is damaged.
  return {
    kind: 'refused',
    code: 'troupe:store-damaged',
    reason: 'its meta database is missing',
  };
}

function judgeVersion(version: unknown): Verdict {
  if (typeof version !== 'number' || !Number.isSafeInteger(version) || version < 1) {
    return {
      kind: 'refused',
      code: 'troupe:store-unrecognized',
      reason: `its meta database holds ${FORMAT_VERSION_KEY} = ${JSON.stringify(version) ?? 'nothing'}, expected a positive integer`,
    };
  }
  if (version > STORE_FORMAT_VERSION) {
    return {
      kind: 'refused',
      code: 'troupe:store-newer-format',
      reason: `it has format version ${version}, and this troupe reads up to version ${STORE_FORMAT_VERSION}; upgrade troupe`,
    };
  }
  if (version < STORE_FORMAT_VERSION) {
    return {
      kind: 'refused',
      code: 'troupe:store-older-format',
      reason: `it has format version ${version}, and this troupe reads version ${STORE_FORMAT_VERSION}; read it with the troupe that wrote it`,
    };
  }
  return { kind: 'current' };
}

function openRoot(dir: string, dataDir: string, readOnly: boolean): RootDatabase {
  const options: RootDatabaseOptions & { permissionsMode: number } = {
    // Explicit: lmdb-js treats a path with an extension (`results.d`) as a file name otherwise.
    noSubdir: false,
    readOnly,
    // Off, though lmdb-js turns it on by default on Linux: with it, a read-only open and close of
    // the environment in another process (`troupe results` while the daemon runs) lost commits
    // that writers had already acknowledged: up to a few percent of the turns written meanwhile,
    // in most runs of a two-writer stress test, once with a crash of a writer. Without it, none
    // were lost, and a commit is on disk before its put resolves.
    overlappingSync: false,
    permissionsMode: DATA_FILE_MODE,
  };
  try {
    return open(dir, options);
  } catch (error) {
    throw lmdbOpenError(dataDir, error);
  }
}

function lmdbOpenError(dataDir: string, error: unknown): StoreError {
  const code = (error as { code?: unknown } | null)?.code;
  if (code === MDB_INVALID || code === MDB_VERSION_MISMATCH || code === MDB_INCOMPATIBLE) {
    return refusal(dataDir, 'troupe:store-unrecognized', `LMDB cannot open it (${describe(error)})`, error);
  }
  const reason = code === 13 || code === 1 ? 'permission denied' : describe(error);
  return new StoreError(
    'troupe:store-inaccessible',
    `cannot open the store in ${dataDir}: ${reason}`,
    dataDir,
    error,
  );
}

async function openWritable(dir: string, dataDir: string): Promise<LmdbEnvironment> {
  const root = openRoot(dir, dataDir, false);
  try {
    const env = environmentOf(dir, root, true);
    const verdict = inspectRoot(root);
    if (verdict.kind === 'refused') throw refusal(dataDir, verdict.code, verdict.reason);
    return env;
  } catch (error) {
    await root.close();
    if (error instanceof StoreError) throw error;
    throw lmdbOpenError(dataDir, error);
  }
}

/**
 * Opens a named database of checksummed records. Every database of the store is opened here:
 * its values pass the record codec (a CRC-32 over key and payload, checked on every read).
 */
export function openRecordDatabase<V, K extends Key>(
  root: RootDatabase,
  name: string,
  writable: boolean,
  onDamage: (damaged: DamagedRecord) => void,
): RecordDatabase<V, K> {
  const options: DatabaseOptions & { create?: boolean } = { encoding: 'binary' };
  if (!writable) options.create = false;
  // lmdb-js returns undefined for a database that does not exist in a read-only open: no record
  // of that type was ever written, and the record database reads as empty.
  const db = root.openDB<Buffer, K>(name, options) as Database<Buffer, K> | undefined;
  return new RecordDatabase<V, K>(name, db, onDamage);
}

function environmentOf(dir: string, root: RootDatabase, writable: boolean): LmdbEnvironment {
  let writeTransactions = 0;
  let damage: DamagedRecord | undefined;
  const onDamage = (damaged: DamagedRecord): void => {
    damage ??= damaged;
  };
  let writeFailure: StoreError | undefined;
  const openNamed = <V, K extends Key>(name: string): RecordDatabase<V, K> =>
    openRecordDatabase<V, K>(root, name, writable, onDamage);
  const env: LmdbEnvironment = {
    dir,
    root,
    meta: openNamed<unknown, string>(META_DB),
    jobs: openNamed<JobRecord, string>(JOBS_DB),
    turns: openNamed<TurnRecord, Key>(TURNS_DB),
    leases: openNamed<JobLease, string>(LEASES_DB),
    spend: openNamed<SpendState, string>(SPEND_DB),
    progress: openNamed<ModelProgress, Key>(PROGRESS_DB),
    sequences: openNamed<SequenceRecord, Key>(SEQUENCES_DB),
    writable,
    writeTransactions: () => writeTransactions,
    damage: () => damage,
    reportDamage: onDamage,
    writeFailure: () => writeFailure,
    reportWriteFailure: (failure) => {
      writeFailure ??= failure;
    },
  };
  if (writable) {
    root.on('aftercommit', () => {
      writeTransactions += 1;
    });
  }
  return env;
}

function errnoCode(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
