/**
 * A job as report and compare read it: piece by piece, in the store's key order (model,
 * sequence, run, turn), so that a job of millions of turns is never held whole.
 */
import { InputError } from '../errors.js';
import type { LmdbCheckpointStore } from '../store/lmdb-store.js';
import type { JobRecord, SequenceRecord, TurnRecord } from '../store/records.js';
import type { SequenceConfig } from '../suite/types.js';

/** Job ids listed when the one asked for does not exist. */
const KNOWN_JOBS_LISTED = 5;

/** A stored job, read on demand. */
export interface JobReader {
  readonly job: JobRecord;
  /** The ids of the job's sequences, in key order (the order of the turns' `sequence`). */
  sequenceIds(): Iterable<string>;
  /** The sequence with this id, or undefined. */
  sequence(id: string): SequenceRecord | undefined;
  /** The turns of one model (every model's, when undefined), optionally of one sequence, in key order. */
  turns(model?: string, sequence?: string): Iterable<TurnRecord>;
}

/** A job, its sequences and its stored turns, in memory (tests, small jobs). */
export interface StoredJob {
  readonly job: JobRecord;
  /** Its sequences, in the suite's order. */
  readonly sequences: readonly SequenceConfig[];
  readonly turns: readonly TurnRecord[];
}

/** The job `id` of `store`, or an `InputError` naming the latest jobs when it is unknown. */
export function storedJobReader(store: LmdbCheckpointStore, id: string, dataDir: string): JobReader {
  const job = store.getJob(id);
  if (!job) {
    const latest = store
      .listJobs()
      .slice(-KNOWN_JOBS_LISTED)
      .map((j) => j.id);
    const hint = latest.length > 0 ? `latest: ${latest.join(', ')}` : 'it holds no jobs';
    throw new InputError(`no job "${id}" in ${dataDir} (${hint})`);
  }
  return {
    job,
    *sequenceIds() {
      for (const page of store.sequencePages(id)) for (const sequence of page) yield sequence.id;
    },
    sequence: (sequenceId) => store.getSequence(id, sequenceId),
    *turns(model, sequence) {
      if (model === undefined && sequence !== undefined) {
        // One range read per model, not a scan of the whole job.
        for (const m of job.suite.models) yield* this.turns(m.id, sequence);
        return;
      }
      for (const page of store.turnPages(id, model, sequence)) yield* page;
    },
  };
}

/** A reader of a job held in memory (its turns in any order). */
export function memoryJobReader(stored: StoredJob): JobReader {
  const byId = new Map(stored.sequences.map((s, index) => [s.id, { ...s, index }]));
  const sorted = [...stored.turns].sort(
    (a, b) =>
      compareKeys(a.model, b.model) ||
      compareKeys(a.sequence, b.sequence) ||
      a.run - b.run ||
      a.turn - b.turn,
  );
  return {
    job: stored.job,
    sequenceIds: () => [...byId.keys()].sort(compareKeys),
    sequence: (sequenceId) => byId.get(sequenceId),
    turns: (model, sequence) =>
      sorted.filter(
        (t) =>
          (model === undefined || t.model === model) && (sequence === undefined || t.sequence === sequence),
      ),
  };
}

/**
 * The store's order of ids: LMDB's ordered-binary keys compare strings by their UTF-8 bytes, which
 * for the ids a suite allows (ASCII letters, digits, `.`, `_`, `-`) is plain code unit order.
 */
export function compareKeys(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The turns of one (model, sequence), in (run, turn) order. */
export interface SequenceTurns {
  readonly model: string;
  readonly sequence: string;
  readonly turns: readonly TurnRecord[];
}

/** Consecutive turns of the same (model, sequence), as the store's key order brings them: one group in memory at a time. */
export function* groupBySequence(turns: Iterable<TurnRecord>): Generator<SequenceTurns, void, undefined> {
  let current: TurnRecord[] = [];
  for (const turn of turns) {
    const first = current[0];
    if (first !== undefined && (first.model !== turn.model || first.sequence !== turn.sequence)) {
      yield { model: first.model, sequence: first.sequence, turns: current };
      current = [];
    }
    current.push(turn);
  }
  const first = current[0];
  if (first !== undefined) yield { model: first.model, sequence: first.sequence, turns: current };
}

/** One (model, sequence) of two jobs: its turns in each (none where a job has none). */
export interface PairedSequence {
  readonly model: string;
  readonly sequence: string;
  readonly before: readonly TurnRecord[];
  readonly after: readonly TurnRecord[];
}

/**
 * For one model, every sequence id of `ids` (ascending, key order) with its turns in both jobs: a
 * merge-join of the two turn streams in key order, one (model, sequence) of each in memory at a
 * time. Turns of sequences not in `ids` are skipped.
 */
export function* pairedSequences(
  model: string,
  ids: Iterable<string>,
  before: Iterable<TurnRecord>,
  after: Iterable<TurnRecord>,
): Generator<PairedSequence, void, undefined> {
  const groupsA = groupBySequence(before)[Symbol.iterator]();
  const groupsB = groupBySequence(after)[Symbol.iterator]();
  let a = groupsA.next();
  let b = groupsB.next();
  for (const sequence of ids) {
    while (!a.done && compareKeys(a.value.sequence, sequence) < 0) a = groupsA.next();
    while (!b.done && compareKeys(b.value.sequence, sequence) < 0) b = groupsB.next();
    const turnsA = !a.done && a.value.sequence === sequence ? a.value.turns : [];
    const turnsB = !b.done && b.value.sequence === sequence ? b.value.turns : [];
    yield { model, sequence, before: turnsA, after: turnsB };
  }
}

/** Ids of two ascending id streams: in both, only in the first, only in the second, in one pass. */
export function* mergeIds(
  first: Iterable<string>,
  second: Iterable<string>,
): Generator<{ readonly id: string; readonly in: 'both' | 'first' | 'second' }, void, undefined> {
  const a = first[Symbol.iterator]();
  const b = second[Symbol.iterator]();
  let x = a.next();
  let y = b.next();
  while (!x.done || !y.done) {
    if (y.done || (!x.done && compareKeys(x.value, y.value) < 0)) {
      yield { id: (x as IteratorYieldResult<string>).value, in: 'first' };
      x = a.next();
    } else if (x.done || compareKeys(x.value, y.value) > 0) {
      yield { id: y.value, in: 'second' };
      y = b.next();
    } else {
      yield { id: x.value, in: 'both' };
      x = a.next();
      y = b.next();
    }
  }
}
