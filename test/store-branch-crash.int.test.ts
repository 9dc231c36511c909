/**
 * A store whose damaged branch page crashes the process that walks through it (an LMDB assertion,
 * SIGABRT, or SIGSEGV), and a store damaged only in another job's records. A real daemon on the
 * first keeps answering (its reads are in reader processes) and says exit 3 naming the store;
 * `verify --salvage` copies what is intact and says what it lost; `run --resume` never writes
 * a store that fails its checks.
 */
import { cp, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

import { ExitCode } from '../src/errors.js';
import { openLmdbStore } from '../src/store/lmdb-store.js';
import { writeSyntheticJob } from '../src/store/synthetic-job.js';
import {
  BRANCH_SHAPE,
  BRANCH_SHAPE_TURNS,
  flipInPlace,
  flippedCopy,
  sha256,
  writeBranchStore,
} from './helpers/branch-damage.js';
import type { Flip } from './helpers/branch-damage.js';
import { runCli } from './helpers/cli.js';
import type { CliResult } from './helpers/cli.js';
import { DaemonProcess } from './helpers/daemon.js';
import { tempDir } from './helpers/temp.js';

/**
 * The first child pointer of the turns' root branch page, off by one page: a walk of the turns
 * meets a page of the wrong kind and LMDB's assertion aborts the process reading.
 */
const CRASHING_FLIP: Flip = { page: 93, offset: 4088, bit: 0 };

const READER_CRASHED = /is damaged \(the reader crashed reading it, SIG[A-Z]+\)/;

const lines = (text: string): string[] => text.split('\n').filter((line) => line.length > 0);

/** Exit 3 (never a signal), naming the store as damaged because its reader crashed. */
function expectCrashReported(result: CliResult, dir: string, what: string): void {
  expect(result.signal, what).toBeNull();
  expect(result.code, `${what}: ${result.stderr}`).toBe(ExitCode.internal);
  expect(result.stderr, what).toContain(`the store in ${dir} `);
  expect(result.stderr, what).toMatch(READER_CRASHED);
}

describe('a store whose damaged branch page crashes its reader', () => {
  let base: Awaited<ReturnType<typeof tempDir>>;
  let pristine: string;
  let pristineResults: Set<string>;
  let daemon: DaemonProcess | undefined;

  beforeAll(async () => {
    base = await tempDir('troupe-branch-crash-');
    pristine = join(base.path, 'pristine');
    await writeBranchStore(pristine);
    const results = await runCli(['results', BRANCH_SHAPE.id, '--data-dir', pristine]);
    expect(results.code, results.stderr).toBe(ExitCode.ok);
    pristineResults = new Set(lines(results.stdout));
    expect(pristineResults.size).toBe(BRANCH_SHAPE_TURNS);
  }, 120_000);

  afterEach(async () => {
    await daemon?.terminate();
    daemon = undefined;
  });

  afterAll(async () => {
    await base.cleanup();
  });

  it('crashes a reader: the premise of the tests below', async () => {
    const dir = join(base.path, 'premise');
    await flippedCopy(pristine, dir, CRASHING_FLIP);
    expectCrashReported(await runCli(['results', BRANCH_SHAPE.id, '--data-dir', dir]), dir, 'results');
  });

  it('a daemon started on it resumes nothing, answers every command with exit 3 naming the store, and writes nothing', async () => {
    const dir = join(base.path, 'daemon-start');
    const file = await flippedCopy(pristine, dir, CRASHING_FLIP);
    const before = await sha256(file);
    daemon = await DaemonProcess.start(dir, {}, ['--workers', '0']);
    expect(
      daemon.logs.some((log) => log.msg === 'store damaged: no job resumed, nothing will be written'),
    ).toBe(true);
    for (const args of [['status'], ['status', '--json'], ['status', BRANCH_SHAPE.id], ['jobs']]) {
      expectCrashReported(await runCli([...args, '--data-dir', dir]), dir, args.join(' '));
    }
    const suite = join(base.path, 'new-suite.yaml');
    await writeFile(
      suite,
      'name: new\nproviders:\n  sim: { type: simulated, latencyMs: 0 }\nmodels:\n  - { id: m, provider: sim, model: sim-m }\nsequences:\n  - { id: s, prompts: ["hello"] }\n',
    );
    const submit = await runCli(['submit', suite, '--data-dir', dir]);
    expect(submit.code, submit.stderr).toBe(ExitCode.internal);
    expect(submit.stderr).toContain(`the store in ${dir} `);
    expect(submit.stderr).toMatch(/is damaged/);
    // Still alive and answering after every refusal.
    expect(daemon.child.exitCode).toBeNull();
    expectCrashReported(await runCli(['jobs', '--data-dir', dir]), dir, 'jobs again');
    expect(await daemon.stop('SIGTERM')).toEqual({ code: 0, signal: null });
    expect(await sha256(file)).toBe(before);
  });

  it('damaged under a running daemon: status and jobs go from the counts to exit 3, and the daemon lives on', async () => {
    const dir = join(base.path, 'daemon-running');
    // A finished job: the daemon has nothing to resume, and writes nothing to the turns.
    await cp(pristine, dir, { recursive: true });
    const store = await openLmdbStore(dir);
    const job = store.getJob(BRANCH_SHAPE.id);
    if (job === undefined) throw new Error('the job is missing');
    await store.putJob({ ...job, state: 'done', finishedAt: job.createdAt });
    await store.close();
    daemon = await DaemonProcess.start(dir, {}, ['--workers', '0']);

    const intact = await runCli(['jobs', '--data-dir', dir]);
    expect(intact.code, intact.stderr).toBe(ExitCode.ok);
    expect(intact.stdout).toContain(String(BRANCH_SHAPE_TURNS));

    await flipInPlace(join(dir, 'data.mdb'), CRASHING_FLIP);
    for (const args of [['status'], ['jobs']]) {
      expectCrashReported(await runCli([...args, '--data-dir', dir]), dir, args.join(' '));
    }
    expect(daemon.child.exitCode).toBeNull();
    expect(await daemon.stop('SIGTERM')).toEqual({ code: 0, signal: null });
  });

  it('verify --salvage copies what is intact, goes on past the crash, and says what it lost', async () => {
    const dir = join(base.path, 'salvage-source');
    const file = await flippedCopy(pristine, dir, CRASHING_FLIP);
    const before = await sha256(file);
    const out = join(base.path, 'salvaged');
    const salvage = await runCli(['verify', '--data-dir', dir, '--salvage', '--out', out]);
    expect(salvage.signal).toBeNull();
    expect(salvage.code, salvage.stderr).toBe(ExitCode.ok);
    // The turns are unreadable past the crash; the databases after them were still read and copied.
    expect(salvage.stdout).toMatch(
      /^turns: \d+ intact, \d+ damaged, unreadable past that \(the reader crashed reading it \(SIG[A-Z]+\)\)$/m,
    );
    expect(salvage.stdout).toMatch(/^sequences: 50 intact, 0 damaged$/m);
    const copied = /^salvaged into .*: (.*)$/m.exec(salvage.stdout)?.[1] ?? '';
    expect(copied).toMatch(/\b1 jobs\b/);
    expect(copied).toMatch(/\b50 sequences\b/);
    const salvagedTurns = Number(/(\d+) turns/.exec(copied)?.[1] ?? 0);
    expect(salvagedTurns).toBeLessThan(BRANCH_SHAPE_TURNS);

    // The new store passes, and holds exactly the turns said, each as the intact store had it.
    const verify = await runCli(['verify', '--data-dir', out]);
    expect(verify.code, verify.stdout).toBe(ExitCode.ok);
    const results = await runCli(['results', BRANCH_SHAPE.id, '--data-dir', out]);
    expect(results.code, results.stderr).toBe(ExitCode.ok);
    const rows = lines(results.stdout);
    expect(rows).toHaveLength(salvagedTurns);
    for (const row of rows) expect(pristineResults.has(row)).toBe(true);
    expect(await sha256(file)).toBe(before);
  });
});

describe('run --resume on a store damaged only in another job', () => {
  let base: Awaited<ReturnType<typeof tempDir>>;

  beforeAll(async () => {
    base = await tempDir('troupe-resume-other-');
  });

  afterAll(async () => {
    await base.cleanup();
  });

  /** A store of two jobs: job-1 running (all its turns stored), job-2 done, its suite named `OTHER_SUITE`. */
  const OTHER_SUITE = 'the-other-suite-of-job-2';
  async function twoJobs(dir: string): Promise<void> {
    const store = await openLmdbStore(dir);
    const shape = { ...BRANCH_SHAPE, sequences: 4, responseChars: 20 };
    const first = await writeSyntheticJob(store, { ...shape, id: 'job-1' });
    await store.putJob({ ...first, state: 'running', finishedAt: null });
    const second = await writeSyntheticJob(store, { ...shape, id: 'job-2' });
    await store.putJob({ ...second, suite: { ...second.suite, name: OTHER_SUITE } });
    await store.close();
  }

  it('refuses, naming the damage and how to salvage, and writes nothing; the intact store resumes', async () => {
    const dir = join(base.path, 'damaged');
    await twoJobs(dir);
    const file = join(dir, 'data.mdb');
    const bytes = await readFile(file);
    let found = 0;
    for (let at = bytes.indexOf(OTHER_SUITE); at >= 0; at = bytes.indexOf(OTHER_SUITE, at + 1)) {
      bytes[at + 4] = (bytes[at + 4] as number) ^ 0x01;
      found += 1;
    }
    expect(found).toBeGreaterThan(0);
    await writeFile(file, bytes);
    const before = await sha256(file);

    const resume = await runCli(['run', '--resume', 'job-1', '--workers', '0', '--data-dir', dir]);
    expect(resume.signal).toBeNull();
    expect(resume.code, resume.stderr).toBe(ExitCode.internal);
    expect(resume.stderr).toContain(`the store in ${dir} is damaged (job job-2 (checksum mismatch))`);
    expect(resume.stderr).toContain("beyond job job-1's own turns");
    expect(resume.stderr).toContain('troupe verify --salvage --out DIR');
    expect(await sha256(file)).toBe(before);

    const intact = join(base.path, 'intact');
    await twoJobs(intact);
    const resumed = await runCli(['run', '--resume', 'job-1', '--workers', '0', '--data-dir', intact]);
    // Every turn was stored already: the job ends (exit 1, as some of its turns failed).
    expect(resumed.code, resumed.stderr).toBe(ExitCode.turnsFailed);
  });
});
