/**
 * Reads of a store in a process of their own. LMDB has no checksums of its pages and trusts its
 * branch pages: a damaged one can crash the process reading it (SIGSEGV, or SIGABRT from one of
 * its assertions), with no message. The read commands (`results`, `report`, `compare`, `verify`)
 * and `run --resume`'s check of a job therefore read in a child process (reader-main.ts), which
 * writes to this process's stdout directly and to its stderr through it; a child killed by such a
 * signal becomes `troupe:store-damaged` (exit 3) naming the store. The reader is started with this
 * process's Node options (a heap limit applies to it).
 */
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { deserialize, serialize } from 'node:v8';

import { ExitCode, ExitError, InputError } from '../errors.js';
import type { ErrorData } from '../store/records.js';
import { StoreError } from '../store/store-error.js';
import type { StoredJobsQuery, StoredJobView } from '../store/stored-jobs.js';
import type { ScanEnd, ScanPage } from '../store/verify.js';
import type { CompareOptions } from './commands/compare.js';
import type { ReportOptions } from './commands/report.js';
import type { ResultsOptions } from './commands/results.js';

/** Work a reader process does. */
export type ReaderTask =
  | { readonly type: 'results'; readonly options: ResultsOptions }
  | { readonly type: 'report'; readonly options: ReportOptions }
  | { readonly type: 'compare'; readonly options: CompareOptions }
  /** Reads every record of a job (`run --resume`, before it writes anything). */
  | { readonly type: 'check-job'; readonly dataDir: string; readonly job: string }
  /**
   * Reads the jobs of a store for a daemon or `run` (`readStoredJobs`), answering with
   * `stored-jobs`, or with `failed` when it could not: its errors go to the process that asked,
   * not to stderr (a daemon answers its client with them).
   */
  | { readonly type: 'stored-jobs'; readonly dataDir: string; readonly query: StoredJobsQuery }
  /** Walks databases for `verify` (copying them into `out` for `--salvage`), telling each page. */
  | {
      readonly type: 'scan';
      readonly dataDir: string;
      readonly databases: readonly string[];
      readonly out?: string;
    };

/** What a reader process tells its parent, over the IPC channel. */
export type FromReader =
  | { readonly type: 'scan-page'; readonly database: string; readonly page: ScanPage }
  | { readonly type: 'scan-end'; readonly database: string; readonly end: ScanEnd }
  | { readonly type: 'stored-jobs'; readonly jobs: readonly StoredJobView[] }
  /** A task that answers over the channel failed: why, and the exit code it means. */
  | { readonly type: 'failed'; readonly error: ErrorData; readonly exitCode: number };

/**
 * A `FromReader` as it crosses the IPC channel: a structured clone (`v8.serialize`, so that keys
 * of damaged records keep their binary parts), in base64, in Node's JSON framing. Node's own
 * `serialization: 'advanced'` framing now and then failed an internal assertion in the parent
 * (ERR_INTERNAL_ASSERTION) as `verify`'s reader sent its pages, under load.
 */
export interface ReaderEnvelope {
  readonly clone: string;
}

/** Wraps a message for the channel. */
export function sealEnvelope(message: FromReader): ReaderEnvelope {
  return { clone: serialize(message).toString('base64') };
}

function openEnvelope(envelope: ReaderEnvelope): FromReader {
  return deserialize(Buffer.from(envelope.clone, 'base64')) as FromReader;
}

/** How a reader process ended. */
export type ReaderEnd =
  | { readonly kind: 'exited'; readonly code: number }
  /** Killed by a signal of a crash (`CRASH_SIGNALS`): what it read was damaged. */
  | { readonly kind: 'crashed'; readonly signal: NodeJS.Signals };

/** Signals a process dies of when it crashes (a bad memory access, a failed assertion). */
const CRASH_SIGNALS: ReadonlySet<NodeJS.Signals> = new Set([
  'SIGSEGV',
  'SIGBUS',
  'SIGABRT',
  'SIGILL',
  'SIGFPE',
  'SIGTRAP',
  'SIGSYS',
]);

/** Signals sent to this process that the reader gets too, and then ends this process the same way. */
const FORWARDED_SIGNALS: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

/** What V8 writes before it aborts a process whose heap is full. */
const OUT_OF_MEMORY = /JavaScript heap out of memory|Reached heap limit/;

/** The end of a reader's stderr kept to tell why it died, in characters. */
const STDERR_TAIL_CHARS = 4096;

const READER_MAIN = fileURLToPath(new URL('./reader-main.js', import.meta.url));

/**
 * Runs `task` in a reader process and resolves how it ended. Messages it sends go to `onMessage`.
 * A signal this process gets (Ctrl-C, SIGTERM) is passed on; when the reader dies of it, so does
 * this process.
 */
export function runReader(
  task: ReaderTask,
  onMessage?: (message: FromReader) => void,
  options: ReaderOptions = {},
): Promise<ReaderEnd> {
  return new Promise((resolve, reject) => {
    const child = fork(READER_MAIN, [JSON.stringify(task)], {
      // stderr passes through this process, which keeps its end to tell a crash from running out of memory.
      stdio: ['inherit', 'inherit', 'pipe', 'ipc'],
      // JSON framing, each message a structured clone inside (see `ReaderEnvelope`).
    });
    let stderrTail = '';
    child.stderr?.on('data', (chunk: Buffer) => {
      process.stderr.write(chunk);
      stderrTail = (stderrTail + chunk.toString('utf8')).slice(-STDERR_TAIL_CHARS);
    });
    const forwarded: NodeJS.Signals[] = [];
    const forward = (signal: NodeJS.Signals): void => {
      forwarded.push(signal);
      child.kill(signal);
    };
    const forwardedSignals = options.forwardSignals === false ? [] : FORWARDED_SIGNALS;
    for (const signal of forwardedSignals) process.on(signal, forward);
    const stopForwarding = (): void => {
      for (const signal of forwardedSignals) process.off(signal, forward);
      options.signal?.removeEventListener('abort', abort);
    };
    const abort = (): void => {
      child.kill('SIGTERM');
    };
    options.signal?.addEventListener('abort', abort, { once: true });
    if (options.signal?.aborted) abort();
    if (onMessage) child.on('message', (message) => onMessage(openEnvelope(message as ReaderEnvelope)));
    child.on('error', (error) => {
      stopForwarding();
      reject(error);
    });
    // 'close', not 'exit': every message the reader sent has been delivered by then.
    child.on('close', (code, signal) => {
      stopForwarding();
      if (signal !== null && forwarded.includes(signal)) {
        // Ended as the user asked: this process ends the same way, as it would have without a reader.
        process.kill(process.pid, signal);
        return;
      }
      if (signal !== null && OUT_OF_MEMORY.test(stderrTail)) {
        // V8 aborts (SIGABRT) when the heap is full: that says nothing about the store.
        reject(
          new ExitError(`the process reading the store ran out of memory (${signal})`, ExitCode.internal),
        );
      } else if (signal !== null && CRASH_SIGNALS.has(signal)) resolve({ kind: 'crashed', signal });
      else if (signal !== null)
        reject(new ExitError(`the process reading the store was killed by ${signal}`, ExitCode.internal));
      else resolve({ kind: 'exited', code: code ?? ExitCode.internal });
    });
  });
}

/** Options of `runReader`. */
export interface ReaderOptions {
  /**
   * Pass SIGINT, SIGTERM and SIGHUP on to the reader and end this process as the reader ended
   * (a command); default true. A daemon, which handles those signals itself, passes false.
   */
  readonly forwardSignals?: boolean;
  /** Ends the reader (SIGTERM) when aborted; its promise then rejects. */
  readonly signal?: AbortSignal;
}

/**
 * Reads `query` of the store in `dataDir` in a reader process (see stored-jobs.ts). A damaged
 * store is a `troupe:store-damaged` `StoreError` naming it (the reader crashed, or said so), an
 * unknown job an `InputError`.
 */
export async function readStoredJobsInReader(
  dataDir: string,
  query: StoredJobsQuery,
  options: ReaderOptions = {},
): Promise<StoredJobView[]> {
  let jobs: readonly StoredJobView[] | undefined;
  let failure: { readonly error: ErrorData; readonly exitCode: number } | undefined;
  const end = await runReader(
    { type: 'stored-jobs', dataDir, query },
    (message) => {
      if (message.type === 'stored-jobs') jobs = message.jobs;
      else if (message.type === 'failed') failure = message;
    },
    options,
  );
  if (end.kind === 'crashed') throw readerCrashed(dataDir, end.signal);
  if (failure !== undefined) {
    const { error, exitCode } = failure;
    if (exitCode === ExitCode.badInput && error.code === 'troupe:bad-input')
      throw new InputError(error.message);
    if (error.code.startsWith('troupe:store-'))
      throw new StoreError(error.code as StoreError['code'], error.message, dataDir);
    throw new ExitError(error.message, exitCode);
  }
  if (jobs === undefined) {
    throw new ExitError(
      `the process reading the store in ${dataDir} ended (exit ${end.code}) without an answer`,
      ExitCode.internal,
    );
  }
  return [...jobs];
}

/**
 * Runs a read command in a reader process and returns its exit code; a crash of the reader is a
 * `troupe:store-damaged` error naming `dataDir`.
 */
export async function readInReader(task: ReaderTask, dataDir: string): Promise<number> {
  const end = await runReader(task);
  if (end.kind === 'crashed') throw readerCrashed(dataDir, end.signal);
  return end.code;
}

/** The error of a reader that crashed reading the store in `dataDir`. */
export function readerCrashed(dataDir: string, signal: NodeJS.Signals): StoreError {
  return new StoreError(
    'troupe:store-damaged',
    `the store in ${dataDir} is damaged (the reader crashed reading it, ${signal}): troupe verify lists what is intact, troupe verify --salvage --out DIR copies it into a new store`,
    dataDir,
  );
}

/**
 * Reads every record of `job` in the store in `dataDir` in a reader process; throws what the
 * reader found (told on stderr already) or `troupe:store-damaged` when it crashed.
 */
export async function checkJobInReader(dataDir: string, job: string): Promise<void> {
  const code = await readInReader({ type: 'check-job', dataDir, job }, dataDir);
  if (code !== ExitCode.ok) throw new ExitError('', code);
}
