/**
 * A real store, damaged on disk as a failing disk or a careless copy would: seeded bit flips and
 * truncations of its data file. Every damaged read is reported (exit 3), nothing damaged is ever
 * printed as data, a refused `run --resume` never modifies the file, and `verify --salvage`
 * copies what is intact into a new store.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { cp, mkdir, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { ExitCode } from '../src/errors.js';
import { createJob } from '../src/runtime/jobs.js';
import { openLmdbStore } from '../src/store/lmdb-store.js';
import { seededRandom } from '../src/simulator/random.js';
import { parseSuite } from '../src/suite/load.js';
import { runCli } from './helpers/cli.js';
import { scoredTurn } from './helpers/records.js';
import { tempDir } from './helpers/temp.js';

/** 2 models × 10 sequences × 3 prompts × 10 runs = 600 turns; the store holds runs 1–8 (480). */
const SUITE = `name: integrity
runs: 10
providers:
  sim: { type: simulated, latencyMs: 0 }
models:
  - { id: alpha, provider: sim, model: sim-alpha }
  - { id: beta, provider: sim, model: sim-beta }
sequences:
${Array.from({ length: 10 }, (_, i) => `  - { id: s${i}, prompts: ["first ${i}", "second", "third"] }`).join('\n')}
`;
const STORED_RUNS = 8;
const STORED_TURNS = 2 * 10 * 3 * STORED_RUNS;
/** Bits flipped per seed, anywhere past LMDB's two meta pages. */
const FLIPS_PER_SEED = 10;
const FLIP_SEEDS = [1, 2, 3, 4, 5, 6];
const TRUNCATION_SEEDS = [1, 2, 3];
const META_PAGES_BYTES = 2 * 4096;

const sha256 = async (file: string): Promise<string> =>
  createHash('sha256')
    .update(await readFile(file))
    .digest('hex');

const lines = (text: string): string[] => text.split('\n').filter((line) => line.length > 0);

describe('a damaged store', () => {
  let base: Awaited<ReturnType<typeof tempDir>>;
  let pristine: string;
  let jobId: string;
  let baseline: Set<string>;

  beforeAll(async () => {
    base = await tempDir('troupe-integrity-');
    pristine = join(base.path, 'pristine');
    const store = await openLmdbStore(pristine);
    const { suite } = await parseSuite(SUITE, 'integrity.yaml', () => Promise.reject(new Error('none')));
    const job = await createJob(store, suite, 'integrity.yaml');
    jobId = job.id;
    const turns = [];
    for (const model of ['alpha', 'beta'])
      for (let s = 0; s < 10; s += 1)
        for (let run = 1; run <= STORED_RUNS; run += 1)
          for (let turn = 1; turn <= 3; turn += 1) turns.push(scoredTurn(job.id, model, `s${s}`, run, turn));
    await store.putTurns(turns);
    await store.close();
    const results = await runCli(['results', jobId, '--data-dir', pristine]);
    expect(results.code).toBe(ExitCode.ok);
    baseline = new Set(lines(results.stdout));
    expect(baseline.size).toBe(STORED_TURNS);
  });

  afterAll(async () => {
    await base.cleanup();
  });

  async function damagedCopy(name: string, damage: (bytes: Buffer, random: () => number) => Buffer) {
    const dir = join(base.path, name);
    await cp(pristine, dir, { recursive: true });
    const file = join(dir, 'data.mdb');
    await writeFile(
      file,
      damage(await readFile(file), seededRandom(name.length * 7919 + Number(name.replace(/\D/g, '')))),
    );
    return { dir, file };
  }

  it.each(FLIP_SEEDS)(
    'with bit flips (seed %i): damage is reported, never printed; report, compare, run --resume and a new run leave it untouched',
    async (seed) => {
      const { dir, file } = await damagedCopy(`flip-${seed}`, (bytes, random) => {
        for (let i = 0; i < FLIPS_PER_SEED; i += 1) {
          const at = META_PAGES_BYTES + Math.floor(random() * (bytes.length - META_PAGES_BYTES));
          bytes[at] = (bytes[at] as number) ^ (1 << Math.floor(random() * 8));
        }
        return bytes;
      });
      const before = await sha256(file);

      const results = await runCli(['results', jobId, '--data-dir', dir]);
      const verify = await runCli(['verify', '--data-dir', dir]);
      const printed = lines(results.stdout);
      // Nothing printed is wrong: every row is one the intact store holds.
      for (const row of printed) expect(baseline.has(row)).toBe(true);
      expect(results.signal).toBeNull();
      if (verify.code === ExitCode.ok) {
        // Every flip fell in free space: the same rows, exit 0.
        expect(results.code).toBe(ExitCode.ok);
        expect(printed).toHaveLength(STORED_TURNS);
      } else {
        expect(verify.code).toBe(ExitCode.internal);
        expect(verify.stdout).toMatch(/damaged: |unreadable past that/);
        if (printed.length < STORED_TURNS) {
          expect(results.code).toBe(ExitCode.internal);
          expect(results.stderr).toMatch(/is damaged/);
        }
        if (printed.length < STORED_TURNS) {
          // The other readers of a job's turns say so too, and write nothing.
          const report = join(base.path, `report-flip-${seed}.html`);
          for (const args of [
            ['report', jobId, '--out', report],
            ['compare', jobId, jobId],
          ]) {
            const read = await runCli([...args, '--data-dir', dir]);
            expect(read.signal, args[0]).toBeNull();
            expect(read.code, args[0]).toBe(ExitCode.internal);
            expect(read.stderr, args[0]).toMatch(/is damaged/);
          }
          expect(existsSync(report)).toBe(false);
        }
        const resume = await runCli(['run', '--resume', jobId, '--data-dir', dir, '--workers', '0']);
        expect(resume.code).toBe(ExitCode.internal);
        expect(resume.stderr).toMatch(/damaged/);
        // A new job is refused too (its forecast reads the earlier jobs' turns), and writes nothing.
        const suite = join(base.path, `suite-flip-${seed}.yaml`);
        await writeFile(suite, SUITE);
        const fresh = await runCli(['run', suite, '--data-dir', dir, '--workers', '0']);
        expect(fresh.code).toBe(ExitCode.internal);
        expect(fresh.stderr).toMatch(/damaged/);
        expect(await sha256(file)).toBe(before);
      }
    },
  );

  it('finds damage with most seeds (the flips above are not all in free space)', async () => {
    let detected = 0;
    for (const seed of FLIP_SEEDS) {
      const verify = await runCli(['verify', '--data-dir', join(base.path, `flip-${seed}`)]);
      if (verify.code === ExitCode.internal) detected += 1;
    }
    expect(detected).toBeGreaterThanOrEqual(FLIP_SEEDS.length / 2);
  });

  it('salvages the intact records of a damaged store into a new one that passes verify', async () => {
    const damaged = FLIP_SEEDS.map((seed) => join(base.path, `flip-${seed}`));
    let source: string | undefined;
    for (const dir of damaged) {
      if ((await runCli(['verify', '--data-dir', dir])).code === ExitCode.internal) {
        source = dir;
        break;
      }
    }
    expect(source).toBeDefined();
    const out = join(base.path, 'salvaged');
    const salvage = await runCli(['verify', '--data-dir', source as string, '--salvage', '--out', out]);
    expect(salvage.code).toBe(ExitCode.ok);
    const copied = /salvaged into .*: (.*)$/m.exec(salvage.stdout)?.[1] ?? '';
    expect(copied).toMatch(/\d+ turns/);

    const verify = await runCli(['verify', '--data-dir', out]);
    expect(verify.code).toBe(ExitCode.ok);
    const results = await runCli(['results', jobId, '--data-dir', out]);
    const rows = lines(results.stdout);
    for (const row of rows) expect(baseline.has(row)).toBe(true);
    expect(rows.length).toBe(Number(/(\d+) turns/.exec(copied)?.[1]));
    // The salvage never writes its source, and refuses to write over a store.
    const again = await runCli(['verify', '--data-dir', source as string, '--salvage', '--out', out]);
    expect(again.code).toBe(ExitCode.badInput);
    expect(again.stderr).toMatch(/not empty/);
  });

  it.each(TRUNCATION_SEEDS)(
    'truncated (seed %i): refused with a message, never a SIGBUS, and untouched',
    async (seed) => {
      const { dir, file } = await damagedCopy(`truncated-${seed}`, (bytes, random) =>
        bytes.subarray(0, META_PAGES_BYTES + Math.floor(random() * (bytes.length - META_PAGES_BYTES - 4096))),
      );
      const before = await sha256(file);
      for (const args of [['results', jobId], ['verify'], ['run', '--resume', jobId, '--workers', '0']]) {
        const result = await runCli([...args, '--data-dir', dir]);
        expect(result.signal).toBeNull();
        expect(result.code).toBe(ExitCode.internal);
        expect(result.stderr).toMatch(/truncated: \d+ bytes, where its own metadata says \d+/);
        expect(result.stdout).not.toMatch(/"response"/);
      }
      expect(await sha256(file)).toBe(before);
    },
  );

  it('takes an empty or missing data file next to the lock file for a damaged store, not a new one', async () => {
    for (const variant of ['empty', 'missing'] as const) {
      const dir = join(base.path, `lost-${variant}`);
      await cp(pristine, dir, { recursive: true });
      if (variant === 'empty') await writeFile(join(dir, 'data.mdb'), '');
      else await rm(join(dir, 'data.mdb'));
      const namesBefore = (await readdir(dir)).sort();
      const suite = join(base.path, 'suite.yaml');
      await writeFile(suite, SUITE);
      const run = await runCli(['run', suite, '--data-dir', dir, '--workers', '0']);
      expect(run.code).toBe(ExitCode.internal);
      expect(run.stderr).toMatch(/data\.mdb is missing or empty, yet lock\.mdb is there/);
      expect((await readdir(dir)).sort()).toEqual(namesBefore);
      if (variant === 'empty') expect((await stat(join(dir, 'data.mdb'))).size).toBe(0);
    }
  });

  it('creates a new store in a new directory as before', async () => {
    const dir = join(base.path, 'fresh', 'store');
    await mkdir(join(base.path, 'fresh'));
    const store = await openLmdbStore(dir);
    await store.close();
    expect((await readdir(dir)).sort()).toEqual(['data.mdb', 'lock.mdb']);
    expect((await runCli(['verify', '--data-dir', dir])).code).toBe(ExitCode.ok);
  });
});
