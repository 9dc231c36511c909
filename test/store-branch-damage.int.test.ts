/**
 * A real store whose LMDB branch pages (its index) are damaged by single bit flips. LMDB has no
 * page checksums and trusts its branch pages: a bad one can crash the reading process (SIGSEGV,
 * or SIGABRT from an assertion), send a walk round in circles, or lead a lookup to the wrong
 * page. Whatever the flip, every command either gives exactly what the intact store gives
 * (exit 0) or says that the store is damaged (exit 3, naming it): never a death by signal, never
 * different data, never a write to the damaged file.
 *
 * The flips are seeded: a failure names its seed; replay it with
 * `TROUPE_TEST_SEED=<seed> npx vitest run test/store-branch-damage.int.test.ts`.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { ExitCode } from '../src/errors.js';
import {
  BRANCH_SHAPE as SHAPE,
  BRANCH_SHAPE_TURNS,
  branchPages,
  flippedCopy,
  sha256,
  usedByte,
  usedBytes,
  writeBranchStore,
} from './helpers/branch-damage.js';
import { runCli } from './helpers/cli.js';
import type { CliResult } from './helpers/cli.js';
import { testRandom } from './helpers/seed.js';
import { tempDir } from './helpers/temp.js';

/** Single-bit flips, each in a used byte of a branch page picked at random, each in a copy of its own. */
const FLIPS = 30;

/** A damaged store's refusal: exit 3, a message on stderr naming the store as damaged. */
function expectRefused(result: CliResult, dir: string, what: string): void {
  expect(result.signal, what).toBeNull();
  expect(result.code, `${what}: ${result.stderr}`).toBe(ExitCode.internal);
  expect(result.stderr, what).toContain(`the store in ${dir}`);
  expect(result.stderr, what).toMatch(/is damaged/);
}

/**
 * The flips `npm test` makes, the same on every run, so that a run fails for a change and not for
 * the luck of a seed. Explore others with `TROUPE_TEST_SEED=<seed>`, and pin what they find below.
 */
const DEFAULT_FLIP_SEED = 20_261_203;

/** Flips other seeds found that the commands once missed, checked on every run. */
const PINNED_FLIPS = [
  {
    // The separator key `["job-1", "s0000034"]` of the sequences' root page read as
    // `job-1\x10s0000034`: lookups of s0000034 and after went to the page before and missed,
    // and report left those sequences out, exiting 0.
    why: 'seed 1229453422, flip 24 (a separator key that sends lookups to the wrong page)',
    page: 9,
    offset: 4057,
    bit: 4,
  },
  {
    // The separator `["job-1", "model-2", "s0000028", …]` of the turns' root page read as
    // `s000 028`: reads of model-2's turns of s0000003 to s0000027 went to the page of s0000028,
    // past their range's end, and found nothing; report showed them never answered, exiting 0.
    why: 'seed 7, flip 5 (a separator key that sends range reads past their end)',
    page: 93,
    offset: 3814,
    bit: 4,
  },
  {
    why: 'seed 424242, flip 11 (the same, in a branch page below the root)',
    page: 92,
    offset: 1703,
    bit: 2,
  },
];

describe('a store with a damaged branch page', () => {
  const random = testRandom(DEFAULT_FLIP_SEED);
  let base: Awaited<ReturnType<typeof tempDir>>;
  let pristine: string;
  let branches: number[];
  /** The used bytes of each branch page, by page number. */
  const used = new Map<number, { from: number; to: number }[]>();
  const expected = { results: '', compare: '', report: '' };

  beforeAll(async () => {
    base = await tempDir('troupe-branch-damage-');
    pristine = join(base.path, 'pristine');
    await writeBranchStore(pristine);
    const bytes = await readFile(join(pristine, 'data.mdb'));
    branches = branchPages(bytes);
    expect(branches.length).toBeGreaterThanOrEqual(5);
    for (const page of branches) used.set(page, usedBytes(bytes, page));

    const results = await runCli(['results', SHAPE.id, '--data-dir', pristine]);
    const compare = await runCli(['compare', SHAPE.id, SHAPE.id, '--format', 'json', '--data-dir', pristine]);
    const report = join(base.path, 'pristine.html');
    const reported = await runCli(['report', SHAPE.id, '--out', report, '--data-dir', pristine]);
    for (const result of [results, compare, reported]) expect(result.code, result.stderr).toBe(ExitCode.ok);
    expect(results.stdout.split('\n').filter(Boolean)).toHaveLength(BRANCH_SHAPE_TURNS);
    expected.results = results.stdout;
    expected.compare = compare.stdout;
    expected.report = await readFile(report, 'utf8');
  }, 120_000);

  afterAll(async () => {
    await base.cleanup();
  });

  /**
   * Flips one bit of branch page `page` in a copy of the pristine store and runs every command on
   * it: each gives the intact store's output or exit 3 naming the store; none modifies the file.
   * Returns whether any command (verify included) found damage.
   */
  async function checkFlip(
    name: string,
    page: number,
    offset: number,
    bit: number,
    where: string,
  ): Promise<boolean> {
    const dir = join(base.path, name);
    const file = await flippedCopy(pristine, dir, { page, offset, bit });
    const before = await sha256(file);

    // The four readers at once: each is a process of its own, and none of them writes.
    const report = join(base.path, `${name}.html`);
    const [verify, results, compare, reported] = await Promise.all([
      runCli(['verify', '--data-dir', dir]),
      runCli(['results', SHAPE.id, '--data-dir', dir]),
      runCli(['compare', SHAPE.id, SHAPE.id, '--format', 'json', '--data-dir', dir]),
      runCli(['report', SHAPE.id, '--out', report, '--data-dir', dir]),
    ]);

    expect(verify.signal, where).toBeNull();
    expect([ExitCode.ok, ExitCode.internal], `${where}: ${verify.stderr}`).toContain(verify.code);
    if (verify.code === ExitCode.internal)
      expect(verify.stdout, where).toMatch(/damaged: |unreadable past that/);

    if (results.code === ExitCode.ok) expect(results.stdout === expected.results, where).toBe(true);
    else {
      expectRefused(results, dir, `${where}: results`);
      // What was printed before the damage was met is what the intact store holds.
      expect(expected.results.startsWith(results.stdout), where).toBe(true);
    }

    if (compare.code === ExitCode.ok) expect(compare.stdout === expected.compare, where).toBe(true);
    else expectRefused(compare, dir, `${where}: compare`);

    if (reported.code === ExitCode.ok)
      expect((await readFile(report, 'utf8')) === expected.report, `${where}: report`).toBe(true);
    else {
      expectRefused(reported, dir, `${where}: report`);
      expect(existsSync(report), where).toBe(false);
    }

    if (verify.code === ExitCode.internal) {
      // The job's own records are where the damage is: a resume refuses before writing anything.
      const resume = await runCli(['run', '--resume', SHAPE.id, '--workers', '0', '--data-dir', dir]);
      expectRefused(resume, dir, `${where}: run --resume`);
    }
    expect(await sha256(file), `${where}: the file was modified`).toBe(before);
    return [verify, results, compare, reported].some((r) => r.code === ExitCode.internal);
  }

  it(`every command gives the intact store's data or says the store is damaged (${FLIPS} flips, seed in the title of a failure)`, async () => {
    let refusedSomewhere = 0;
    for (let flip = 0; flip < FLIPS; flip += 1) {
      const page = branches[Math.floor(random.next() * branches.length)] as number;
      const ranges = used.get(page) ?? [];
      const offset = usedByte(
        ranges,
        Math.floor(random.next() * ranges.reduce((n, r) => n + r.to - r.from, 0)),
      );
      const bit = Math.floor(random.next() * 8);
      const where = `seed ${random.seed}, flip ${flip}: page ${page}, byte ${offset}, bit ${bit}`;
      if (await checkFlip(`flip-${flip}`, page, offset, bit, where)) refusedSomewhere += 1;
    }
    // Not all flips are harmless: the commands above met damage, and said so.
    expect(refusedSomewhere, `seed ${random.seed}`).toBeGreaterThanOrEqual(FLIPS / 5);
  }, 600_000);

  it.each(PINNED_FLIPS)(
    'flips found by other seeds: $why',
    async ({ page, offset, bit, why }) => {
      // The store is written the same way every time, so the page is still a branch page.
      expect(branches).toContain(page);
      const where = `${why}: page ${page}, byte ${offset}, bit ${bit}`;
      expect(await checkFlip(`pinned-${page}-${offset}-${bit}`, page, offset, bit, where), where).toBe(true);
    },
    120_000,
  );
});
