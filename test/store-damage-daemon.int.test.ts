/**
 * `troupe status` and `troupe jobs` through a real daemon whose store is damaged: started on a
 * damaged store, or damaged on disk while it runs. The daemon says which job and turn are damaged
 * (exit 3), keeps answering, never writes the damaged file, and stops cleanly. A damaged record
 * of a resumed job that the start does not read is found by the check run after the start, while
 * the job runs: the job halts at its next turn and nothing more is written.
 */
import { createHash } from 'node:crypto';
import { cp, open, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

import { ExitCode } from '../src/errors.js';
import { createJob } from '../src/runtime/jobs.js';
import { openLmdbStore } from '../src/store/lmdb-store.js';
import { writeSyntheticJob } from '../src/store/synthetic-job.js';
import { parseSuite } from '../src/suite/load.js';
import { runCli } from './helpers/cli.js';
import { DaemonProcess } from './helpers/daemon.js';
import { turnRecord } from './helpers/records.js';
import { tempDir } from './helpers/temp.js';

const SHAPE = {
  id: 'job-1',
  models: 2,
  sequences: 20,
  runs: 2,
  turnsPerSequence: 3,
  responseChars: 100,
  failEvery: 0,
  disagreeEvery: 0,
};
const TURNS = 2 * 20 * 2 * 3;
/** The answer of model-1, sequence s0000003, run 2, turn 1 begins with this. */
const DAMAGED_ANSWER = 'model-1 s0000003 2/1:';
const DAMAGED_TURN = /job job-1, model model-1, sequence s0000003, run 2, turn 1 \(checksum mismatch\)/;

const sha256 = async (file: string): Promise<string> =>
  createHash('sha256')
    .update(await readFile(file))
    .digest('hex');

/**
 * Flips a bit inside one turn's answer, in place (the file is never truncated, as a daemon has it
 * mapped): in every copy of it in the file, since LMDB may keep an older copy of a page.
 */
async function damageTurn(file: string): Promise<void> {
  const bytes = await readFile(file);
  const handle = await open(file, 'r+');
  try {
    let found = 0;
    for (let at = bytes.indexOf(DAMAGED_ANSWER); at >= 0; at = bytes.indexOf(DAMAGED_ANSWER, at + 1)) {
      const byte = Buffer.of((bytes[at + 3] as number) ^ 0x04);
      await handle.write(byte, 0, 1, at + 3);
      found += 1;
    }
    expect(found).toBeGreaterThan(0);
  } finally {
    await handle.close();
  }
}

describe('a daemon on a damaged store', () => {
  let base: Awaited<ReturnType<typeof tempDir>>;
  let pristine: string;
  let daemon: DaemonProcess | undefined;

  beforeAll(async () => {
    base = await tempDir('troupe-damage-daemon-');
    pristine = join(base.path, 'pristine');
    const store = await openLmdbStore(pristine);
    await writeSyntheticJob(store, SHAPE);
    await store.close();
  });

  afterEach(async () => {
    await daemon?.terminate();
    daemon = undefined;
  });

  afterAll(async () => {
    await base.cleanup();
  });

  async function expectDamageReported(dataDir: string): Promise<void> {
    for (const args of [['status'], ['status', '--json'], ['status', SHAPE.id], ['jobs']]) {
      const result = await runCli([...args, '--data-dir', dataDir]);
      expect(result.signal, args.join(' ')).toBeNull();
      expect(result.code, `${args.join(' ')}: ${result.stderr}`).toBe(ExitCode.internal);
      expect(result.stderr, args.join(' ')).toContain(`the store in ${dataDir} is damaged`);
      expect(result.stderr, args.join(' ')).toMatch(DAMAGED_TURN);
      // Nothing damaged is shown as data: no count that would include the damaged turn.
      expect(result.stdout, args.join(' ')).not.toContain(String(TURNS));
    }
  }

  it('started on it: status and jobs name the damaged turn (exit 3), the daemon goes on answering and writes nothing', async () => {
    const dataDir = join(base.path, 'damaged-at-start');
    await cp(pristine, dataDir, { recursive: true });
    const file = join(dataDir, 'data.mdb');
    await damageTurn(file);
    const before = await sha256(file);

    daemon = await DaemonProcess.start(dataDir, {}, ['--workers', '0']);
    await expectDamageReported(dataDir);
    // Still alive and answering after every refusal.
    expect(daemon.child.exitCode).toBeNull();
    await expectDamageReported(dataDir);
    expect(await daemon.stop('SIGTERM')).toEqual({ code: 0, signal: null });
    expect(await sha256(file)).toBe(before);
  });

  it('damaged under it while it runs: status goes from the counts to the damaged turn (exit 3)', async () => {
    const dataDir = join(base.path, 'damaged-while-running');
    await cp(pristine, dataDir, { recursive: true });
    daemon = await DaemonProcess.start(dataDir, {}, ['--workers', '0']);

    const intact = await runCli(['status', '--data-dir', dataDir]);
    expect(intact.code, intact.stderr).toBe(ExitCode.ok);
    expect(intact.stdout).toMatch(/model-1\s+120\s+0\s+0\s+120/);

    await damageTurn(join(dataDir, 'data.mdb'));
    await expectDamageReported(dataDir);
    expect(daemon.child.exitCode).toBeNull();
    expect(await daemon.stop('SIGTERM')).toEqual({ code: 0, signal: null });
  });
});

/** Prompts of each sequence: at 200 ms a reply, no sequence ends before a minute. */
const LONG_PROMPTS = 300;
const SEQUENCE_IDS = ['s1', 's2', 's3', 's4'];
/** The answer of s1's first turn: the resumed job's damaged record. */
const FAR_ANSWER = 'an answer far behind the resume point';

/** A suite whose s1 has `s1Prompts` prompts and the other sequences `LONG_PROMPTS`. */
function backgroundSuite(s1Prompts: number): string {
  const prompts = (n: number) => Array.from({ length: n }, (_, i) => `"q${i + 1}"`).join(', ');
  return [
    'name: background-check',
    'runs: 1',
    'providers:',
    '  sim: { type: simulated, latencyMs: 200 }',
    'models:',
    '  - { id: m, provider: sim, model: sim-m }',
    'sequences:',
    ...SEQUENCE_IDS.map(
      (id) => `  - { id: ${id}, prompts: [${prompts(id === 's1' ? s1Prompts : LONG_PROMPTS)}] }`,
    ),
    '',
  ].join('\n');
}

describe('a daemon resuming a job with a damaged turn', () => {
  let base: Awaited<ReturnType<typeof tempDir>>;
  let daemon: DaemonProcess | undefined;

  beforeAll(async () => {
    base = await tempDir('troupe-resume-damage-');
  });

  afterEach(async () => {
    await daemon?.terminate();
    daemon = undefined;
  });

  afterAll(async () => {
    await base.cleanup();
  });

  /**
   * A running job whose s1 is answered (`s1Prompts` turns, the first damaged on disk) and which
   * resumes at s2; returns the job's id.
   */
  async function damagedRunningJob(dataDir: string, s1Prompts: number): Promise<string> {
    const suitePath = join(base.path, 'background.yaml');
    const store = await openLmdbStore(dataDir);
    const { suite } = await parseSuite(backgroundSuite(s1Prompts), suitePath, () =>
      Promise.reject(new Error('no scripts')),
    );
    const job = await createJob(store, suite, suitePath);
    await store.putTurns(
      Array.from({ length: s1Prompts }, (_, i) =>
        turnRecord({
          job: job.id,
          model: 'm',
          sequence: 's1',
          turn: i + 1,
          prompt: `q${i + 1}`,
          response: i === 0 ? FAR_ANSWER : 'ok',
        }),
      ),
    );
    await store.putModelProgress({
      job: job.id,
      model: 'm',
      resumeAt: { sequence: 's2', firstRun: 1 },
      done: { ok: s1Prompts, failed: 0, skipped: 0, inputTokens: 10, outputTokens: 20 },
    });
    await store.close();
    const file = join(dataDir, 'data.mdb');
    const bytes = await readFile(file);
    const at = bytes.indexOf(Buffer.from(FAR_ANSWER));
    expect(at).toBeGreaterThan(0);
    bytes[at] = (bytes[at] as number) ^ 0x04;
    await writeFile(file, bytes);
    return job.id;
  }

  /** After the job halted: status and jobs name the damaged turn (exit 3), submit is refused, the daemon stops cleanly, and the job stays resumable. */
  async function expectHaltedOnDamage(dataDir: string, jobId: string, damagedTurn: RegExp): Promise<void> {
    for (const args of [['status'], ['status', jobId], ['jobs']]) {
      const result = await runCli([...args, '--data-dir', dataDir]);
      expect(result.code, `${args.join(' ')}: ${result.stderr}`).toBe(ExitCode.internal);
      expect(result.stderr, args.join(' ')).toMatch(damagedTurn);
    }
    // A new job is refused too: nothing more is written to a damaged store.
    const suitePath = join(base.path, 'another.yaml');
    await writeFile(suitePath, backgroundSuite(1));
    const submitted = await runCli(['submit', suitePath, '--data-dir', dataDir]);
    expect(submitted.code, submitted.stderr).toBe(ExitCode.internal);
    expect(submitted.stderr).toMatch(/damaged/);
    expect(daemon?.child.exitCode).toBeNull();
    expect(await daemon?.stop('SIGTERM')).toEqual({ code: 0, signal: null });

    const store = await openLmdbStore(dataDir, { readOnly: true });
    try {
      // One job, still running (halted: resumable once the store is salvaged), far from done.
      expect(store.listJobs().map((job) => [job.id, job.state])).toEqual([[jobId, 'running']]);
      const resumed = SEQUENCE_IDS.slice(1).map((sequence) => store.turnsOf(jobId, 'm', sequence).length);
      expect(resumed.reduce((sum, n) => sum + n, 0)).toBeLessThan(resumed.length * LONG_PROMPTS);
    } finally {
      await store.close();
    }
  }

  for (const workers of ['0', '1']) {
    it(`damaged behind the resume point: the check after the start finds it while the job runs, halts the job at its next turn and refuses every write (--workers ${workers})`, async () => {
      const dataDir = join(base.path, `background-${workers}`);
      const jobId = await damagedRunningJob(dataDir, LONG_PROMPTS);
      const damagedTurn = new RegExp(
        `job ${jobId}, model m, sequence s1, run 1, turn 1 \\(checksum mismatch\\)`,
      );

      daemon = await DaemonProcess.start(dataDir, {}, ['--workers', workers]);
      // The start read only what resuming reads: the job was resumed…
      expect(daemon.logs.find((line) => line.msg === 'daemon started')).toMatchObject({ resumedJobs: 1 });
      // …and the check of its other records, in the background, found the damaged turn…
      const found = await daemon.waitForLog('store damaged: resumed jobs halted, nothing more written');
      expect(String(found.error)).toMatch(damagedTurn);
      // …after which its next turn's write was refused and the job halted.
      const halted = await daemon.waitForLog('job halted');
      expect(halted).toMatchObject({ job: jobId, error: { code: 'troupe:store-write' } });
      expect(JSON.stringify(halted.error)).toMatch(damagedTurn);
      await expectHaltedOnDamage(dataDir, jobId, damagedTurn);
    });
  }

  it('damaged where the resume reads it: the sequence halts the job, and the daemon lives on (--workers 0)', async () => {
    const dataDir = join(base.path, 'resume-read');
    const jobId = await damagedRunningJob(dataDir, 1);
    const damagedTurn = new RegExp(
      `job ${jobId}, model m, sequence s1, run 1, turn 1 \\(checksum mismatch\\)`,
    );

    daemon = await DaemonProcess.start(dataDir, {}, ['--workers', '0']);
    const halted = await daemon.waitForLog('job halted');
    expect(halted).toMatchObject({ job: jobId });
    expect(JSON.stringify(halted.error)).toMatch(damagedTurn);
    await expectHaltedOnDamage(dataDir, jobId, damagedTurn);
  });
});
