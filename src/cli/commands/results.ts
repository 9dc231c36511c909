/** `troupe results <job>`: prints a job's stored turns, also while another process still writes them. */
import { once } from 'node:events';

import { InputError } from '../../errors.js';
import { formatTurnChunks } from '../../results/format.js';
import type { ResultFormat } from '../../results/format.js';
import { openLmdbStore } from '../../store/lmdb-store.js';
import type { LmdbCheckpointStore } from '../../store/lmdb-store.js';
import type { JobRecord, TurnRecord } from '../../store/records.js';
import type { DamagedRecord } from '../../store/record-database.js';

/** Job ids listed when the one asked for does not exist. */
const KNOWN_JOBS_LISTED = 5;

/** Options of `troupe results`. */
export interface ResultsOptions {
  /** Id of the job. */
  job: string;
  /** The store's directory. */
  dataDir: string;
  format: ResultFormat;
  /** Only this model's turns (a model id of the job's suite). */
  model?: string;
  /** Only this sequence's turns (a sequence id of the job's suite). */
  sequence?: string;
}

/**
 * Writes the job's turns to `out` in key order (model, sequence, run, turn), waiting for `out`
 * to drain when it asks to. Opens the store read-only, so a daemon may keep writing meanwhile;
 * the turns are read page by page, each page from the latest committed state. An unknown job,
 * model or sequence is an `InputError` naming what exists; a missing or unusable store a
 * `StoreError`. Stops quietly if `out` is a pipe whose reader went away.
 */
export async function runResults(options: ResultsOptions, out: NodeJS.WritableStream): Promise<void> {
  const store = await openLmdbStore(options.dataDir, { readOnly: true });
  try {
    const job = store.getJob(options.job);
    if (!job) throw unknownJob(store, options);
    checkFilter('--model', options.model, job.suite.models, job);
    if (options.sequence !== undefined && store.getSequence(job.id, options.sequence) === undefined) {
      throw unknownSequence(store, job, options.sequence);
    }
    // Damaged turns are never printed: every intact one is, then the damaged ones are named (exit 3).
    const damaged: DamagedRecord[] = [];
    let intact = 0;
    const pages = store.turnPages(options.job, options.model, options.sequence, RESULTS_PAGE_TURNS, damaged);
    const turns = flatten(pages, () => (intact += 1));
    await writeChunks(out, formatTurnChunks(turns, options.format, RESULTS_PAGE_TURNS));
    if (damaged.length > 0) throw store.damagedError(damaged, intact, 'turn');
  } finally {
    await store.close();
  }
}

/**
 * Turns read from the store, and rows formatted, at a time. A page of long answers is megabytes
 * (a 6 KB answer × 1 000 turns, twice over as record and as text): under a 48 MB heap the
 * default page of 1 000 turns left too little headroom for a collector running late on a busy
 * machine. 100 keeps the peak near a megabyte a page for the cost of more read transactions.
 */
const RESULTS_PAGE_TURNS = 100;

function unknownJob(store: LmdbCheckpointStore, options: ResultsOptions): InputError {
  const known = store
    .listJobs()
    .slice(-KNOWN_JOBS_LISTED)
    .map((job) => job.id);
  const hint = known.length > 0 ? `latest: ${known.join(', ')}` : 'it holds no jobs';
  return new InputError(`no job "${options.job}" in ${options.dataDir} (${hint})`);
}

function checkFilter(
  flag: string,
  value: string | undefined,
  known: readonly { readonly id: string }[],
  job: JobRecord,
): void {
  if (value === undefined || known.some((entry) => entry.id === value)) return;
  const ids = known.map((entry) => entry.id).join(', ');
  throw new InputError(`troupe results ${flag}: job ${job.id} has no "${value}" (it has: ${ids})`);
}

/** Sequence ids named when the one asked for does not exist. */
const KNOWN_SEQUENCES_LISTED = 10;

function unknownSequence(store: LmdbCheckpointStore, job: JobRecord, sequence: string): InputError {
  const [first = []] = store.sequencePages(job.id, { pageSize: KNOWN_SEQUENCES_LISTED });
  const more = job.sequences.count - first.length;
  const ids = first.map((s) => s.id).join(', ') + (more > 0 ? `, … (${job.sequences.count} in all)` : '');
  return new InputError(`troupe results --sequence: job ${job.id} has no "${sequence}" (it has: ${ids})`);
}

function* flatten(pages: Iterable<TurnRecord[]>, onTurn: () => void): Generator<TurnRecord, void, undefined> {
  for (const page of pages) {
    for (const turn of page) {
      onTurn();
      yield turn;
    }
  }
}

async function writeChunks(out: NodeJS.WritableStream, chunks: Iterable<string>): Promise<void> {
  let failure: unknown;
  const onError = (error: unknown): void => {
    failure ??= error;
  };
  out.on('error', onError);
  try {
    for (const chunk of chunks) {
      if (failure !== undefined || !out.writable) break;
      if (!out.write(chunk)) await drained(out);
    }
  } catch (error) {
    onError(error);
  } finally {
    out.off('error', onError);
  }
  // The reader of a pipe went away (`troupe results … | head`): nothing left to do.
  if (failure !== undefined && (failure as { code?: unknown }).code !== 'EPIPE') throw failure;
}

/** Resolves when `out` drains or closes (the loop then stops), rejects if it fails. */
async function drained(out: NodeJS.WritableStream): Promise<void> {
  const stop = new AbortController();
  try {
    await Promise.race([
      once(out, 'drain', { signal: stop.signal }),
      once(out, 'close', { signal: stop.signal }),
    ]);
  } finally {
    stop.abort();
  }
}
