/**
 * `troupe status` and `troupe jobs` through a real daemon whose store is damaged: started on a
 * damaged store, or damaged on disk while it runs. The daemon says which job and turn are damaged
 * (exit 3), keeps answering, never writes the damaged file, and stops cleanly.
 */
import { createHash } from 'node:crypto';
import { cp, open, readFile } from 'node:fs/promises';
import { join } from 'node:path';

import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

import { ExitCode } from '../src/errors.js';
import { openLmdbStore } from '../src/store/lmdb-store.js';
import { writeSyntheticJob } from '../src/store/synthetic-job.js';
import { runCli } from './helpers/cli.js';
import { DaemonProcess } from './helpers/daemon.js';
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
