import { spawn } from 'node:child_process';
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath, pathToFileURL } from 'node:url';

import { open } from 'lmdb';
import { afterEach, beforeEach, describe, expect, it, onTestFailed } from 'vitest';

import { ExitCode } from '../src/errors.js';
import { FailingStore } from '../src/store/failing-store.js';
import { openLmdbStore, STORE_FORMAT_VERSION, StoreError } from '../src/store/lmdb-store.js';
import type { LmdbCheckpointStore } from '../src/store/lmdb-store.js';
import type { JobRecord, TurnRecord } from '../src/store/records.js';
import { decodeRecord, encodeRecord } from '../src/store/record-codec.js';
import { writeSyntheticJob } from '../src/store/synthetic-job.js';
import { turnRecord as turn } from './helpers/records.js';
import { testRandom } from './helpers/seed.js';

const CHILD_SCRIPT = fileURLToPath(new URL('./fixtures/store-child/child.ts', import.meta.url));
const CHILD_REGISTER = pathToFileURL(
  fileURLToPath(new URL('./fixtures/store-child/register.mjs', import.meta.url)),
).href;
/** The unprivileged user a root test run uses to meet a permission error. */
const NOBODY_ID = 65534;

function job(id: string, createdAt: string): JobRecord {
  return {
    id,
    suite: { name: 'suite', runs: 1, providers: {}, models: [] },
    sequences: { count: 0, prompts: 0, longest: 0, shortest: 0 },
    suitePath: '/suites/suite.yaml',
    state: 'running',
    createdAt,
    finishedAt: null,
  };
}

const keyOf = (t: TurnRecord): string => `${t.job}/${t.model}/${t.sequence}/${t.run}/${t.turn}`;

/** A child process running test/fixtures/store-child/child.ts, read line by line. */
function startChild(args: readonly string[]) {
  const child: ChildProcessWithoutNullStreams = spawn(
    process.execPath,
    ['--import', CHILD_REGISTER, CHILD_SCRIPT, ...args],
    { stdio: 'pipe' },
  );
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  // After 'close' every stream of the child has ended: its stderr is whole.
  const closed = new Promise<string>((resolve) =>
    child.on('close', (code, signal) => resolve(`exit code ${code}, signal ${signal}`)),
  );
  return {
    child,
    exited,
    async nextLine(): Promise<string> {
      const next = await lines.next();
      if (next.done) throw new Error(`child ended without a line (${await closed}); stderr: ${stderr}`);
      return next.value;
    },
  };
}

/**
 * What a refused open must leave untouched: the directory's entries and the data file's bytes and
 * mtime. (LMDB's lock file is not data: every reader, even a refused probe, writes its reader slot.)
 */
async function snapshot(dir: string) {
  const names = (await readdir(dir)).sort();
  const dataFile = join(dir, 'data.mdb');
  const info = await stat(dataFile).catch(() => undefined);
  return { names, mtimeMs: info?.mtimeMs, bytes: info ? await readFile(dataFile) : undefined };
}

async function expectStoreError(
  promise: Promise<unknown>,
  code: string,
  exitCode: number,
): Promise<StoreError> {
  const error: unknown = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(StoreError);
  expect(error).toMatchObject({ code, exitCode });
  return error as StoreError;
}

describe('LMDB checkpoint store', () => {
  let base: string;
  let dataDir: string;
  const open_: LmdbCheckpointStore[] = [];

  const openStore = async (
    dir = dataDir,
    options: { readOnly?: boolean } = {},
  ): Promise<LmdbCheckpointStore> => {
    const store = await openLmdbStore(dir, options);
    open_.push(store);
    return store;
  };

  beforeEach(async () => {
    base = await mkdtemp(join(tmpdir(), 'troupe-store-'));
    dataDir = join(base, 'data');
  });

  afterEach(async () => {
    await Promise.all(open_.splice(0).map((store) => store.close()));
    await rm(base, { recursive: true, force: true });
  });

  it('round-trips jobs and turns, and lists jobs oldest first', async () => {
    const store = await openStore();
    const later = job('20261127-0000-bbbbbb', '2026-11-27T00:00:00.000Z');
    const earlier = job('20261126-2350-zzzzzz', '2026-11-26T23:50:00.000Z');
    await store.putJob(later);
    await store.putJob(earlier);
    expect(store.getJob(later.id)).toEqual(later);
    expect(store.getJob('nope')).toBeUndefined();
    expect(store.listJobs().map((j) => j.id)).toEqual([earlier.id, later.id]);

    const failed = turn({
      turn: 2,
      status: 'failed',
      response: null,
      error: { code: 'troupe:client-error', message: 'bad request' },
      usage: null,
      latencyMs: null,
      attempts: 3,
    });
    await store.putTurns([turn(), failed]);
    expect(store.turnsOf('job-1')).toEqual([turn(), failed]);
    expect(store.countTurns('job-1')).toEqual({ ok: 1, failed: 1, skipped: 0, total: 2 });

    await store.putJob({ ...later, state: 'done', finishedAt: '2026-11-27T00:10:00.000Z' });
    expect(store.getJob(later.id)?.state).toBe('done');
  });

  it('creates the data directory for its owner only, and honours a directory name with a dot', async () => {
    const dotted = join(base, 'nested', 'results.d');
    const store = await openStore(dotted);
    await store.putTurns([turn()]);
    expect((await stat(dotted)).isDirectory()).toBe(true);
    expect((await stat(dotted)).mode & 0o777).toBe(0o700);
    expect((await stat(join(dotted, 'data.mdb'))).mode & 0o777).toBe(0o600);
  });

  it('returns turns in key order: numeric runs and turns, prefix reads that never leak into a longer id', async () => {
    const store = await openStore();
    const wanted: TurnRecord[] = [];
    for (const model of ['model-a', 'model-b']) {
      for (const sequence of ['seq-1', 'seq-2']) {
        for (const run of [1, 2, 10]) {
          for (const t of [1, 2, 10]) wanted.push(turn({ model, sequence, run, turn: t }));
        }
      }
    }
    const neighbours = [
      turn({ job: 'job-10' }),
      turn({ job: 'job-1x' }),
      turn({ model: 'model-a2' }),
      turn({ model: 'model-a', sequence: 'seq-10' }),
    ];
    // Written in a shuffled order (the seed replays it): the keys, not the writes, order them.
    const random = testRandom();
    onTestFailed(() => console.error(`order drawn with TROUPE_TEST_SEED=${random.seed}`));
    const shuffled = [...wanted, ...neighbours].sort(() => random.next() - 0.5);
    await store.putTurns(shuffled);

    const all = store.turnsOf('job-1');
    expect(all.filter((t) => t.model !== 'model-a2' && t.sequence !== 'seq-10').map(keyOf)).toEqual(
      wanted.map(keyOf),
    );
    expect(all).toHaveLength(wanted.length + 2);
    expect(all.every((t) => t.job === 'job-1')).toBe(true);

    const runs = store.turnsOf('job-1', 'model-a', 'seq-1').map((t) => [t.run, t.turn]);
    expect(runs).toEqual([1, 2, 10].flatMap((run) => [1, 2, 10].map((t) => [run, t])));
    expect(store.turnsOf('job-1', 'model-a').every((t) => t.model === 'model-a')).toBe(true);
    expect(store.turnsOf('job-1', 'model-a')).toHaveLength(2 * 9 + 1);
    expect(store.turnsOf('job-1', undefined, 'seq-2').map(keyOf)).toEqual(
      wanted.filter((t) => t.sequence === 'seq-2').map(keyOf),
    );
    expect(store.turnsOf('job-')).toEqual([]);

    const pages = [...store.turnPages('job-1', undefined, undefined, 7)];
    expect(pages.every((page) => page.length <= 7)).toBe(true);
    expect(pages.flat()).toEqual(all);
  });

  it('commits many concurrent putTurns calls, batched into few transactions', async () => {
    const store = await openStore();
    const callers = 2_000;
    const before = store.writeTransactions;
    await Promise.all(
      Array.from({ length: callers }, (_, i) =>
        store.putTurns([turn({ run: Math.floor(i / 10) + 1, turn: (i % 10) + 1 })]),
      ),
    );
    const transactions = store.writeTransactions - before;
    expect(store.countTurns('job-1').total).toBe(callers);
    // Awaiting one by one would take one transaction per call.
    expect(transactions).toBeGreaterThan(0);
    expect(transactions).toBeLessThan(callers / 100);
  });

  it('keeps what it committed across close and reopen, and refuses use after close', async () => {
    const first = await openLmdbStore(dataDir);
    await first.putJob(job('j', '2026-01-01T00:00:00.000Z'));
    await first.putTurns([turn({ job: 'j' })]);
    await first.flush();
    await first.close();
    await first.close();
    expect(() => first.getJob('j')).toThrow(StoreError);
    await expectStoreError(first.putTurns([turn()]), 'troupe:store-closed', ExitCode.internal);

    const again = await openStore();
    expect(again.getJob('j')?.id).toBe('j');
    expect(again.turnsOf('j')).toEqual([turn({ job: 'j' })]);
  });

  it("sees another process's commits while it reads, read-only", async () => {
    const batches = 4;
    const perBatch = 100;
    await (await openLmdbStore(dataDir)).close();
    const reader = await openStore(dataDir, { readOnly: true });
    const writer = startChild(['write', dataDir, String(batches), String(perBatch)]);
    try {
      for (let batch = 0; batch < batches; batch++) {
        expect(await writer.nextLine()).toBe(`committed ${batch}`);
        const seen = reader.turnsOf('child-job');
        expect(seen).toHaveLength((batch + 1) * perBatch);
        expect(seen.at(-1)).toMatchObject({ run: batch + 1, turn: perBatch });
        writer.child.stdin.write('next\n');
      }
      expect(await writer.exited).toBe(0);
    } finally {
      writer.child.kill('SIGKILL');
    }
    expect(reader.countTurns('child-job').ok).toBe(batches * perBatch);
  });

  it('loses no acknowledged turn of two writing processes while a third opens and closes it read-only', async () => {
    // With lmdb-js's default overlapping sync (see openRoot), turns were lost in some rounds:
    // this test failed about every other run. It cannot prove the absence of a race, only catch
    // a return of this one most of the time.
    const chains = 50;
    const perChain = 30;
    const random = testRandom();
    onTestFailed(() => console.error(`writers' jitter drawn with TROUPE_TEST_SEED=${random.seed}`));
    for (let round = 1; round <= 3; round++) {
      const dir = join(base, `round-${round}`);
      await (await openLmdbStore(dir)).close();
      // Each writer's jitter from a seed drawn from the test's.
      const writers = ['a', 'b'].map((model) => {
        const seed = 1 + Math.floor(random.next() * 0x7fffffff);
        return startChild(['churn', dir, model, String(chains), String(perChain), String(seed)]);
      });
      let writing = true;
      const done = Promise.all(writers.map((writer) => writer.nextLine())).finally(() => {
        writing = false;
      });
      try {
        // Bounded by the writers: each makes 1 500 puts a few ms apart.
        while (writing) {
          const reader = await openLmdbStore(dir, { readOnly: true });
          reader.turnsOf('child-job');
          await reader.close();
          await new Promise((resolve) => setTimeout(resolve, 1));
        }
        expect(await done).toEqual([
          `acknowledged ${chains * perChain}`,
          `acknowledged ${chains * perChain}`,
        ]);
      } finally {
        for (const writer of writers) writer.child.kill('SIGKILL');
      }
      const store = await openStore(dir, { readOnly: true });
      const perModel = (model: string) => store.turnsOf('child-job', model).length;
      expect([perModel('a'), perModel('b')]).toEqual([chains * perChain, chains * perChain]);
    }
    // 6 000 committed transactions in 3 rounds: 20 s alone at a load of 13, more beside other files.
  }, 240_000);

  it('opens and closes one store in four processes at once, read-only and for writing, and no open fails', async () => {
    // Without the open lock (open-lock.ts), a process opening while the last one closed found
    // LMDB's lock-file mutexes destroyed ("Invalid argument", "No transaction to renew"), and so
    // did every open after it: 4 rounds of 5 failed, hundreds of opens each (load 15). Like the
    // test above, it can catch a return of the race, not prove its absence.
    const { seed } = testRandom(20261203);
    const processes = 4;
    const cycles = 100;
    await (await openLmdbStore(dataDir)).close();
    const children = Array.from({ length: processes }, (_, k) =>
      startChild(['cycle', dataDir, String(cycles), String(seed + k)]),
    );
    try {
      const reports = await Promise.all(
        children.map(async (child) => JSON.parse(await child.nextLine()) as unknown),
      );
      expect(reports, `seed ${seed}`).toEqual(
        Array.from({ length: processes }, () => ({ opened: cycles, failures: [] })),
      );
    } finally {
      for (const child of children) child.child.kill('SIGKILL');
    }
  });

  it('frees the open lock of a process killed while it holds it', async () => {
    await (await openLmdbStore(dataDir)).close();
    const holder = startChild(['hold-open-lock', dataDir]);
    try {
      expect(await holder.nextLine()).toBe('held');
      holder.child.kill('SIGKILL');
      await holder.exited;
    } finally {
      holder.child.kill('SIGKILL');
    }
    const store = await openStore(dataDir, { readOnly: true });
    expect(store.listJobs()).toEqual([]);
  });

  it('keeps a turn whose put resolved when the writer is SIGKILLed right after', async () => {
    const writer = startChild(['put-and-hang', dataDir]);
    try {
      expect(await writer.nextLine()).toBe('committed');
      writer.child.kill('SIGKILL');
      await writer.exited;
    } finally {
      writer.child.kill('SIGKILL');
    }
    const store = await openStore();
    expect(store.turnsOf('child-job')).toHaveLength(1);
    await store.putTurns([turn()]);
    expect(store.turnsOf('job-1')).toHaveLength(1);
  });

  it('refuses a store of a newer format without modifying it', async () => {
    await (await openLmdbStore(dataDir)).close();
    const raw = open(dataDir, { noSubdir: false });
    const meta = raw.openDB<Buffer, string>('meta', { encoding: 'binary' });
    const stored = meta.get('formatVersion');
    expect(stored && decodeRecord('formatVersion', stored)).toEqual({
      ok: true,
      value: STORE_FORMAT_VERSION,
    });
    await meta.put('formatVersion', encodeRecord('formatVersion', STORE_FORMAT_VERSION + 1));
    await raw.close();

    const before = await snapshot(dataDir);
    const error = await expectStoreError(
      openLmdbStore(dataDir),
      'troupe:store-newer-format',
      ExitCode.badInput,
    );
    expect(error.message).toContain(dataDir);
    expect(error.message).toContain(`format version ${STORE_FORMAT_VERSION + 1}`);
    await expectStoreError(
      openLmdbStore(dataDir, { readOnly: true }),
      'troupe:store-newer-format',
      ExitCode.badInput,
    );
    expect(await snapshot(dataDir)).toEqual(before);
  });

  it('refuses a garbled format version and foreign LMDB data, without modifying them', async () => {
    const garbled = join(base, 'garbled');
    await (await openLmdbStore(garbled)).close();
    const raw = open(garbled, { noSubdir: false });
    await raw.openDB('meta', {}).put('formatVersion', 'one');
    await raw.close();
    const garbledBefore = await snapshot(garbled);
    const error = await expectStoreError(
      openLmdbStore(garbled),
      'troupe:store-unrecognized',
      ExitCode.badInput,
    );
    expect(error.message).toContain('"one"');
    expect(await snapshot(garbled)).toEqual(garbledBefore);

    const foreign = join(base, 'foreign');
    const other = open(foreign, { noSubdir: false });
    await other.openDB('accounts', {}).put('alice', { balance: 1 });
    await other.close();
    const foreignBefore = await snapshot(foreign);
    const refused = await expectStoreError(
      openLmdbStore(foreign),
      'troupe:store-unrecognized',
      ExitCode.badInput,
    );
    expect(refused.message).toMatch(/accounts.*no troupe meta/);
    expect(await snapshot(foreign)).toEqual(foreignBefore);
  });

  it('refuses garbage or a truncated file in place of the data file, without touching the directory', async () => {
    await mkdir(dataDir);
    await writeFile(join(dataDir, 'data.mdb'), randomBytes(64 * 1024));
    const before = await snapshot(dataDir);
    const error = await expectStoreError(
      openLmdbStore(dataDir),
      'troupe:store-unrecognized',
      ExitCode.badInput,
    );
    expect(error.message).toContain(dataDir);
    expect(error.message).toContain('not an LMDB file');
    await expectStoreError(
      openLmdbStore(dataDir, { readOnly: true }),
      'troupe:store-unrecognized',
      ExitCode.badInput,
    );
    expect(await snapshot(dataDir)).toEqual(before);

    const real = join(base, 'real');
    await (await openLmdbStore(real)).close();
    const truncated = join(base, 'truncated');
    await mkdir(truncated);
    const header = (await readFile(join(real, 'data.mdb'))).subarray(0, 1024);
    await writeFile(join(truncated, 'data.mdb'), header);
    await expectStoreError(openLmdbStore(truncated), 'troupe:store-damaged', ExitCode.internal);
  });

  it('refuses a file where the directory should be, and a missing store when reading', async () => {
    const file = join(base, 'file');
    await writeFile(file, 'not a directory');
    const error = await expectStoreError(
      openLmdbStore(file),
      'troupe:store-not-a-directory',
      ExitCode.badInput,
    );
    expect(error.message).toContain(file);
    await expectStoreError(
      openLmdbStore(join(file, 'below')),
      'troupe:store-not-a-directory',
      ExitCode.badInput,
    );

    await expectStoreError(
      openLmdbStore(dataDir, { readOnly: true }),
      'troupe:store-missing',
      ExitCode.badInput,
    );
    await expect(stat(dataDir)).rejects.toMatchObject({ code: 'ENOENT' });
    await mkdir(dataDir);
    await expectStoreError(
      openLmdbStore(dataDir, { readOnly: true }),
      'troupe:store-missing',
      ExitCode.badInput,
    );
    expect(await readdir(dataDir)).toEqual([]);
  });

  it('refuses a data directory it may not use', async () => {
    await (await openLmdbStore(dataDir)).close();
    const asRoot = process.getuid?.() === 0;
    if (asRoot) {
      // The directory is 0700 and root's: an unprivileged user meets EACCES.
      await chmod(base, 0o755);
    } else {
      await chmod(dataDir, 0o000);
    }
    // As root, the child loads its modules first and only then becomes nobody: the checkout may lie
    // under a directory nobody may not enter.
    const child = startChild(asRoot ? ['open', dataDir, String(NOBODY_ID)] : ['open', dataDir]);
    try {
      const result = JSON.parse(await child.nextLine()) as {
        code: string;
        exitCode: number;
        message: string;
      };
      expect(result).toMatchObject({ code: 'troupe:store-inaccessible', exitCode: ExitCode.badInput });
      expect(result.message).toContain(dataDir);
      expect(result.message).toContain('permission denied');
    } finally {
      child.child.kill('SIGKILL');
      await chmod(dataDir, 0o700);
    }
  });

  it('refuses writes when read-only, and shares one environment per directory in a process', async () => {
    const writer = await openStore();
    const reader = await openStore(dataDir, { readOnly: true });
    await writer.putTurns([turn()]);
    expect(reader.turnsOf('job-1')).toHaveLength(1);
    await expectStoreError(reader.putTurns([turn()]), 'troupe:store-read-only', ExitCode.internal);
    await expectStoreError(reader.putJob(job('x', 'now')), 'troupe:store-read-only', ExitCode.internal);
    await reader.flush();
    await reader.close();
    await writer.putTurns([turn({ turn: 2 })]);
    await writer.close();

    const onlyReader = await openStore(dataDir, { readOnly: true });
    expect(onlyReader.turnsOf('job-1')).toHaveLength(2);
    await expectStoreError(openLmdbStore(dataDir), 'troupe:store-busy', ExitCode.internal);
  });

  it('rejects a turn whose key cannot be stored, and nothing of its call is written', async () => {
    const store = await openStore();
    await expectStoreError(
      store.putTurns([turn({ turn: 5 }), turn({ run: 0 })]),
      'troupe:store-write-failed',
      ExitCode.internal,
    );
    expect(store.turnsOf('job-1')).toEqual([]);
  });

  it("refuses a walk of a job's sequences that meets fewer or more than the job record says", async () => {
    for (const count of [SMALL_JOB.sequences - 1, SMALL_JOB.sequences + 1]) {
      // A store of its own each: the first damage met stops the process's writes to its store.
      const dir = join(base, `count-${count}`);
      const store = await openStore(dir);
      const job = await writeSyntheticJob(store, { ...SMALL_JOB, id: 'job-1' });
      expect([...store.sequencePages('job-1')].flat()).toHaveLength(SMALL_JOB.sequences);
      await store.putJob({ ...job, sequences: { ...job.sequences, count } });
      const reader = await openStore(dir, { readOnly: true });
      const error = catchError(() => [...reader.sequencePages('job-1')]);
      expect(error).toBeInstanceOf(StoreError);
      expect((error as StoreError).code).toBe('troupe:store-damaged');
      expect((error as StoreError).message).toContain(
        `its record says ${count} sequences, a walk of them met ${SMALL_JOB.sequences}`,
      );
      // A page asked for by the caller is not a whole walk: nothing to compare with.
      expect(reader.sequencePages('job-1', { after: 's0000000' }).next().value).toHaveLength(
        SMALL_JOB.sequences - 1,
      );
    }
  });

  it('a lookup that finds nothing reads as absent when the index is intact (its miss confirmed by a range read)', async () => {
    const store = await openStore();
    await writeSyntheticJob(store, { ...SMALL_JOB, id: 'job-1' });
    expect(store.getSequence('job-1', 's9999999')).toBeUndefined();
    expect(store.getSequence('job-0', 's0000000')).toBeUndefined();
    expect(store.getJob('job-2')).toBeUndefined();
    expect(store.getSequence('job-1', 's0000002')?.index).toBe(2);
  });
});

/** A finished job of 3 sequences, 1 model, 1 run of 2 turns. */
const SMALL_JOB = {
  models: 1,
  sequences: 3,
  runs: 1,
  turnsPerSequence: 2,
  responseChars: 10,
  failEvery: 0,
  disagreeEvery: 0,
};

function catchError(work: () => unknown): unknown {
  try {
    work();
  } catch (error) {
    return error;
  }
  return undefined;
}

describe('FailingStore', () => {
  let dataDir: string;
  let real: LmdbCheckpointStore;

  beforeEach(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'troupe-failing-'));
    real = await openLmdbStore(dataDir);
  });

  afterEach(async () => {
    await real.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('delegates until told to fail, then rejects writes and writes nothing', async () => {
    const store = new FailingStore(real, dataDir);
    store.failWritesAfter(1);
    await store.putTurns([turn({ turn: 1 })]);
    const error = await expectStoreError(
      store.putTurns([turn({ turn: 2 }), turn({ turn: 3 })]),
      'troupe:store-write-failed',
      ExitCode.internal,
    );
    expect(error.message).toContain(dataDir);
    await expectStoreError(store.putJob(job('j', 'now')), 'troupe:store-write-failed', ExitCode.internal);
    await expectStoreError(store.flush(), 'troupe:store-write-failed', ExitCode.internal);
    expect(store.turnsOf('job-1').map((t) => t.turn)).toEqual([1]);
    expect(store.getJob('j')).toBeUndefined();
    expect([store.writesSucceeded, store.writesRefused]).toEqual([1, 2]);

    store.heal();
    store.failNextWrite();
    await expectStoreError(
      store.putTurns([turn({ turn: 4 })]),
      'troupe:store-write-failed',
      ExitCode.internal,
    );
    await store.putTurns([turn({ turn: 5 })]);
    await store.flush();
    expect(real.turnsOf('job-1').map((t) => t.turn)).toEqual([1, 5]);
  });
});
