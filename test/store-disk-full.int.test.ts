/**
 * A data directory on a 2 MB tmpfs fills up while a job runs: `troupe run` stops cleanly with
 * exit 3 and "no space left on <dir>", in one process and with worker processes (no worker is
 * restarted), and the job, moved to a larger disk, resumes to its end with every turn once.
 * Needs root and tmpfs (CI has both); skipped, saying so, where a mount is impossible.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { cp, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { ExitCode } from '../src/errors.js';
import { runCli } from './helpers/cli.js';
import { tempDir } from './helpers/temp.js';

/** 2 models × 20 sequences × 3 prompts × 10 runs = 1,200 turns of about 2.5 kB each: more than 2 MB. */
const TURNS = 1_200;
const SUITE = `name: disk-full
runs: 10
providers:
  sim: { type: simulated, latencyMs: 0 }
models:
  - { id: alpha, provider: sim, model: sim-alpha }
  - { id: beta, provider: sim, model: sim-beta }
sequences:
${Array.from({ length: 20 }, (_, i) => `  - { id: s${i}, prompts: ["${i} ${'long prompt '.repeat(180)}", "second", "third"] }`).join('\n')}
`;

function canMountTmpfs(): { ok: boolean; why: string } {
  if (process.getuid?.() !== 0) return { ok: false, why: 'not root: mounting a tmpfs needs root' };
  const point = mkdtempSync(join(tmpdir(), 'troupe-mount-probe-'));
  try {
    const probe = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', point], { encoding: 'utf8' });
    if (probe.error) return { ok: false, why: `mount is unavailable (${probe.error.message})` };
    if (probe.status !== 0) return { ok: false, why: `mount -t tmpfs failed (${probe.stderr.trim()})` };
    spawnSync('umount', [point]);
    return { ok: true, why: '' };
  } finally {
    rmSync(point, { recursive: true, force: true });
  }
}

const mountable = canMountTmpfs();
if (!mountable.ok) console.warn(`store-disk-full: skipped, ${mountable.why}`);

describe.skipIf(!mountable.ok)('a full disk', () => {
  let base: Awaited<ReturnType<typeof tempDir>>;
  let suite: string;
  const mounts: string[] = [];

  async function smallDisk(name: string): Promise<string> {
    const point = join(base.path, name);
    await mkdir(point);
    const mounted = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=2m,mode=0700', 'tmpfs', point], {
      encoding: 'utf8',
    });
    if (mounted.status !== 0) throw new Error(`mount failed: ${mounted.stderr}`);
    mounts.push(point);
    return join(point, 'data');
  }

  beforeAll(async () => {
    base = await tempDir('troupe-disk-full-');
    suite = join(base.path, 'suite.yaml');
    await writeFile(suite, SUITE);
  });

  afterAll(async () => {
    for (const point of mounts) spawnSync('umount', ['-l', point]);
    await base.cleanup();
  });

  it.each([0, 2])(
    'with --workers %i: exit 3, "no space left on", no worker restarted; resumable on a larger disk with every turn once',
    async (workers) => {
      const dataDir = await smallDisk(`tmpfs-${workers}`);
      const run = await runCli([
        'run',
        suite,
        '--data-dir',
        dataDir,
        '--workers',
        String(workers),
        '--log-level',
        'info',
      ]);
      expect(run.signal).toBeNull();
      expect(run.code).toBe(ExitCode.internal);
      expect(run.stdout, run.stderr).toContain(`no space left on ${dataDir}`);
      expect(run.stderr).not.toMatch(/restarting worker|Commit failed|internal error/);
      // The store stops short of a full disk (its reserve): LMDB itself never ran out of space.
      expect(run.stderr).not.toMatch(/Write error|No space left on device/);
      const job = /^job (\S+):/m.exec(run.stdout)?.[1];
      expect(job).toBeDefined();

      const larger = join(base.path, `larger-${workers}`);
      await cp(dataDir, larger, { recursive: true });
      const resumed = await runCli([
        'run',
        '--resume',
        job as string,
        '--data-dir',
        larger,
        '--workers',
        String(workers),
      ]);
      expect(resumed.code).toBe(ExitCode.ok);
      const results = await runCli(['results', job as string, '--data-dir', larger]);
      expect(results.code).toBe(ExitCode.ok);
      const rows = results.stdout
        .split('\n')
        .filter((line) => line.length > 0)
        .map(
          (line) =>
            JSON.parse(line) as {
              model: string;
              sequence: string;
              run: number;
              turn: number;
              status: string;
            },
        );
      expect(rows).toHaveLength(TURNS);
      expect(new Set(rows.map((r) => `${r.model}/${r.sequence}/${r.run}/${r.turn}`)).size).toBe(TURNS);
      expect(rows.every((r) => r.status === 'ok')).toBe(true);
    },
    240_000,
  );
});
